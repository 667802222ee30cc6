#!/usr/bin/env node
// SD-JWT VC with the OpenWallet Foundation's @sd-jwt packages, as a batch CLI for Taito's interop
// tests. Nothing here is Taito code: it only drives @sd-jwt/sd-jwt-vc.
//
//   node sdjwt.mjs < jobs.json > results.json    jobs: {"jobs": [{"op": ...}, ...]}
//   node sdjwt.mjs --selfcheck                   Node issues, presents and verifies
//
// Keys are JWKs: EC P-256 (ES256) or OKP Ed25519 (EdDSA); the algorithm follows the key.
// Operations (each result is {"ok": true, ...} or {"ok": false, "error": {...}}):
//   generate-key  {alg: "ES256" | "EdDSA"}                        -> {privateJwk, publicJwk}
//   issue         {claims, issuerKey, holderKey?, disclosureFrame? | disclosable?, header?}
//                 -> {sdJwt}           holderKey (public JWK) becomes cnf.jwk
//   present       {sdJwt, holderKey, nonce, aud, iat, presentationFrame? | reveal?}
//                 -> {presentation}
//   verify        {presentation, issuerKey, nonce?, requireKeyBinding = true, now?}
//                 -> {verified, claims, header, kb, disclosures, errors}
//   decode        {sdJwt} -> {header, payload, disclosures, kbJwt}
// `disclosable` / `reveal` are lists of JSON pointers (RFC 6901) into the claims, the same shape
// Taito's keys/sd_jwt.py takes; they are turned into @sd-jwt frames here.
// The batch protocol (and {"$result": i, "path": ...} references to earlier results) is
// batch.mjs's.

import {SDJwtVcInstance} from '@sd-jwt/sd-jwt-vc';
import {digest, generateSalt, getSigner, getVerifier} from '@sd-jwt/crypto-nodejs';
import {decodeSdJwt} from '@sd-jwt/decode';

import {check, cli, runJob} from './batch.mjs';

const ALGORITHMS = {
  ES256: {
    kty: 'EC', crv: 'P-256',
    keyAlgorithm: {name: 'ECDSA', namedCurve: 'P-256'},
    signAlgorithm: {name: 'ECDSA', hash: {name: 'SHA-256'}}
  },
  EdDSA: {
    kty: 'OKP', crv: 'Ed25519',
    keyAlgorithm: {name: 'Ed25519'},
    signAlgorithm: {name: 'Ed25519'}
  }
};

function algorithmOf(jwk) {
  for(const [alg, spec] of Object.entries(ALGORITHMS)) {
    if(jwk && jwk.kty === spec.kty && jwk.crv === spec.crv) {
      return alg;
    }
  }
  throw new Error(`Unsupported JWK kty=${jwk && jwk.kty} crv=${jwk && jwk.crv}`);
}

function publicPart(jwk) {
  const {kty, crv, x, y} = jwk;
  return y === undefined ? {kty, crv, x} : {kty, crv, x, y};
}

async function signerFor(privateJwk) {
  const alg = algorithmOf(privateJwk);
  const {keyAlgorithm, signAlgorithm} = ALGORITHMS[alg];
  const {kty, crv, x, y, d} = privateJwk;
  const jwk = y === undefined ? {kty, crv, x, d} : {kty, crv, x, y, d};
  return {alg, sign: await getSigner(jwk, keyAlgorithm, signAlgorithm)};
}

// A verifier bound to one key that also refuses a JWS whose header names another algorithm
// (@sd-jwt passes us the signing input; it does not compare `alg` with the key itself).
async function verifierFor(publicJwk) {
  const alg = algorithmOf(publicJwk);
  const {keyAlgorithm, signAlgorithm} = ALGORITHMS[alg];
  const verify = await getVerifier(publicPart(publicJwk), keyAlgorithm, signAlgorithm);
  return async (data, signature) => {
    const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString('utf8'));
    if(header.alg !== alg) {
      throw new Error(`JWS alg ${header.alg} does not match the ${alg} key`);
    }
    return verify(data, signature);
  };
}

