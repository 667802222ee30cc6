#!/usr/bin/env node
// Data Integrity (eddsa-rdfc-2022) with Digital Bazaar's stack, as a batch CLI for Taito's
// interop tests. Nothing here is Taito code: it only drives @digitalbazaar/vc.
//
//   node di.mjs < jobs.json > results.json      jobs: {"jobs": [{"op": ...}, ...]}
//   node di.mjs --selfcheck                     Node signs, Node verifies, tampering fails
//
// Operations (each result is {"ok": true, ...} or {"ok": false, "error": {...}}):
//   generate-key         -> {publicKeyMultibase, secretKeyMultibase, did, verificationMethod}
//   issue                {credential, key?, created?}            -> {document, key}
//   verify-credential    {credential, now?, documents?, checkStatus?}
//                        -> {verified, errors, status?}
//   sign-presentation    {presentation, credential?, key?, challenge, domain?, created?}
//                        -> {document, key}   (credential is appended to verifiableCredential)
//   verify-presentation  {presentation, challenge, domain?, now?}
//                        -> {verified, presentationVerified, credentialsVerified, errors}
// `key` is {publicKeyMultibase, secretKeyMultibase} (Multikey, Ed25519); the controller is the
// did:key of the public key. Without `key` a fresh key pair is generated and returned.
// `documents` ({url: document}) adds documents the loader serves for this job only: a DID
// document (did:web, ...) under its DID, which also serves each of its verification methods by
// id (with the DID document's @context, as a DID resolver dereferences a DID URL), and e.g. a
// BitstringStatusListCredential under its URL. `checkStatus: true` hands
// @digitalbazaar/vc-bitstring-status-list's checkStatus to vc.verifyCredential (which refuses a
// credential with credentialStatus without one); `status` is then the summary of its result
// (see `statusSummary`): read each entry's `status` bit, not `verified` (INTEROP.md).
//
// The JSON-LD document loader is static: the contexts listed in the shared MANIFEST.json
// (<repo>/../shared/contexts, or $TAITO_SHARED_DIR/contexts), the DID v1 context from the
// `did-context` package, and did:key documents built by @digitalbazaar/did-method-key.
// Any other URL is an error: this script never touches the network.
// The batch protocol (and {"$result": i, "path": ...} references to earlier results) is
// batch.mjs's.

import {readFileSync} from 'node:fs';
import path from 'node:path';
import {fileURLToPath} from 'node:url';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as didKey from '@digitalbazaar/did-method-key';
import didContext from 'did-context';

import {check, cli, runJob} from './batch.mjs';

const HERE = path.dirname(fileURLToPath(import.meta.url));

export function sharedDir() {
  return process.env.TAITO_SHARED_DIR ||
    path.resolve(HERE, '..', '..', '..', 'shared');
}

function loadContexts() {
  const dir = path.join(sharedDir(), 'contexts');
  const manifest = JSON.parse(readFileSync(path.join(dir, 'MANIFEST.json'), 'utf8'));
  const contexts = new Map();
  for(const entry of manifest.contexts) {
    contexts.set(entry.url, JSON.parse(readFileSync(path.join(dir, entry.file), 'utf8')));
  }
  for(const [url, document] of didContext.contexts) {
    if(!contexts.has(url)) {
      contexts.set(url, document);
    }
  }
  return contexts;
}

const CONTEXTS = loadContexts();

const didKeyDriver = didKey.driver();
didKeyDriver.use({
  multibaseMultikeyHeader: 'z6Mk',
  fromMultibase: Ed25519Multikey.from
});

// Verification methods of a DID document by absolute id, each with the document's @context.
function verificationMethodsOf(did, document) {
  const methods = new Map();
  const context = document['@context'];
  const relations = ['verificationMethod', 'assertionMethod', 'authentication',
    'capabilityInvocation', 'capabilityDelegation', 'keyAgreement'];
  for(const relation of relations) {
    for(const method of [].concat(document[relation] || [])) {
      if(method && typeof method === 'object' && typeof method.id === 'string') {
        const id = method.id.startsWith('#') ? `${did}${method.id}` : method.id;
        methods.set(id, {'@context': context, ...method, id});
      }
    }
  }
  return methods;
}

