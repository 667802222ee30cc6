"""OpenID for Verifiable Presentations 1.0 (Final): the verifier's use cases.

A relying party asks for credentials with a DCQL query (:mod:`verifier.dcql`); Taito makes the
authorization request (§5) with ``response_type=vp_token``, ``response_mode=direct_post`` (§8.2),
a fresh ``nonce`` and ``state``, and one of two client identifier prefixes (§5.9.3):

* ``redirect_uri:<response_uri>`` - unsigned, passed by value in the ``openid4vp://`` URI;
* ``decentralized_identifier:<did>`` - a request object signed by the verifier's own key
  (``typ: oauth-authz-req+jwt``, RFC 9101), passed by reference (``request_uri``) or by value;
* ``x509_san_dns:<dns name>`` - a request object signed by the key of a certificate whose
  ``dNSName`` is the host of the public URL, the chain in the JOSE ``x5c`` header (RFC 7515
  §4.1.6); the certificate and its key come from the operator's settings;
* ``x509_hash:<hash>`` - the same signed request object, the client named by the base64url
  SHA-256 hash of its DER-encoded leaf certificate (the prefix the EU wallet's HAIP profile asks
  for), so the certificate need not name the host.

The wallet posts ``vp_token`` - a JSON object keyed by DCQL credential query id, each value an
array of presentations (§8.1) - and ``state`` to the response endpoint. Every presentation is
verified by :func:`verifier.credential.verify_credential`, bound to this request: SD-JWT VC with
a KB-JWT whose ``nonce`` is ours and ``aud`` our client_id (Appendix B.3.6), Data Integrity VPs
with ``challenge`` = nonce and ``domain`` = client_id (B.1.3.2), VC-JOSE VP JWTs with ``nonce`` and
``aud`` (B.1.3.1). The credentials must be bound to the presenter (the SD-JWT's ``cnf`` key signed
the KB-JWT; the W3C credential's subject is the DID that signed the presentation) and answer the
DCQL query. The result is kept for the relying party to poll, or handed over after a redirect
with a one-time ``response_code`` (§8.2).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import Engine, update
from sqlmodel import Session, col

from keys import jose, x509
from keys.data_integrity.canonicalization import expand
from keys.did import did_key_method_id
from keys.jwk import PrivateKey, generate
from keys.signing import KeySigner
from keys.store import KeyStore
from schemas import strict_json
from schemas.errors import TaitoError
from schemas.oauth import OAuthError
from schemas.qr import qr_png, qr_svg
from verifier.context import VerifierContext
from verifier.credential import verify_credential
from verifier.dcql import CredentialQuery, DcqlQuery, match, parse_query, satisfied, select
from verifier.oid4vp_tables import PresentationRequest
from verifier.report import VerificationReport

REQUEST_SCHEME = "openid4vp://"
REQUEST_TYP = "oauth-authz-req+jwt"  # RFC 9101 §10.8, OpenID4VP §5
VERIFIER_OWNER = "verifier"
MAX_FAILED_RESPONSES = 3
SELF_ISSUED = "https://self-issued.me/v2"  # §5.8: static wallet metadata audience
# SD-JWT VC claims that are never selectively disclosed (SD-JWT VC §3.2.2): not "disclosed".
SD_JWT_FRAME = frozenset({"iss", "iat", "nbf", "exp", "vct", "cnf", "status", "_sd_alg"})


class RequestNotFound(TaitoError):
    code = "not_found"
    status = 404
    title = "Not found"


class RequestUnauthorized(TaitoError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class VerifierKeysUnavailable(TaitoError):
    code = "signing_unavailable"
    status = 503
    title = "Signing is not available"


@dataclass
class OpenIdVerifier:
    """What the OpenID4VP endpoints need (``app.state.oid4vp``)."""

    engine: Engine
    verifier: VerifierContext
    public_url: str
    key_store: KeyStore | None = None
    # x509_san_dns: the request-signing certificate chain (leaf first) and the leaf's key.
    certificate: tuple[list[x509.Certificate], PrivateKey] | None = None
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))

    def response_uri(self, request_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/verifier/requests/{request_id}/response"

    def request_uri(self, request_id: str) -> str:
        return f"{self.public_url.rstrip('/')}/verifier/requests/{request_id}/request"


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode("utf-8")).hexdigest()


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class RequestCreate(_Body):
    dcql_query: dict[str, Any] = Field(
        description="what to ask for (OpenID4VP 1.0 §6)",
        examples=[
            {
                "credentials": [
                    {
                        "id": "learning",
                        "format": "dc+sd-jwt",
                        "meta": {"vct_values": ["https://uni.example/vct/learning-credential/v1"]},
                        "claims": [{"path": ["achievement", "name"]}],
                    }
                ]
            }
        ],
    )
    client_id_prefix: Literal[
        "redirect_uri", "decentralized_identifier", "x509_san_dns", "x509_hash"
    ] = "redirect_uri"
    by_reference: bool = Field(
        default=True, description="signed requests: request_uri (else the JWT in the URI)"
    )
    redirect_uri: str | None = Field(
        default=None,
        pattern=r"^https?://[^#\s]+$",
        max_length=2000,
        description="same-device flow: where the wallet sends the user after responding",
    )
    expires_in: int = Field(default=600, ge=60, le=3600)


class RequestCreated(BaseModel):
    id: str
    authorization_request: str = Field(description="openid4vp:// URI (what the QR code holds)")
    client_id: str
    nonce: str
    state: str
    read_token: str = Field(description="GET /verifier/requests/{id} with it (shown once)")
    expires_at: datetime
    qr_png: str = Field(description="the QR code as a data: URI (image/png)")
    qr_svg: str


class RequestStatus(BaseModel):
    id: str
    status: str = Field(description="pending | verified | failed | expired")
    client_id: str
    created_at: datetime
    responded_at: datetime | None
    result: dict[str, Any] | None


# --- the verifier's own key (decentralized_identifier prefix) ------------------------------------


def verifier_signer(session: Session, context: OpenIdVerifier) -> KeySigner:
    """The verifier's P-256 key (did:key), made on first use and kept sealed in the key store."""
    if context.key_store is None:
        raise VerifierKeysUnavailable("No master key is configured, so requests cannot be signed.")
    row = context.key_store.active(session, VERIFIER_OWNER, "p256")
    if row is None:
        key = generate("p256")
        row = context.key_store.add(
            session, VERIFIER_OWNER, key, did_key_method_id(key.public_key())
        )
        session.commit()
    return context.key_store.signer(row)


