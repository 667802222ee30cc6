#!/usr/bin/env node
// The JavaScript comparators of `make bench`, timed on the inputs Taito is timed on.
// Nothing here is Taito code: it only drives @digitalbazaar/vc and @sd-jwt/sd-jwt-vc.
//
//   node bench.mjs INPUT_DIR RUNS SECONDS_PER_RUN > results.json
//
// INPUT_DIR (written by `python -m bench`) holds inputs.json:
//   contexts            {url: context document}   served by a static loader (no network)
//   credentials         {name: unsigned credential}        signed here with a fresh Ed25519 key
//   signed              {name: credential signed by Taito} verified here (did:key issuers)
//   presentation        {document, challenge}      a VP of Taito-signed credentials
//   sdJwt               {claims, disclosable, issuerPrivateJwk, issuerPublicJwk,
//                        holderPublicJwk, presentation, nonce, now}
// Each operation is warmed up, then timed in RUNS runs of SECONDS_PER_RUN like bench/__main__.py:
// the result is {operation: {rate, p50_ms, p95_ms}}. Every verification is checked to succeed
// before it is timed, so a failing comparator is reported, not timed.

import {readFileSync} from 'node:fs';
import path from 'node:path';
import {performance} from 'node:perf_hooks';

import * as vc from '@digitalbazaar/vc';
import {DataIntegrityProof} from '@digitalbazaar/data-integrity';
import {cryptosuite as eddsaRdfc2022} from '@digitalbazaar/eddsa-rdfc-2022-cryptosuite';
import * as Ed25519Multikey from '@digitalbazaar/ed25519-multikey';
import * as didKey from '@digitalbazaar/did-method-key';
import didContext from 'did-context';
import {SDJwtVcInstance} from '@sd-jwt/sd-jwt-vc';
import {digest, generateSalt, getSigner, getVerifier} from '@sd-jwt/crypto-nodejs';

const [inputDir, runsArg, secondsArg] = process.argv.slice(2);
const RUNS = Number(runsArg || '20');
const SECONDS = Number(secondsArg || '0.1');
const inputs = JSON.parse(readFileSync(path.join(inputDir, 'inputs.json'), 'utf8'));

const contexts = new Map(Object.entries(inputs.contexts));
for(const [url, document] of didContext.contexts) {
  if(!contexts.has(url)) {
    contexts.set(url, document);
  }
}
const didKeyDriver = didKey.driver();
didKeyDriver.use({multibaseMultikeyHeader: 'z6Mk', fromMultibase: Ed25519Multikey.from});

async function documentLoader(url) {
  if(contexts.has(url)) {
    return {contextUrl: null, documentUrl: url, document: structuredClone(contexts.get(url))};
  }
  if(url.startsWith('did:key:')) {
    return {contextUrl: null, documentUrl: url, document: await didKeyDriver.get({url})};
  }
  throw new Error(`no document for ${url}`);
}

async function measure(operation) {
  for(let i = 0; i < 3; i++) {
    await operation();
  }
  const latencies = [];
  const rates = [];
  for(let run = 0; run < RUNS; run++) {
    const started = performance.now();
    let count = 0;
    let after = started;
    for(;;) {
      const before = performance.now();
      await operation();
      after = performance.now();
      latencies.push(after - before);
      count++;
      if(after - started >= SECONDS * 1000) {
        break;
      }
    }
    rates.push(count / ((after - started) / 1000));
  }
  latencies.sort((a, b) => a - b);
  rates.sort((a, b) => a - b);
  return {
    rate: rates[2],
    p50_ms: latencies[Math.floor(latencies.length / 2)],
    p95_ms: latencies[Math.floor(latencies.length * 0.95)]
  };
}

function must(condition, message) {
  if(!condition) {
    throw new Error(message);
  }
}

const results = {};

// --- @digitalbazaar/vc + eddsa-rdfc-2022 -----------------------------------------------------
const pair = await Ed25519Multikey.generate();
pair.controller = `did:key:${pair.publicKeyMultibase}`;
pair.id = `${pair.controller}#${pair.publicKeyMultibase}`;
const signingSuite = () => new DataIntegrityProof({signer: pair.signer(), cryptosuite: eddsaRdfc2022});
const verifyingSuite = () => new DataIntegrityProof({cryptosuite: eddsaRdfc2022});
const NOW = new Date(inputs.now);
// Taito's rows verify the proofs, not the status list (timed on its own): @digitalbazaar/vc
// refuses a credential with credentialStatus unless given a checkStatus, so it gets one that
// reports the credential active without fetching anything.
const checkStatus = async () => ({verified: true});
const describe = error => (error && (error.message || String(error))) || 'no error given';

for(const [name, credential] of Object.entries(inputs.credentials)) {
  const unsigned = {...credential, issuer: {...credential.issuer, id: pair.controller}};
  results[`di-sign ${name}`] = await measure(() => vc.issue({
    credential: structuredClone(unsigned), suite: signingSuite(), documentLoader
  }));
}
for(const [name, credential] of Object.entries(inputs.signed)) {
  const verify = () => vc.verifyCredential({
    credential, suite: verifyingSuite(), documentLoader, now: NOW, checkStatus
  });
  const check = await verify();
  must(check.verified, `@digitalbazaar/vc does not verify ${name}: ${describe(check.error)}`);
  results[`di-verify ${name}`] = await measure(verify);
}
{
  const {document, challenge} = inputs.presentation;
  const verifyVp = () => vc.verify({
    presentation: document, suite: verifyingSuite(), challenge, documentLoader, now: NOW,
    checkStatus
  });
  const check = await verifyVp();
  must(check.verified, `@digitalbazaar/vc does not verify the VP: ${describe(check.error)}`);
  results['di-verify vp5'] = await measure(verifyVp);
}

// --- @sd-jwt/sd-jwt-vc ------------------------------------------------------------------------
{
  const sd = inputs.sdJwt;
  const es256 = {name: 'ECDSA', namedCurve: 'P-256'};
  const sha = {name: 'ECDSA', hash: {name: 'SHA-256'}};
  const signer = await getSigner(sd.issuerPrivateJwk, es256, sha);
  const verifier = await getVerifier(sd.issuerPublicJwk, es256, sha);
  const kbVerifier = await getVerifier(sd.holderPublicJwk, es256, sha);
  const frame = {_sd: sd.disclosable.map(pointer => pointer.slice(1))};
  const issuer = new SDJwtVcInstance({
    hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, signer, signAlg: 'ES256'
  });
  const payload = {...sd.claims, cnf: {jwk: sd.holderPublicJwk}};
  results['sd-jwt-issue'] = await measure(() => issuer.issue(payload, frame));
  const checker = new SDJwtVcInstance({
    hasher: digest, hashAlg: 'sha-256', verifier, kbVerifier
  });
  const options = {keyBindingNonce: sd.nonce, currentDate: sd.now};
  const check = await checker.verify(sd.presentation, options);
  must(check.kb, '@sd-jwt/sd-jwt-vc did not check the key binding');
  results['sd-jwt-verify'] = await measure(() => checker.verify(sd.presentation, options));
}

process.stdout.write(JSON.stringify(results));
