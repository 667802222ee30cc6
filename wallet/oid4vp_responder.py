"""The wallet as an OpenID4VP 1.0 holder: read an ``openid4vp://`` request, show the learner which
of their credentials answer its DCQL query, and - on their choice - post presentations that
disclose exactly the requested claims to the verifier's ``response_uri`` (``direct_post``, §8.2).

Requests are checked before anything is shown (§5): ``response_type=vp_token``,
``response_mode=direct_post``, and the client identifier prefix (§5.9.3) - ``redirect_uri:`` must
be unsigned and equal the response_uri; ``decentralized_identifier:`` must come as a request object
(``typ: oauth-authz-req+jwt``) signed by a key of that DID; ``x509_san_dns:`` as a request object
signed by the leaf key of the ``x5c`` chain, which leads to one of the configured trust anchors
(``TAITO_TRUST_ANCHORS_FILE``) and names the client's DNS name as a ``dNSName``, and the
response_uri's host must be that name; ``x509_hash:`` the same, the leaf certificate being the
one whose DER's base64url SHA-256 hash is the client identifier (no host rule). Refusals name the OAuth error (``invalid_client``,
``invalid_request``, §8.5) in ``error``. Fetching ``request_uri`` and posting the
response go through the SSRF-guarded client. Nothing is stored: choosing re-reads the request.

::

    WalletError (wallet.errors)
    ├── InvalidPresentationRequest  invalid_presentation_request  422  malformed or untrusted
    ├── NothingToPresent            nothing_to_present            422  the choice answers no query
    └── VerifierRefused             verifier_refused              502  the verifier said no
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlmodel import Session

from keys import jose, vc_jwt, x509
from keys.did import resolve_offline, split_did_url
from keys.jwk import PublicKey
from schemas import strict_json
from schemas.errors import TaitoError
from verifier import dcql
from verifier.dcql import CredentialQuery, DcqlQuery, PathElement
from verifier.oid4vp import credential_types
from wallet import presentation, storage
from wallet.context import WalletContext
from wallet.errors import WalletError
from wallet.metadata import unverified_jwt_document
from wallet.oid4vci_client import post
from wallet.tables import Learner, new_id

REQUEST_SCHEMES = ("openid4vp://", "haip-vp://")
REQUEST_TYP = "oauth-authz-req+jwt"
ALGORITHMS = ("EdDSA", "ES256", "RS256")
# The query format, and the format the wallet stores such a credential under.
STORED_FORMAT = {"dc+sd-jwt": "dc+sd-jwt", "ldp_vc": "ldp_vc", "jwt_vc_json": "jwt_vc"}


class InvalidPresentationRequest(WalletError):
    code = "invalid_presentation_request"
    status = 422
    title = "Not a usable presentation request"


class NothingToPresent(WalletError):
    code = "nothing_to_present"
    status = 422
    title = "The chosen credentials do not answer the request"


class VerifierRefused(WalletError):
    code = "verifier_refused"
    status = 502
    title = "The verifier refused the presentation"


@dataclass(frozen=True)
class AuthorizationRequest:
    client_id: str
    response_uri: str
    nonce: str
    state: str | None
    query: DcqlQuery

    @property
    def verifier(self) -> str:
        """Who asks, as the learner should see it: the response_uri's host, or the DID."""
        prefix, _, rest = self.client_id.partition(":")
        if prefix in ("decentralized_identifier", "x509_san_dns"):
            return rest
        return urllib.parse.urlsplit(self.response_uri).netloc


def _bad(message: str, error: str = "invalid_request") -> InvalidPresentationRequest:
    return InvalidPresentationRequest(message, extra={"error": error})


_CERTIFIED = ("x509_san_dns", "x509_hash")
_SIGNED = ("decentralized_identifier", *_CERTIFIED)