def certificate_signer(
    context: OpenIdVerifier, prefix: str = "x509_san_dns"
) -> tuple[KeySigner, list[str], str]:
    """x509_san_dns / x509_hash (§5.9.3): the signer, the ``x5c`` header value and the client
    identifier's value - for x509_san_dns the host of the public URL, which must be a dNSName of
    the configured leaf certificate; for x509_hash the base64url SHA-256 of the leaf's DER (the
    certificate's ``x5t#S256``, RFC 7515 §4.1.8)."""
    if context.certificate is None:
        raise VerifierKeysUnavailable(
            "No request-signing certificate is configured: set TAITO_VERIFIER_CERT_FILE and "
            f"TAITO_VERIFIER_KEY_FILE to use the {prefix} client identifier prefix."
        )
    chain, key = context.certificate
    thumbprint = x509.der_thumbprint_s256(chain[0])
    signer = KeySigner(key, f"x5t#S256:{thumbprint}")
    if prefix == "x509_hash":
        return signer, x509.x5c(chain), thumbprint
    host = (urllib.parse.urlsplit(context.public_url).hostname or "").lower()
    if host not in x509.dns_names(chain[0]):
        raise VerifierKeysUnavailable(
            f"The certificate in TAITO_VERIFIER_CERT_FILE does not name {host!r} (the host of "
            "TAITO_PUBLIC_URL) as a dNSName."
        )
    return signer, x509.x5c(chain), host


def _client_metadata() -> dict[str, Any]:
    """§5.1 client_metadata with vp_formats_supported (§11.1, Appendix B)."""
    return {
        "vp_formats_supported": {
            "dc+sd-jwt": {
                "sd-jwt_alg_values": ["ES256", "EdDSA"],
                "kb-jwt_alg_values": ["ES256", "EdDSA"],
            },
            "ldp_vc": {
                "proof_type_values": ["DataIntegrityProof"],
                "cryptosuite_values": ["eddsa-rdfc-2022", "ecdsa-rdfc-2019"],
            },
            "jwt_vc_json": {"alg_values": ["EdDSA", "ES256", "RS256"]},
        }
    }


def _parameters(row: PresentationRequest) -> dict[str, Any]:
    """The authorization request parameters (§5.1, §8.2)."""
    return {
        "client_id": row.client_id,
        "response_type": "vp_token",
        "response_mode": "direct_post",
        "response_uri": row.response_uri,
        "nonce": row.nonce,
        "state": row.state,
        "dcql_query": row.dcql_query,
        "client_metadata": _client_metadata(),
    }