function parsePointer(pointer) {
  if(pointer === '' || !pointer.startsWith('/')) {
    throw new Error(`Not a JSON pointer to a member: ${JSON.stringify(pointer)}`);
  }
  return pointer.slice(1).split('/').map(t => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

// ["/address/locality", "/nationalities/1"] -> {address: {_sd: ["locality"]},
//                                              nationalities: {_sd: [1]}}
function disclosureFrameFrom(claims, pointers) {
  const frame = {};
  for(const pointer of pointers) {
    const tokens = parsePointer(pointer);
    let node = claims;
    let target = frame;
    for(const token of tokens.slice(0, -1)) {
      node = node[Array.isArray(node) ? Number(token) : token];
      if(node === undefined) {
        throw new Error(`No claim at ${pointer}`);
      }
      target = target[token] = target[token] || {};
    }
    const last = tokens[tokens.length - 1];
    const key = Array.isArray(node) ? Number(last) : last;
    if(node[key] === undefined) {
      throw new Error(`No claim at ${pointer}`);
    }
    (target._sd = target._sd || []).push(key);
  }
  return frame;
}

// ["/address/locality"] -> {address: {locality: true}}
function presentationFrameFrom(pointers) {
  const frame = {};
  for(const pointer of pointers) {
    const tokens = parsePointer(pointer);
    let target = frame;
    for(const token of tokens.slice(0, -1)) {
      if(typeof target[token] !== 'object') {
        target[token] = {};
      }
      target = target[token];
    }
    const last = tokens[tokens.length - 1];
    if(typeof target[last] !== 'object') {
      target[last] = true;
    }
  }
  return frame;
}

function instance(extra = {}) {
  return new SDJwtVcInstance({
    hasher: digest,
    hashAlg: 'sha-256',
    saltGenerator: generateSalt,
    ...extra
  });
}

async function decoded(sdJwt) {
  const {jwt, disclosures, kbJwt} = await decodeSdJwt(sdJwt, digest);
  return {
    header: jwt.header,
    payload: jwt.payload,
    disclosures: disclosures.map(d => ({salt: d.salt, key: d.key ?? null, value: d.value})),
    kbJwt: kbJwt ? {header: kbJwt.header, payload: kbJwt.payload} : null
  };
}

const OPERATIONS = {
  async 'generate-key'({alg = 'ES256'}) {
    const spec = ALGORITHMS[alg];
    if(!spec) {
      throw new Error(`Unknown alg ${alg}`);
    }
    const {publicKey, privateKey} = await globalThis.crypto.subtle.generateKey(
      spec.keyAlgorithm, true, ['sign', 'verify']);
    const subtle = globalThis.crypto.subtle;
    const privateJwk = await subtle.exportKey('jwk', privateKey);
    const publicJwk = await subtle.exportKey('jwk', publicKey);
    return {privateJwk: {...publicPart(privateJwk), d: privateJwk.d}, publicJwk: publicPart(publicJwk)};
  },

  async issue({claims, issuerKey, holderKey, disclosureFrame, disclosable, header}) {
    const {alg, sign} = await signerFor(issuerKey);
    const frame = disclosureFrame || (disclosable ? disclosureFrameFrom(claims, disclosable) : undefined);
    const payload = {...claims};
    if(holderKey) {
      payload.cnf = {jwk: publicPart(holderKey)};
    }
    const sdJwt = await instance({signer: sign, signAlg: alg})
      .issue(payload, frame, header ? {header} : undefined);
    return {sdJwt};
  },

  async present({sdJwt, holderKey, nonce, aud, iat, presentationFrame, reveal}) {
    const frame = presentationFrame || presentationFrameFrom(reveal || []);
    const options = {};
    const extra = {};
    if(holderKey) {
      const {alg, sign} = await signerFor(holderKey);
      extra.kbSigner = sign;
      extra.kbSignAlg = alg;
      options.kb = {payload: {nonce, aud, iat: iat ?? Math.floor(Date.now() / 1000)}};
    }
    const presentation = await instance(extra).present(sdJwt, frame, options);
    return {presentation};
  },

  async verify({presentation, issuerKey, nonce, requireKeyBinding = true, now}) {
    const verifier = await verifierFor(issuerKey);
    // The holder key is the one the issuer put in cnf.jwk, nothing else.
    const kbVerifier = async (data, signature, payload) => {
      if(!payload || !payload.cnf || !payload.cnf.jwk) {
        throw new Error('The SD-JWT has no cnf.jwk to check the key binding against');
      }
      return (await verifierFor(payload.cnf.jwk))(data, signature);
    };
    if(requireKeyBinding && !nonce) {
      throw new Error('requireKeyBinding needs a nonce');
    }
    const options = {};
    if(requireKeyBinding) {
      options.keyBindingNonce = nonce;
    }
    if(now) {
      options.currentDate = Math.floor(new Date(now).getTime() / 1000);
    }
    try {
      const result = await instance({verifier, kbVerifier}).verify(presentation, options);
      const {disclosures} = await decoded(presentation);
      return {
        verified: true,
        claims: result.payload,
        header: result.header,
        kb: result.kb ? {header: result.kb.header, payload: result.kb.payload} : null,
        disclosures,
        errors: []
      };
    } catch(error) {
      return {verified: false, errors: [{name: error.name || 'Error', message: String(error.message)}]};
    }
  },

  async decode({sdJwt}) {
    return decoded(sdJwt);
  }
};

const run = job => runJob(OPERATIONS, job);

async function selfcheck() {
  let passed = 0;
  for(const [issuerAlg, holderAlg] of [['ES256', 'ES256'], ['EdDSA', 'EdDSA'], ['ES256', 'EdDSA']]) {
    const issuer = await run({op: 'generate-key', alg: issuerAlg});
    const holder = await run({op: 'generate-key', alg: holderAlg});
    const claims = {
      iss: 'https://issuer.example', iat: 1735689600, vct: 'https://credentials.example/badge',
      given_name: 'Ada', family_name: 'Lovelace',
      address: {locality: 'London', country: 'GB'}, nationalities: ['GB', 'FR']
    };
    const issued = await run({
      op: 'issue', claims, issuerKey: issuer.privateJwk, holderKey: holder.publicJwk,
      disclosable: ['/given_name', '/family_name', '/address/locality', '/nationalities/1']
    });
    check(issued.ok, `issue: ${JSON.stringify(issued.error)}`);
    const presented = await run({
      op: 'present', sdJwt: issued.sdJwt, holderKey: holder.privateJwk,
      reveal: ['/given_name', '/address/locality'],
      nonce: 'n-1', aud: 'https://verifier.example', iat: 1735689700
    });
    check(presented.ok, `present: ${JSON.stringify(presented.error)}`);
    const good = await run({
      op: 'verify', presentation: presented.presentation, issuerKey: issuer.publicJwk,
      nonce: 'n-1', now: '2025-01-01T00:05:00Z'
    });
    check(good.ok && good.verified, `verify: ${JSON.stringify(good)}`);
    check(good.claims.given_name === 'Ada' && good.claims.family_name === undefined,
      'wrong claims disclosed');
    check(good.claims.address.locality === 'London', 'nested claim missing');
    check(JSON.stringify(good.claims.nationalities) === '["GB"]', 'undisclosed array element shown');
    const badNonce = await run({
      op: 'verify', presentation: presented.presentation, issuerKey: issuer.publicJwk,
      nonce: 'n-2', now: '2025-01-01T00:05:00Z'
    });
    check(badNonce.ok && !badNonce.verified, 'a wrong nonce verified');
    passed += 2;
  }
  process.stdout.write(`sdjwt.mjs selfcheck: ${passed} passed, 0 failed\n`);
}

cli(import.meta.url, OPERATIONS, selfcheck);