def _certificate_key(
    context: WalletContext, prefix: str, value: str, header: Mapping[str, Any]
) -> PublicKey:
    """x509_san_dns / x509_hash (§5.9.3): the leaf of ``x5c`` chains to a trust anchor of this
    wallet and names the client identifier as a dNSName (x509_san_dns), or its DER's base64url
    SHA-256 hash is the client identifier (x509_hash); its key is the one the request is signed
    with."""
    anchors = context.verifier.trust_anchors
    if not anchors:
        raise _bad(
            "This wallet trusts no certificate authority (TAITO_TRUST_ANCHORS_FILE), so it "
            f"cannot accept {prefix} requests.",
            "invalid_client",
        )
    try:
        chain = x509.from_x5c(header.get("x5c"))
        path = x509.validate_chain(chain, anchors, now=context.clock())
        names = x509.dns_names(chain[0])
        key = x509.public_key_of(chain[0])
    except TaitoError as exc:
        raise _bad(
            f"The request's certificate is not trusted: {exc.detail}", "invalid_client"
        ) from exc
    # RFC 5280 §6.3 / RFC 6960: a certificate its CA revoked (or whose CRL or OCSP answer cannot be
    # relied on) certifies nothing; one that names neither passes with the chain (as a seal's).
    revocation = context.verifier.certificates.check(path, now=context.clock())
    if revocation.status == "failed":
        raise _bad(
            f"The request's certificate is not usable: {revocation.message}", "invalid_client"
        )
    if prefix == "x509_hash":
        if x509.der_thumbprint_s256(chain[0]) != value:
            raise _bad(
                "The request's certificate is not the one the x509_hash client_id names.",
                "invalid_client",
            )
        return key
    dns_name = value
    if dns_name.lower() not in names:
        raise _bad(
            f"The request's certificate does not name {dns_name[:253]!r} as a dNSName.",
            "invalid_client",
        )
    return key


def _signed_parameters(context: WalletContext, client_id: str, token: str) -> dict[str, Any]:
    """A request object (RFC 9101) signed by a key of the verifier's DID, or by the key of its
    X.509 certificate (§5.9.3)."""
    prefix, _, did = client_id.partition(":")
    if prefix not in _SIGNED:
        raise _bad(
            "Signed requests are accepted for decentralized_identifier:, x509_san_dns: and "
            f"x509_hash: only, not {prefix}:.",
            "invalid_client",
        )
    try:
        decoded = jose.decode_unverified(token, max_bytes=256 * 1024)
        if not jose.typ_matches(decoded.header.get("typ"), REQUEST_TYP):
            raise _bad("The request object's typ is not oauth-authz-req+jwt.")
        kid = decoded.header.get("kid")
        if prefix in _CERTIFIED:
            certified = _certificate_key(context, prefix, did, decoded.header)
        elif not isinstance(kid, str) or split_did_url(kid)[0] != did:
            raise _bad("The request object is not signed by a key of the client's DID.")

        def key(header: Mapping[str, Any]) -> PublicKey:
            if prefix in _CERTIFIED:
                return certified
            assert isinstance(kid, str)
            if did.startswith(("did:key:", "did:jwk:")):
                return resolve_offline(kid).public_key
            return context.verifier.resolver(kid).public_key

        result = jose.verify_decoded(decoded, algorithms=ALGORITHMS, resolve_key=key)
        params = strict_json.loads(result.payload, max_bytes=256 * 1024)
    except InvalidPresentationRequest:
        raise
    except TaitoError as exc:
        error = "invalid_client" if prefix in _CERTIFIED else "invalid_request"
        raise _bad(f"The request object does not verify: {exc.detail}", error) from exc
    if not isinstance(params, dict) or params.get("client_id") != client_id:
        raise _bad("The request object names another client_id.")
    return params


# What each wallet policy (TAITO_WALLET_VERIFIERS) answers: client identifier prefixes, in words.
_POLICIES = {
    "signed": (_SIGNED, "a DID's or a certified key"),
    "x509": (_CERTIFIED, "a certificate of a trusted authority"),
}


def _check_policy(context: WalletContext, client_id: str) -> None:
    """The operator's choice of verifiers, before anything is fetched (§5.9: the wallet decides
    which client identifier prefixes it supports)."""
    if context.verifiers not in _POLICIES:
        return  # "any"
    prefixes, signed_by = _POLICIES[context.verifiers]
    if client_id.split(":", 1)[0] not in prefixes:
        raise _bad(
            f"This wallet answers only verifiers that sign their requests with {signed_by} "
            f"({', '.join(p + ':' for p in prefixes)}).",
            "invalid_client",
        )