def create_request(
    session: Session, context: OpenIdVerifier, body: RequestCreate
) -> RequestCreated:
    parse_query(body.dcql_query)  # raises InvalidDcqlQuery (422) naming the member
    now = context.clock()
    read_token = secrets.token_urlsafe(32)
    row = PresentationRequest(
        client_id="",
        client_id_prefix=body.client_id_prefix,
        nonce=secrets.token_urlsafe(24),
        state=secrets.token_urlsafe(24),
        response_uri="",
        dcql_query=body.dcql_query,
        read_token_hash=_hash(read_token),
        redirect_uri=body.redirect_uri,
        expires_at=now + timedelta(seconds=body.expires_in),
    )
    row.response_uri = context.response_uri(row.id)
    params = _parameters(row)
    if body.client_id_prefix == "redirect_uri":
        # §5.9.3: with direct_post, the client identifier is the response_uri; never signed.
        row.client_id = params["client_id"] = f"redirect_uri:{row.response_uri}"
        query = {
            k: json.dumps(v, separators=(",", ":")) if isinstance(v, dict) else v
            for k, v in params.items()
        }
        uri = REQUEST_SCHEME + "?" + urllib.parse.urlencode(query)
    else:
        if body.client_id_prefix in ("x509_san_dns", "x509_hash"):
            signer, x5c, value = certificate_signer(context, body.client_id_prefix)
            row.client_id = params["client_id"] = f"{body.client_id_prefix}:{value}"
            header: dict[str, Any] = {"typ": REQUEST_TYP, "x5c": x5c}
        else:
            signer = verifier_signer(session, context)
            did = signer.key_id.split("#", 1)[0]
            row.client_id = params["client_id"] = f"decentralized_identifier:{did}"
            header = {"typ": REQUEST_TYP, "kid": signer.key_id}
        claims = {
            **params,
            "aud": SELF_ISSUED,
            "iat": int(now.timestamp()),
            "exp": int((now + timedelta(seconds=body.expires_in)).timestamp()),
        }
        row.request_object = jose.sign_compact(
            json.dumps(claims, separators=(",", ":")).encode(), header, signer
        )
        reference = (
            {"request_uri": context.request_uri(row.id)}
            if body.by_reference
            else {"request": row.request_object}
        )
        uri = (
            REQUEST_SCHEME + "?" + urllib.parse.urlencode({"client_id": row.client_id, **reference})
        )
    png, svg = qr_png(uri), qr_svg(uri)  # raises TooLargeForQr (422) before anything is kept
    session.add(row)
    session.commit()
    return RequestCreated(
        id=row.id,
        authorization_request=uri,
        client_id=row.client_id,
        nonce=row.nonce,
        state=row.state,
        read_token=read_token,
        expires_at=row.expires_at,
        qr_png="data:image/png;base64," + base64.b64encode(png).decode("ascii"),
        qr_svg=svg,
    )


def _request(session: Session, request_id: str) -> PresentationRequest:
    row = session.get(PresentationRequest, request_id)
    if row is None:
        raise RequestNotFound("There is no such presentation request.")
    return row


def request_object(session: Session, context: OpenIdVerifier, request_id: str) -> str:
    """The signed request object behind a ``request_uri`` (RFC 9101 §5.2, OpenID4VP §5.7)."""
    row = _request(session, request_id)
    if row.request_object is None or _aware(row.expires_at) <= context.clock():
        raise RequestNotFound("This request has no request object, or it expired.")
    return row.request_object


def status(
    session: Session,
    context: OpenIdVerifier,
    request_id: str,
    read_token: str | None,
    response_code: str | None,
) -> RequestStatus:
    """The result for the relying party: with its read token, or the redirect's response_code."""
    row = _request(session, request_id)
    if read_token is None and response_code is None:
        raise RequestUnauthorized("Send the read token as 'Authorization: Bearer <token>'.")
    allowed = (
        read_token is not None and hmac.compare_digest(row.read_token_hash, _hash(read_token))
    ) or (
        response_code is not None
        and row.response_code_hash is not None
        and hmac.compare_digest(row.response_code_hash, _hash(response_code))
    )
    if not allowed:
        raise RequestNotFound("There is no such presentation request.")
    state = row.status
    if state == "pending" and _aware(row.expires_at) <= context.clock():
        state = "expired"
    return RequestStatus(
        id=row.id,
        status=state,
        client_id=row.client_id,
        created_at=row.created_at,
        responded_at=row.responded_at,
        result=row.result,
    )


