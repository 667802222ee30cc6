#!/usr/bin/env node
// Credential status with independent libraries, as a batch CLI for Taito's interop tests.
// Nothing here is Taito code: it only drives @digitalbazaar/vc-bitstring-status-list and
// @sd-jwt/sd-jwt-vc.
//
//   node status.mjs < jobs.json > results.json   jobs: {"jobs": [{"op": ...}, ...]}
//   node status.mjs --selfcheck                  Node builds, signs and checks a status list
//
// Operations (each result is {"ok": true, ...} or {"ok": false, "error": {...}}):
//   check-status     {credential, documents, verifyStatusListCredential = true,
//                     verifyMatchingIssuers = true}
//                    -> {verified, entries: [{statusPurpose, statusListIndex,
//                        statusListCredential, verified, status}], errors}
//       @digitalbazaar/vc-bitstring-status-list's checkStatus() on a W3C credential. The
//       status list credentials (and the DID document of their issuer) come from `documents`
//       ({url: document}, served by di.mjs's static loader); the list's Data Integrity proof is
//       checked with eddsa-rdfc-2022 unless verifyStatusListCredential is false.
//       `status` is the bit read at statusListIndex (true = set). checkStatus() 2.0.1 answers
//       `verified: true` for a set bit too (INTEROP.md): read `status`, not `verified`.
//   verify-sd-jwt-vc {presentation, issuerKey, nonce?, requireKeyBinding = true, now?,
//                     statusLists = {}}
//                    -> {verified, claims, kb, status, errors}
//       @sd-jwt/sd-jwt-vc's verify(), which also fetches and verifies the Token Status List
//       named by the `status.status_list` claim: here the list JWT comes from `statusLists`
//       ({uri: jwt}) instead of the network, is verified with the issuer key, and `status` is
//       the value read at `idx` (verification fails unless it is 0, the library's rule).
// The batch protocol (and {"$result": i, "path": ...} references to earlier results) is
// batch.mjs's.

import {SDJwtVcInstance} from '@sd-jwt/sd-jwt-vc';
import {digest, getVerifier} from '@sd-jwt/crypto-nodejs';

import {check, cli, runJob} from './batch.mjs';
import {bitstringStatusList, makeDocumentLoader, statusSummary, verifyingSuite} from './di.mjs';

const JWS_ALGORITHMS = [
  {alg: 'ES256', kty: 'EC', crv: 'P-256',
    key: {name: 'ECDSA', namedCurve: 'P-256'}, sign: {name: 'ECDSA', hash: {name: 'SHA-256'}}},
  {alg: 'EdDSA', kty: 'OKP', crv: 'Ed25519', key: {name: 'Ed25519'}, sign: {name: 'Ed25519'}}
];

// A JWS verifier bound to one public JWK that refuses a header naming another algorithm.
async function jwsVerifier(jwk) {
  const spec = JWS_ALGORITHMS.find(a => jwk && a.kty === jwk.kty && a.crv === jwk.crv);
  if(!spec) {
    throw new Error(`Unsupported JWK kty=${jwk && jwk.kty} crv=${jwk && jwk.crv}`);
  }
  const {kty, crv, x, y} = jwk;
  const verify = await getVerifier(
    y === undefined ? {kty, crv, x} : {kty, crv, x, y}, spec.key, spec.sign);
  return async (data, signature) => {
    const header = JSON.parse(Buffer.from(data.split('.')[0], 'base64url').toString('utf8'));
    if(header.alg !== spec.alg) {
      throw new Error(`JWS alg ${header.alg} does not match the ${spec.alg} key`);
    }
    return verify(data, signature);
  };
}