// A static loader: the shared contexts, did:key, and the job's own `documents` (if any).
export function makeDocumentLoader(documents = {}) {
  const extra = new Map();
  for(const [url, document] of Object.entries(documents || {})) {
    extra.set(url, document);
    if(url.startsWith('did:') && !url.includes('#')) {
      for(const [id, method] of verificationMethodsOf(url, document)) {
        if(!(id in documents)) {
          extra.set(id, method);
        }
      }
    }
  }
  return async function documentLoader(url) {
    if(CONTEXTS.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(CONTEXTS.get(url))};
    }
    if(extra.has(url)) {
      return {contextUrl: null, documentUrl: url, document: structuredClone(extra.get(url))};
    }
    if(url.startsWith('did:key:')) {
      const document = await didKeyDriver.get({url});
      return {contextUrl: null, documentUrl: url, document};
    }
    const error = new Error(`The static document loader has no document for "${url}".`);
    error.name = 'jsonld.LoadDocumentError';
    throw error;
  };
}

const documentLoader = makeDocumentLoader();

async function keyPairFrom(key) {
  const pair = key ?
    await Ed25519Multikey.from({
      publicKeyMultibase: key.publicKeyMultibase,
      secretKeyMultibase: key.secretKeyMultibase
    }) :
    await Ed25519Multikey.generate();
  const did = `did:key:${pair.publicKeyMultibase}`;
  pair.controller = did;
  pair.id = `${did}#${pair.publicKeyMultibase}`;
  return pair;
}

async function describeKey(pair) {
  const exported = await pair.export({publicKey: true, secretKey: true, includeContext: false});
  return {
    publicKeyMultibase: exported.publicKeyMultibase,
    secretKeyMultibase: exported.secretKeyMultibase,
    did: pair.controller,
    verificationMethod: pair.id
  };
}

function signingSuite(pair, created) {
  const suite = new DataIntegrityProof({signer: pair.signer(), cryptosuite: eddsaRdfc2022});
  if(created) {
    suite.date = created;
  }
  return suite;
}

export function verifyingSuite() {
  return new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
}

// Flatten jsonld-signatures' nested errors (VerificationError.errors, cause) into messages.
export function collectErrors(result) {
  const out = [];
  const seen = new Set();
  const visit = error => {
    if(!error || seen.has(error)) {
      return;
    }
    seen.add(error);
    if(Array.isArray(error)) {
      error.forEach(visit);
      return;
    }
    if(Array.isArray(error.errors)) {
      error.errors.forEach(visit);
      if(error.name === 'VerificationError') {
        return;
      }
    }
    if(error.message) {
      out.push({name: error.name || 'Error', message: error.message});
    }
    visit(error.cause);
  };
  const walk = r => {
    if(!r) {
      return;
    }
    visit(r.error);
    for(const item of r.results || []) {
      visit(item.error);
      if(item.purposeResult && !item.purposeResult.valid) {
        visit(item.purposeResult.error);
      }
    }
  };
  walk(result);
  walk(result.presentationResult);
  for(const credentialResult of result.credentialResults || []) {
    walk(credentialResult);
  }
  // keep first occurrence of each message
  const unique = new Map();
  for(const e of out) {
    unique.set(`${e.name}: ${e.message}`, e);
  }
  return [...unique.values()];
}

// Loaded on first use, so the other operations work without the package installed.
export async function bitstringStatusList() {
  return import('@digitalbazaar/vc-bitstring-status-list');
}

// checkStatus's result -> {verified, entries: [{statusPurpose, statusListIndex,
// statusListCredential, verified, status}], errors}. `status` is the bit the library read.
export function statusSummary(result) {
  if(!result) {
    return {verified: false, entries: [], errors: [{name: 'Error', message: 'no status result'}]};
  }
  const errors = [];
  for(let error = result.error; error; error = error.cause) {
    errors.push({name: error.name || 'Error', message: String(error.message)});
  }
  return {
    verified: result.verified === true,
    entries: (result.results || []).map(r => ({
      statusPurpose: r.credentialStatus && r.credentialStatus.statusPurpose,
      statusListIndex: r.credentialStatus && r.credentialStatus.statusListIndex,
      statusListCredential: r.credentialStatus && r.credentialStatus.statusListCredential,
      verified: r.verified === true,
      status: r.status
    })),
    errors
  };
}