# --- the response endpoint (§8.2) ----------------------------------------------------------------


class Rejected(Exception):
    """One presentation does not answer the request; the message says why."""


def credential_types(fmt: str, document: Mapping[str, Any], loader: Any) -> set[str]:
    """What DCQL ``meta`` matches: the ``vct``, or the W3C types (expanded IRIs for ldp_vc)."""
    if fmt == "dc+sd-jwt":
        vct = document.get("vct")
        return {vct} if isinstance(vct, str) else set()
    types = document.get("type")
    names = {t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)}
    if fmt != "ldp_vc":
        return names
    try:
        expanded = expand({"@context": document.get("@context"), "type": list(names)}, loader)
    except TaitoError:
        return set()
    return {t for node in expanded for t in node.get("@type", []) if isinstance(t, str)}


def _failed_checks(report: VerificationReport) -> str:
    failed = [c for c in report.checks if c.status == "failed"]
    nested = [c for n in report.nested for c in n.checks if c.status == "failed"]
    first = (failed + nested)[:1]
    return f"{first[0].id}: {first[0].message}" if first else "not verified"


def _subject_ids(credential: Mapping[str, Any]) -> set[Any]:
    subject = credential.get("credentialSubject")
    subjects = subject if isinstance(subject, list) else [subject]
    return {s.get("id") for s in subjects if isinstance(s, Mapping)}


def _check_w3c(
    report: VerificationReport, query: CredentialQuery, presentation: Any
) -> tuple[Mapping[str, Any], str]:
    """A VP (ldp_vp or jwt_vp) with exactly one credential, signed by that credential's subject."""
    expected = "ldp_vp" if query.format == "ldp_vc" else "jwt_vp"
    if report.format != expected:
        raise Rejected(f"A {query.format} credential is presented in a {expected} presentation.")
    if not report.verified:
        raise Rejected(f"The presentation does not verify ({_failed_checks(report)}).")
    if len(report.nested) != 1 or report.nested[0].document is None:
        raise Rejected("A presentation must carry exactly one credential.")
    document = report.document or {}
    holder = document.get("holder")
    holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
    if query.format == "jwt_vc_json":
        kid = jose.decode_unverified(presentation).header.get("kid")
        holder_id = holder_id or (kid.split("#", 1)[0] if isinstance(kid, str) else None)
    credential = report.nested[0].document
    if query.require_cryptographic_holder_binding and (
        not isinstance(holder_id, str) or holder_id not in _subject_ids(credential)
    ):
        raise Rejected("The credential's subject is not the holder who signed the presentation.")
    return credential, str(holder_id)


def _verify_one(
    context: OpenIdVerifier, row: PresentationRequest, query: CredentialQuery, presentation: Any
) -> dict[str, Any]:
    verifier = context.verifier
    if query.format == "dc+sd-jwt":
        if not isinstance(presentation, str):
            raise Rejected("An SD-JWT VC presentation is a string.")
        # Appendix B.3.6: the KB-JWT's nonce is ours and its aud is our client_id.
        options = verifier.options(
            nonce=row.nonce,
            audience=row.client_id,
            require_key_binding=query.require_cryptographic_holder_binding,
        )
    elif query.format == "ldp_vc":
        if not isinstance(presentation, dict):
            raise Rejected("A Data Integrity presentation is a JSON object.")
        # Appendix B.1.3.2: challenge = nonce, domain = client_id.
        options = verifier.options(challenge=row.nonce, domain=row.client_id)
    else:
        if not isinstance(presentation, str):
            raise Rejected("A jwt_vc_json presentation is a JWT.")
        options = verifier.options(nonce=row.nonce, audience=row.client_id)
    report = verify_credential(presentation, options)
    if query.format == "dc+sd-jwt":
        if report.format != "dc+sd-jwt" or not report.verified:
            raise Rejected(f"The SD-JWT VC does not verify ({_failed_checks(report)}).")
        document: Mapping[str, Any] = report.document or {}
        holder = None
    else:
        document, holder = _check_w3c(report, query, presentation)
    types = credential_types(query.format, document, verifier.loader)
    found = match(query, query.format, document, types)
    if found is None:
        raise Rejected(f"The credential does not answer the query '{query.id}'.")
    claims = (
        [{"path": list(p), "value": select(document, p)} for p in found.claims]
        if not found.all_claims
        else [{"path": [], "value": document}]
    )
    disclosed = (
        {k: v for k, v in document.items() if k not in SD_JWT_FRAME}
        if query.format == "dc+sd-jwt"
        else None
    )
    return {
        "format": query.format,
        "disclosed": disclosed,
        "issuer": report.issuer if query.format == "dc+sd-jwt" else report.nested[0].issuer,
        "holder": holder,
        "claims": claims,
        "checks": [c.to_json() for c in report.checks],
    }