def resolve_request(context: WalletContext, uri: str) -> AuthorizationRequest:
    """The authorization request (§5) in an ``openid4vp://`` URI, checked."""
    if not isinstance(uri, str) or not uri.startswith(REQUEST_SCHEMES):
        raise _bad("Not an openid4vp:// request.")
    query = {k: v[0] for k, v in urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query).items()}
    client_id = query.get("client_id")
    if not client_id:
        raise _bad("The request has no client_id.")
    _check_policy(context, client_id)
    if "request_uri" in query:
        if query.get("request_uri_method", "get") != "get":
            raise _bad("request_uri_method=post is not supported.")
        fetched = context.verifier.http.get(
            query["request_uri"], accept="application/oauth-authz-req+jwt"
        )
        params = _signed_parameters(context, client_id, fetched.text().strip())
    elif "request" in query:
        params = _signed_parameters(context, client_id, query["request"])
    else:
        params = dict(query)
        if not client_id.startswith("redirect_uri:"):
            raise _bad("An unsigned request uses the redirect_uri: client identifier prefix.")
        for name in ("dcql_query", "client_metadata"):
            if isinstance(params.get(name), str):
                try:
                    params[name] = strict_json.loads(params[name])
                except TaitoError as exc:
                    raise _bad(f"{name} is not JSON: {exc.detail}") from exc
    if params.get("response_type") != "vp_token":
        raise _bad("Only response_type=vp_token is supported.")
    if params.get("response_mode") != "direct_post":
        raise _bad("Only response_mode=direct_post is supported.")
    response_uri = params.get("response_uri")
    if not isinstance(response_uri, str) or not response_uri.startswith(("https://", "http://")):
        raise _bad("The request has no response_uri.")
    if client_id.startswith("redirect_uri:") and client_id != f"redirect_uri:{response_uri}":
        # §5.9.3: with direct_post the redirect_uri client identifier is the response_uri.
        raise _bad("The redirect_uri: client_id is not the response_uri.")
    if (
        client_id.startswith("x509_san_dns:")
        and (urllib.parse.urlsplit(response_uri).hostname or "")
        != client_id.removeprefix("x509_san_dns:").lower()
    ):
        # §5.9.3: with no trusted list of client identifiers here, the FQDN of the
        # redirect_uri (with direct_post, the response_uri, §8.2) must be the DNS name.
        raise _bad("The response_uri's host is not the x509_san_dns: client's DNS name.")
    nonce, state = params.get("nonce"), params.get("state")
    if not isinstance(nonce, str) or not nonce:
        raise _bad("The request has no nonce.")
    try:
        parsed = dcql.parse_query(params.get("dcql_query"))
    except TaitoError as exc:
        raise _bad(f"The DCQL query is not valid: {exc.detail}") from exc
    return AuthorizationRequest(
        client_id, response_uri, nonce, state if isinstance(state, str) else None, parsed
    )


# --- matching ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Held:
    """A stored credential read for matching: its text, document (claims) and types."""

    row: Any
    text: str
    document: Mapping[str, Any]
    types: set[str]


def _held(context: WalletContext, learner: Learner, row: Any) -> Held | None:
    try:
        decrypted = storage.decrypt_row(context, learner, row)
        text = decrypted.credential.strip()
        if row.format == "dc+sd-jwt":
            document: Any = presentation.sd_jwt_claims(text)
        elif row.format == "ldp_vc":
            document = decrypted.json()
        elif row.format == "jwt_vc":
            document = unverified_jwt_document(text)
        else:
            return None
    except TaitoError:
        return None
    if not isinstance(document, Mapping):
        return None
    fmt = {v: k for k, v in STORED_FORMAT.items()}[row.format]
    return Held(row, text, document, credential_types(fmt, document, context.verifier.loader))


def _holdings(
    session: Session, context: WalletContext, learner: Learner, query: DcqlQuery
) -> list[Held]:
    """The learner's valid credentials of the formats the query asks for, read for matching
    (only those are decrypted)."""
    wanted = {STORED_FORMAT[q.format] for q in query.credentials}
    rows = [
        r
        for r in storage.credentials_of(session, learner)
        if r.verified and r.status not in ("revoked", "expired") and r.format in wanted
    ]
    return [h for h in (_held(context, learner, r) for r in rows) if h is not None]


def _match(query: CredentialQuery, held: Held) -> dcql.Match | None:
    if STORED_FORMAT[query.format] != held.row.format:
        return None
    return dcql.match(query, query.format, held.document, held.types)


@dataclass(frozen=True)
class Candidate:
    credential_id: str
    name: str | None
    issuer_name: str | None
    format: str
    claims: list[list[PathElement]] | None  # None: the whole credential is asked for


def candidates(
    session: Session, context: WalletContext, learner: Learner, request: AuthorizationRequest
) -> dict[str, list[Candidate]]:
    """For each credential query, the learner's credentials that answer it (§6.4)."""
    holdings = _holdings(session, context, learner, request.query)
    result: dict[str, list[Candidate]] = {}
    for query in request.query.credentials:
        result[query.id] = []
        for held in holdings:
            found = _match(query, held)
            if found is not None:
                result[query.id].append(
                    Candidate(
                        held.row.id,
                        held.row.name,
                        held.row.issuer_name,
                        query.format,
                        None if found.all_claims else [list(p) for p in found.claims],
                    )
                )
    return result


# --- presenting ----------------------------------------------------------------------------------