const OPERATIONS = {
  async 'check-status'({
    credential, documents = {}, verifyStatusListCredential = true, verifyMatchingIssuers = true
  }) {
    const {checkStatus} = await bitstringStatusList();
    const result = await checkStatus({
      credential,
      documentLoader: makeDocumentLoader(documents),
      suite: verifyingSuite(),
      verifyBitstringStatusListCredential: verifyStatusListCredential,
      verifyMatchingIssuers
    });
    return statusSummary(result);
  },

  async 'verify-sd-jwt-vc'({
    presentation, issuerKey, nonce, requireKeyBinding = true, now, statusLists = {}
  }) {
    const status = {};
    const kbVerifier = async (data, signature, payload) => {
      if(!payload || !payload.cnf || !payload.cnf.jwk) {
        throw new Error('The SD-JWT has no cnf.jwk to check the key binding against');
      }
      return (await jwsVerifier(payload.cnf.jwk))(data, signature);
    };
    const sdJwtVc = new SDJwtVcInstance({
      hasher: digest,
      hashAlg: 'sha-256',
      verifier: await jwsVerifier(issuerKey),
      kbVerifier,
      statusListFetcher: async uri => {
        if(!(uri in statusLists)) {
          throw new Error(`No status list token given for "${uri}" (this script is offline)`);
        }
        return statusLists[uri];
      },
      statusValidator: async value => {
        status.value = value;
        if(value !== 0) {
          throw new Error(`Status is not valid: ${value}`);
        }
      }
    });
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
      const result = await sdJwtVc.verify(presentation, options);
      return {
        verified: true,
        claims: result.payload,
        kb: result.kb ? {header: result.kb.header, payload: result.kb.payload} : null,
        status: status.value ?? null,
        errors: []
      };
    } catch(error) {
      return {
        verified: false,
        status: status.value ?? null,
        errors: [{name: error.name || 'Error', message: String(error.message)}]
      };
    }
  }
};

const run = job => runJob(OPERATIONS, job);

// Node-only: @digitalbazaar/vc-bitstring-status-list builds a list, di.mjs signs it, and
// checkStatus reads a set bit, a clear bit, and refuses a list whose bits were changed.
async function selfcheck() {
  const lib = await bitstringStatusList();
  const {runBatch} = await import('./batch.mjs');
  const di = await import('./di.mjs');
  const diOperations = di.OPERATIONS;
  const url = 'https://status.example/lists/1';
  const list = await lib.createList({length: 131072});
  list.setStatus(42, true);
  const [key] = await runBatch(diOperations, [{op: 'generate-key'}]);
  const unsigned = await lib.createCredential({id: url, list, statusPurpose: 'revocation'});
  unsigned.issuer = key.did;
  const [signed] = await runBatch(diOperations, [{op: 'issue', credential: unsigned, key}]);
  check(signed.ok, `issue status list: ${JSON.stringify(signed.error)}`);
  const entry = index => ({
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiableCredential'],
    issuer: key.did,
    credentialSubject: {id: 'did:example:holder'},
    credentialStatus: {
      id: `${url}#${index}`, type: 'BitstringStatusListEntry', statusPurpose: 'revocation',
      statusListIndex: String(index), statusListCredential: url
    }
  });
  const documents = {[url]: signed.document};
  const set = await run({op: 'check-status', credential: entry(42), documents});
  check(set.ok && set.entries[0].status === true, `bit 42: ${JSON.stringify(set)}`);
  const clear = await run({op: 'check-status', credential: entry(43), documents});
  check(clear.ok && clear.entries[0].status === false, `bit 43: ${JSON.stringify(clear)}`);
  const tampered = structuredClone(signed.document);
  tampered.credentialSubject.encodedList = await (await lib.createList({length: 131072})).encode();
  const bad = await run({op: 'check-status', credential: entry(42), documents: {[url]: tampered}});
  check(bad.ok && !bad.verified && bad.entries.length === 0 &&
    bad.errors.some(e => e.message.includes('not verified')),
  `a re-encoded list: ${JSON.stringify(bad)}`);
  process.stdout.write('status.mjs selfcheck: 3 passed, 0 failed\n');
}

cli(import.meta.url, OPERATIONS, selfcheck);
