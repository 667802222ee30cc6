#!/usr/bin/env node
// Verifies SD-JWT VC presentations made by Taito's wallet with the OpenWallet Foundation's
// @sd-jwt/sd-jwt-vc, as an employer's verifier built on it would: the issuer's signature, every
// Disclosure, and the Key Binding JWT against the key in cnf.jwk with the expected nonce.
// @sd-jwt does not compare `aud` itself, so this script does (RFC 9901 §7.3 step 5).
// Nothing here is Taito code.
//
//   node wallet_presentation.mjs < jobs.json > results.json   (the batch protocol of batch.mjs)
//   node wallet_presentation.mjs --selfcheck
//
// Operation:
//   verify-presentation {presentation, issuerKey (public JWK), nonce, aud}
//     -> {verified, claims, kb, disclosedPaths, errors}

import {SDJwtVcInstance} from '@sd-jwt/sd-jwt-vc';
import {digest, getVerifier} from '@sd-jwt/crypto-nodejs';
import {decodeSdJwt} from '@sd-jwt/decode';

import {check, cli, runJob} from './batch.mjs';

const ALGORITHMS = {
  ES256: {kty: 'EC', crv: 'P-256', keyAlgorithm: {name: 'ECDSA', namedCurve: 'P-256'},
    signAlgorithm: {name: 'ECDSA', hash: {name: 'SHA-256'}}},
  EdDSA: {kty: 'OKP', crv: 'Ed25519', keyAlgorithm: {name: 'Ed25519'},
    signAlgorithm: {name: 'Ed25519'}}
};

function algorithmOf(jwk) {
  for(const [alg, spec] of Object.entries(ALGORITHMS)) {
    if(jwk && jwk.kty === spec.kty && jwk.crv === spec.crv) {
      return alg;
    }
  }
  throw new Error(`Unsupported JWK kty=${jwk && jwk.kty} crv=${jwk && jwk.crv}`);
}

// A verifier bound to one key that refuses a JWS whose header names another algorithm.
async function verifierFor(jwk) {
  const alg = algorithmOf(jwk);
  const {keyAlgorithm, signAlgorithm} = ALGORITHMS[alg];
  const {kty, crv, x, y} = jwk;
  const verify = await getVerifier(y === undefined ? {kty, crv, x} : {kty, crv, x, y},
    keyAlgorithm, signAlgorithm);
  return async (data, signature) => {
    const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString('utf8'));
    if(header.alg !== alg) {
      throw new Error(`JWS alg ${header.alg} does not match the ${alg} key`);
    }
    return verify(data, signature);
  };
}

// Where each Disclosure lands, as a JSON pointer ("/achievement/name", "/nationalities/1").
async function disclosedPaths(presentation) {
  const {jwt, disclosures} = await decodeSdJwt(presentation, digest);
  const byDigest = new Map();
  for(const d of disclosures) {
    byDigest.set(d._digest || (await d.digest({hasher: digest, alg: 'sha-256'})), d);
  }
  const paths = [];
  const walk = (node, path) => {
    if(Array.isArray(node)) {
      let index = 0;
      for(const item of node) {
        if(item && typeof item === 'object' && '...' in item && Object.keys(item).length === 1) {
          const d = byDigest.get(item['...']);
          if(d) {
            paths.push(`${path}/${index}`);
            walk(d.value, `${path}/${index}`);
            index += 1;
          }
          continue;
        }
        walk(item, `${path}/${index}`);
        index += 1;
      }
    } else if(node && typeof node === 'object') {
      for(const digestValue of node._sd || []) {
        const d = byDigest.get(digestValue);
        if(d) {
          paths.push(`${path}/${d.key}`);
          walk(d.value, `${path}/${d.key}`);
        }
      }
      for(const [key, value] of Object.entries(node)) {
        if(key !== '_sd') {
          walk(value, `${path}/${key}`);
        }
      }
    }
  };
  walk(jwt.payload, '');
  return paths.sort();
}

const OPERATIONS = {
  async 'verify-presentation'({presentation, issuerKey, nonce, aud}) {
    const verifier = await verifierFor(issuerKey);
    const kbVerifier = async (data, signature, payload) => {
      if(!payload || !payload.cnf || !payload.cnf.jwk) {
        throw new Error('The SD-JWT has no cnf.jwk to check the key binding against');
      }
      return (await verifierFor(payload.cnf.jwk))(data, signature);
    };
    try {
      const sdjwt = new SDJwtVcInstance({hasher: digest, hashAlg: 'sha-256', verifier, kbVerifier});
      const result = await sdjwt.verify(presentation, {keyBindingNonce: nonce});
      if(!result.kb || result.kb.payload.aud !== aud) {
        throw new Error(`KB-JWT aud ${result.kb && result.kb.payload.aud} is not ${aud}`);
      }
      return {
        verified: true,
        claims: result.payload,
        kb: {header: result.kb.header, payload: result.kb.payload},
        disclosedPaths: await disclosedPaths(presentation),
        errors: []
      };
    } catch(error) {
      return {verified: false, errors: [{name: error.name || 'Error', message: String(error.message)}]};
    }
  }
};

async function selfcheck() {
  const garbage = await runJob(OPERATIONS, {
    op: 'verify-presentation', presentation: 'not.an.sd-jwt~', nonce: 'n', aud: 'a',
    issuerKey: {kty: 'OKP', crv: 'Ed25519', x: '11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo'}
  });
  check(garbage.ok && !garbage.verified, 'a malformed presentation verified');
  process.stdout.write('wallet_presentation.mjs selfcheck: 1 passed, 0 failed\n');
}

cli(import.meta.url, OPERATIONS, selfcheck);
