// An independent OpenID4VCI 1.0 wallet: the OpenWallet Foundation's oid4vc-ts
// (@openid4vc/openid4vci 0.4.6 `Openid4vciClient`, @openid4vc/oauth2 0.4.6) obtains credentials
// from a running Taito issuer through the pre-authorized code flow with a tx_code.
//
// stdin:  {"offer_uri", "tx_code", "configuration_ids": [...], "dpop": bool}
// stdout: {"ok", "version", "credentials": {id: [credential, ...]}, "holder_jwk", "notified"}
import { createHash, generateKeyPairSync, randomBytes, sign } from 'node:crypto'
import { setGlobalConfig } from '@openid4vc/utils'
import { Openid4vciClient } from '@openid4vc/openid4vci'
import { clientAuthenticationAnonymous } from '@openid4vc/oauth2'

setGlobalConfig({ allowInsecureUrls: true }) // the test server is http://127.0.0.1

const b64url = (buffer) => Buffer.from(buffer).toString('base64url')

function p256Key () {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
  const jwk = publicKey.export({ format: 'jwk' })
  return { privateKey, publicJwk: { kty: jwk.kty, crv: jwk.crv, x: jwk.x, y: jwk.y } }
}

function callbacks (keys) {
  return {
    fetch: globalThis.fetch,
    hash: (data, alg) => {
      if (alg !== 'sha-256') throw new Error(`unexpected hash ${alg}`)
      return createHash('sha256').update(data).digest()
    },
    generateRandom: (length) => randomBytes(length),
    clientAuthentication: clientAuthenticationAnonymous(),
    signJwt: async (signer, { header, payload }) => {
      if (signer.method !== 'jwk') throw new Error(`unexpected signer ${signer.method}`)
      const key = keys.find((k) => k.publicJwk.x === signer.publicJwk.x)
      const input = `${b64url(JSON.stringify(header))}.${b64url(JSON.stringify(payload))}`
      const signature = sign('sha256', Buffer.from(input), { key: key.privateKey, dsaEncoding: 'ieee-p1363' })
      return { jwt: `${input}.${b64url(signature)}`, signerJwk: signer.publicJwk }
    }
  }
}

async function main () {
  const chunks = []
  for await (const chunk of process.stdin) chunks.push(chunk)
  const job = JSON.parse(Buffer.concat(chunks).toString('utf8'))
  const holder = p256Key()
  const dpopKey = p256Key()
  const client = new Openid4vciClient({ callbacks: callbacks([holder, dpopKey]) })

  const credentialOffer = await client.resolveCredentialOffer(job.offer_uri)
  const issuerMetadata = await client.resolveIssuerMetadata(credentialOffer.credential_issuer)
  const token = await client.retrievePreAuthorizedCodeAccessTokenFromOffer({
    credentialOffer,
    issuerMetadata,
    txCode: job.tx_code,
    dpop: job.dpop ? { signer: { method: 'jwk', alg: 'ES256', publicJwk: dpopKey.publicJwk } } : undefined
  })
  const credentials = {}
  let dpop = token.dpop
  let notificationId
  for (const id of job.configuration_ids) {
    const { c_nonce: nonce } = await client.requestNonce({ issuerMetadata })
    const { jwt } = await client.createCredentialRequestJwtProof({
      issuerMetadata,
      credentialConfigurationId: id,
      nonce,
      signer: { method: 'jwk', alg: 'ES256', publicJwk: holder.publicJwk }
    })
    const response = await client.retrieveCredentials({
      issuerMetadata,
      accessToken: token.accessTokenResponse.access_token,
      credentialConfigurationId: id,
      proofs: { jwt: [jwt] },
      dpop
    })
    dpop = response.dpop ?? dpop
    credentials[id] = response.credentialResponse.credentials.map((c) => c.credential)
    notificationId = response.credentialResponse.notification_id
  }
  const notified = await client.sendNotification({
    issuerMetadata,
    accessToken: token.accessTokenResponse.access_token,
    notification: { notificationId, event: 'credential_accepted' },
    dpop
  })
  process.stdout.write(JSON.stringify({
    ok: true,
    version: issuerMetadata.originalDraftVersion,
    token_type: token.accessTokenResponse.token_type,
    credentials,
    holder_jwk: holder.publicJwk,
    notified: notified.ok
  }))
}

main().catch((error) => {
  process.stdout.write(JSON.stringify({ ok: false, error: String(error?.stack ?? error), details: JSON.stringify(error?.response?.body ?? error?.errorResponse ?? null) }))
})