def _reveal(found: dcql.Match) -> list[str] | None:
    """The JSON Pointers to disclose: exactly the matched claims (a null element reveals the
    array it selects from), or None (all) when the query names no claims."""
    if found.all_claims:
        return None
    pointers = []
    for path in found.claims:
        cut = list(path[: path.index(None)]) if None in path else list(path)
        pointers.append(dcql.pointer(cut))
    return pointers


def _present(
    session: Session,
    context: WalletContext,
    learner: Learner,
    request: AuthorizationRequest,
    query: CredentialQuery,
    held: Held,
    found: dcql.Match,
) -> Any:
    now = context.clock()
    if query.format == "dc+sd-jwt":
        binding = presentation.bound_key(held.text)
        if binding is None:
            raise NothingToPresent("This SD-JWT VC is bound to no key of yours (cnf).")
        signer = presentation.holder_signer(session, context, learner, binding)
        # Appendix B.3.6: the KB-JWT's aud is the client_id, its nonce the request's.
        return presentation.sd_jwt_presentation(
            held.text,
            reveal=_reveal(found),
            signer=signer.signer,
            nonce=request.nonce,
            audience=request.client_id,
            iat=now,
        )
    binding = presentation.bound_key(held.document)
    if binding is None:
        raise NothingToPresent("This credential names no holder DID of yours as its subject.")
    signer = presentation.holder_signer(session, context, learner, binding)
    if query.format == "ldp_vc":
        # Appendix B.1.3.2: challenge = nonce, domain = client_id.
        return presentation.data_integrity_presentation(
            [held.document],
            holder=signer.did,
            signer=signer.signer,
            cryptosuite=presentation.CRYPTOSUITE_FOR_KEY[signer.key_type],
            loader=context.verifier.loader,
            challenge=request.nonce,
            domain=request.client_id,
            created=now,
            presentation_id=f"urn:uuid:{new_id()}",
        )
    # jwt_vc_json: a VC-JOSE-COSE vp+jwt carrying the credential as an enveloped VC (§3.2),
    # bound by nonce and aud (Appendix B.1.3.1).
    vp = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": signer.did,
        "verifiableCredential": [
            {
                "@context": "https://www.w3.org/ns/credentials/v2",
                "id": f"data:application/vc+jwt,{held.text}",
                "type": "EnvelopedVerifiableCredential",
            }
        ],
    }
    return vc_jwt.sign_presentation_jwt(
        vp, signer=signer.signer, audience=request.client_id, nonce=request.nonce, now=now
    )


@dataclass(frozen=True)
class Responded:
    redirect_uri: str | None
    presented: dict[str, list[str]]


def respond(
    session: Session,
    context: WalletContext,
    learner: Learner,
    uri: str,
    choices: Mapping[str, Sequence[str]],
) -> Responded:
    """Present the chosen credentials for each query id and post the response (§8.1, §8.2)."""
    request = resolve_request(context, uri)
    by_id = {h.row.id: h for h in _holdings(session, context, learner, request.query)}
    vp_token: dict[str, list[Any]] = {}
    for query_id, credential_ids in choices.items():
        query = request.query.credential(query_id)
        if query is None:
            raise NothingToPresent(f"The request has no query {query_id!r}.")
        if not credential_ids or (len(credential_ids) > 1 and not query.multiple):
            raise NothingToPresent(f"Choose one credential for {query_id!r}.")
        for credential_id in credential_ids:
            held = by_id.get(credential_id)
            found = _match(query, held) if held is not None else None
            if held is None or found is None:
                raise NothingToPresent(f"Credential {credential_id} does not answer {query_id!r}.")
            vp_token.setdefault(query_id, []).append(
                _present(session, context, learner, request, query, held, found)
            )
    if not dcql.satisfied(request.query, vp_token):
        raise NothingToPresent("The chosen credentials leave a required query unanswered.")
    session.commit()  # a holder key made on first use
    form = {"vp_token": json.dumps(vp_token, separators=(",", ":"))}
    if request.state is not None:
        form["state"] = request.state
    status, answer = post(context.verifier.http, request.response_uri, form=form)
    if status != 200:
        error = answer.get("error") if isinstance(answer, Mapping) else None
        description = answer.get("error_description") if isinstance(answer, Mapping) else None
        raise VerifierRefused(
            f"The verifier refused the presentation: {error or f'HTTP {status}'}"
            + (f" ({str(description)[:300]})" if description else ""),
            extra={"error": error, "http_status": status},
        )
    redirect = answer.get("redirect_uri") if isinstance(answer, Mapping) else None
    return Responded(
        redirect if isinstance(redirect, str) else None,
        {k: list(v) for k, v in choices.items()},
    )