export const OPERATIONS = {
  async 'generate-key'() {
    return describeKey(await keyPairFrom(null));
  },

  async issue({credential, key, created}) {
    const pair = await keyPairFrom(key);
    const document = await vc.issue({
      credential: structuredClone(credential),
      suite: signingSuite(pair, created),
      documentLoader
    });
    return {document, key: await describeKey(pair)};
  },

  async 'verify-credential'({credential, now, documents, checkStatus}) {
    const result = await vc.verifyCredential({
      credential,
      suite: verifyingSuite(),
      documentLoader: documents ? makeDocumentLoader(documents) : documentLoader,
      now: now ? new Date(now) : undefined,
      checkStatus: checkStatus ? (await bitstringStatusList()).checkStatus : undefined
    });
    const out = {verified: result.verified === true, errors: collectErrors(result)};
    if(checkStatus) {
      out.status = statusSummary(result.statusResult);
    }
    return out;
  },

  async 'sign-presentation'({presentation, credential, key, challenge, domain, created}) {
    const pair = await keyPairFrom(key);
    const unsigned = structuredClone(presentation);
    if(credential) {
      unsigned.verifiableCredential = [...(unsigned.verifiableCredential || []), credential];
    }
    const document = await vc.signPresentation({
      presentation: unsigned,
      suite: signingSuite(pair, created),
      challenge,
      domain,
      documentLoader
    });
    return {document, key: await describeKey(pair)};
  },

  async 'verify-presentation'({presentation, challenge, domain, now}) {
    const result = await vc.verify({
      presentation,
      suite: verifyingSuite(),
      challenge,
      domain,
      documentLoader,
      now: now ? new Date(now) : undefined
    });
    const credentialResults = result.credentialResults || [];
    return {
      verified: result.verified === true,
      presentationVerified: result.presentationResult ?
        result.presentationResult.verified === true : false,
      credentialsVerified: credentialResults.map(r => r.verified === true),
      errors: collectErrors(result)
    };
  }
};

const run = job => runJob(OPERATIONS, job);

async function selfcheck() {
  const issuerKey = (await run({op: 'generate-key'}));
  const credential = {
    '@context': [
      'https://www.w3.org/ns/credentials/v2',
      'https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json'
    ],
    id: 'urn:uuid:3f0a0e5c-2f5b-4b7e-9d55-1b9e5d4b2a11',
    type: ['VerifiableCredential', 'OpenBadgeCredential'],
    issuer: {id: issuerKey.did, type: ['Profile'], name: 'Node selfcheck issuer'},
    validFrom: '2025-01-01T00:00:00Z',
    name: 'Selfcheck badge',
    credentialSubject: {
      type: ['AchievementSubject'],
      achievement: {
        id: 'urn:uuid:5a1c6c1e-8f6e-4a1e-bb65-0d1f7d6f9a22',
        type: ['Achievement'],
        name: 'Selfcheck',
        description: 'Node signs, Node verifies.',
        criteria: {narrative: 'Run the script.'}
      }
    }
  };
  const issued = await run({op: 'issue', credential, key: issuerKey});
  check(issued.ok, `issue: ${JSON.stringify(issued.error)}`);
  const good = await run({op: 'verify-credential', credential: issued.document});
  check(good.ok && good.verified, `verify: ${JSON.stringify(good)}`);
  const tampered = structuredClone(issued.document);
  tampered.credentialSubject.achievement.name = 'Tampered';
  const bad = await run({op: 'verify-credential', credential: tampered});
  check(bad.ok && !bad.verified, 'a tampered credential verified');

  const presentation = {
    '@context': ['https://www.w3.org/ns/credentials/v2'],
    type: ['VerifiablePresentation'],
    holder: issuerKey.did,
    verifiableCredential: [issued.document]
  };
  const signed = await run({
    op: 'sign-presentation', presentation, key: issuerKey,
    challenge: 'c-123', domain: 'https://verifier.example'
  });
  check(signed.ok, `sign-presentation: ${JSON.stringify(signed.error)}`);
  const vpGood = await run({
    op: 'verify-presentation', presentation: signed.document,
    challenge: 'c-123', domain: 'https://verifier.example'
  });
  check(vpGood.ok && vpGood.verified, `verify-presentation: ${JSON.stringify(vpGood)}`);
  const vpBad = await run({
    op: 'verify-presentation', presentation: signed.document,
    challenge: 'c-other', domain: 'https://verifier.example'
  });
  check(vpBad.ok && !vpBad.verified, 'a presentation verified with the wrong challenge');
  process.stdout.write('di.mjs selfcheck: 5 passed, 0 failed\n');
}

cli(import.meta.url, OPERATIONS, selfcheck);
