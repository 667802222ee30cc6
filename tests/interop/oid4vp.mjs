// An independent OpenID4VP 1.0 holder: the OpenWallet Foundation's oid4vc-ts
// (@openid4vc/openid4vp 0.4.6 `Openid4vpClient`) parses and resolves a Taito verifier's
// openid4vp:// request (signed request object by request_uri, client_id prefix
// decentralized_identifier with a did:key), and submits a direct_post response whose vp_token
// carries an SD-JWT VC presented by @sd-jwt/sd-jwt-vc 0.19.0 with a KB-JWT bound to the
// request's nonce and client_id, disclosing only the claims the DCQL query names - or a Data
// Integrity VP that @digitalbazaar/vc signed (di.mjs) over the request's challenge and domain.
//
// stdin:  one job (see `main` for the ops); stdout: {"ok", ...the op's result}
import { createHash, createPrivateKey, createPublicKey, sign, verify } from 'node:crypto'
import { setGlobalConfig } from '@openid4vc/utils'
import { Openid4vpClient } from '@openid4vc/openid4vp'
import { SDJwtVcInstance } from '@sd-jwt/sd-jwt-vc'
import { digest, generateSalt } from '@sd-jwt/crypto-nodejs'

setGlobalConfig({ allowInsecureUrls: true }) // the test server is http://127.0.0.1

const b64url = (buffer) => Buffer.from(buffer).toString('base64url')
const BASE58 = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base58(text) {
  let value = 0n
  for (const char of text) {
    const digit = BASE58.indexOf(char)
    if (digit < 0) throw new Error('not base58')
    value = value * 58n + BigInt(digit)
  }
  const bytes = []
  while (value > 0n) { bytes.unshift(Number(value % 256n)); value /= 256n }
  for (const char of text) { if (char !== '1') break; bytes.unshift(0) }
  return Buffer.from(bytes)
}

// did:key of a P-256 key: multibase z, multicodec p256-pub (0x1200, varint 0x80 0x24), 33 bytes.
function didKeyPublicKey(didUrl) {
  const multibase = didUrl.split('#')[0].slice('did:key:'.length)
  if (!multibase.startsWith('z')) throw new Error('did:key multibase must be base58btc')
  const raw = base58(multibase.slice(1))
  if (raw[0] !== 0x80 || raw[1] !== 0x24 || raw.length !== 35) throw new Error('not a P-256 did:key')
  const spki = Buffer.concat([Buffer.from('3039301306072a8648ce3d020106082a8648ce3d030107032200', 'hex'), raw.subarray(2)])
  return createPublicKey({ key: spki, format: 'der', type: 'spki' })
}

const callbacks = {
  fetch: globalThis.fetch,
  hash: (data, alg) => createHash(alg.replace('-', '')).update(data).digest(),
  verifyJwt: async (signer, { compact }) => {
    if (signer.method !== 'did' || !signer.didUrl.startsWith('did:key:')) {
      return { verified: false }
    }
    const key = didKeyPublicKey(signer.didUrl)
    const [header, payload, signature] = compact.split('.')
    const ok = verify('sha256', Buffer.from(`${header}.${payload}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(signature, 'base64url'))
    return ok ? { verified: true, signerJwk: key.export({ format: 'jwk' }) } : { verified: false }
  },
  signJwt: async () => { throw new Error('not used') },
  decryptJwe: async () => { throw new Error('not used') },
  encryptJwe: async () => { throw new Error('not used') }
}

async function readJob () {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  return JSON.parse(Buffer.concat(chunks).toString('utf8'))
}

// Parse the openid4vp:// URI, fetch and verify the request object, read the DCQL query.
async function resolve (client, requestUri) {
  const parsed = client.parseOpenid4vpAuthorizationRequest({ authorizationRequest: requestUri })
  const resolved = await client.resolveOpenId4vpAuthorizationRequest({ authorizationRequestPayload: parsed.params })
  return {
    request: resolved.authorizationRequestPayload,
    version: resolved.version,
    client_prefix: resolved.client.prefix,
    query: resolved.dcql.query.credentials[0]
  }
}

async function submit (client, request, vpToken) {
  const response = await client.createOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: { vp_token: vpToken }
  })
  const submitted = await client.submitOpenid4vpAuthorizationResponse({
    authorizationRequestPayload: request,
    authorizationResponsePayload: response.authorizationResponsePayload
  })
  return { status: submitted.response.status, body: await submitted.response.text() }
}

// An SD-JWT VC presentation: exactly the claim paths of the query, a KB-JWT over nonce / client_id.
async function presentSdJwt (credential, holderJwk, request, query) {
  const frame = {}
  for (const claim of query.claims) {
    let target = frame
    claim.path.slice(0, -1).forEach((part) => { target = target[part] = target[part] ?? {} })
    target[claim.path[claim.path.length - 1]] = true
  }
  const holderKey = createPrivateKey({ key: holderJwk, format: 'jwk' })
  const kbSigner = async (data) => b64url(sign('sha256', Buffer.from(data), { key: holderKey, dsaEncoding: 'ieee-p1363' }))
  const sdjwt = new SDJwtVcInstance({ hasher: digest, hashAlg: 'sha-256', saltGenerator: generateSalt, kbSigner, kbSignAlg: 'ES256' })
  return sdjwt.present(credential, frame, {
    kb: { payload: { nonce: request.nonce, aud: request.client_id, iat: Math.floor(Date.now() / 1000) } }
  })
}

// op "sd-jwt": {request_uri, credential, holder_jwk} - resolve, present, submit in one go.
// op "resolve": {request_uri} -> {request, version, client_prefix, query}.
// op "submit": {request, vp_token} -> {status, body} (a presentation made elsewhere, e.g. di.mjs).
async function main () {
  const job = await readJob()
  const client = new Openid4vpClient({ callbacks })
  let result
  if (job.op === 'resolve') {
    result = await resolve(client, job.request_uri)
  } else if (job.op === 'submit') {
    result = await submit(client, job.request, job.vp_token)
  } else {
    const { request, version, client_prefix: prefix, query } = await resolve(client, job.request_uri)
    const presentation = await presentSdJwt(job.credential, job.holder_jwk, request, query)
    const submitted = await submit(client, request, { [query.id]: [presentation] })
    result = { version, client_prefix: prefix, query_id: query.id, ...submitted }
  }
  process.stdout.write(JSON.stringify({ ok: true, ...result }))
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(error?.stack ?? error) }))
})