def _vp_token(value: str | None, query: DcqlQuery) -> dict[str, list[Any]]:
    """§8.1: a JSON object keyed by credential query id; each value a non-empty array."""
    if not value:
        raise OAuthError("invalid_request", "The response has no vp_token.")
    try:
        token = strict_json.loads(value)
    except TaitoError as exc:
        raise OAuthError("invalid_request", f"vp_token is not JSON: {exc.detail}") from exc
    if not isinstance(token, dict) or not token:
        raise OAuthError("invalid_request", "vp_token must be a JSON object keyed by query id.")
    for query_id, presentations in token.items():
        credential = query.credential(query_id)
        if credential is None:
            raise OAuthError("invalid_request", f"vp_token answers no query {query_id!r}.")
        if not isinstance(presentations, list) or not presentations:
            raise OAuthError(
                "invalid_request", f"vp_token[{query_id!r}] must be a non-empty array."
            )
        if len(presentations) > 1 and not credential.multiple:
            raise OAuthError("invalid_request", f"Query {query_id!r} asks for one credential.")
    if not satisfied(query, token):
        raise OAuthError("invalid_request", "vp_token does not answer every required query.")
    return token


def _fail_attempt(session: Session, row: PresentationRequest, reason: str) -> OAuthError:
    """Count a rejected response; after MAX_FAILED_RESPONSES the request is failed for good."""
    failures = list((row.result or {}).get("rejected", []))[-(MAX_FAILED_RESPONSES - 1) :]
    failures.append(reason[:500])
    row.result = {"verified": False, "rejected": failures}
    if len(failures) >= MAX_FAILED_RESPONSES:
        row.status = "failed"
    session.add(row)
    session.commit()
    return OAuthError("invalid_request", reason)


def respond(
    session: Session, context: OpenIdVerifier, request_id: str, form: Mapping[str, str]
) -> dict[str, Any]:
    """The response endpoint (§8.2): check ``state``, verify each presentation, keep the result."""
    row = session.get(PresentationRequest, request_id)
    now = context.clock()
    if row is None or row.status != "pending" or _aware(row.expires_at) <= now:
        raise OAuthError("invalid_request", "The request is unknown, answered or expired.")
    state = form.get("state")
    if state is None or not hmac.compare_digest(state.encode(), row.state.encode()):
        raise OAuthError("invalid_request", "The state does not match the request (§8.2).")
    if "error" in form:  # §8.5: the wallet declined or failed
        row.status = "failed"
        row.result = {
            "verified": False,
            "error": form["error"][:100],
            "error_description": form.get("error_description", "")[:500],
        }
        row.responded_at = now
        session.add(row)
        session.commit()
        return {}
    query = parse_query(row.dcql_query)
    try:
        token = _vp_token(form.get("vp_token"), query)
    except OAuthError as exc:
        raise _fail_attempt(session, row, exc.detail) from exc
    results: dict[str, list[dict[str, Any]]] = {}
    for query_id, presentations in token.items():
        credential_query = query.credential(query_id)
        assert credential_query is not None
        try:
            results[query_id] = [
                _verify_one(context, row, credential_query, p) for p in presentations
            ]
        except (Rejected, TaitoError) as exc:
            reason = getattr(exc, "detail", None) or str(exc)
            raise _fail_attempt(session, row, f"{query_id}: {reason}") from exc
    response_code = secrets.token_urlsafe(24) if row.redirect_uri else None
    done = session.execute(
        update(PresentationRequest)
        .where(col(PresentationRequest.id) == row.id, col(PresentationRequest.status) == "pending")
        .values(
            status="verified",
            result={"verified": True, "credentials": results},
            responded_at=now,
            response_code_hash=_hash(response_code) if response_code else None,
        )
    )
    session.commit()
    if done.rowcount != 1:  # type: ignore[attr-defined]
        raise OAuthError("invalid_request", "The request was answered already.")
    if response_code is None or row.redirect_uri is None:
        return {}
    # §8.2: the wallet sends the user to redirect_uri; the response_code ties them to the result.
    return {"redirect_uri": f"{row.redirect_uri}#response_code={response_code}"}
