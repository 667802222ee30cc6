"""The wallet as an OpenID4VCI 1.0 client: take a scanned ``openid-credential-offer://`` URI,
read the issuer's metadata, redeem the pre-authorized code (with the learner's ``tx_code``), prove
possession of the learner's holder key and store every credential received - verified on import,
like an upload - then tell the issuer what was kept (notification endpoint).

A credential the issuer defers (§9) is asked for a few times; if it is still not ready, what is
needed to resume - the deferred endpoint, and, encrypted with the learner's data key, the
``transaction_id``, the access token and its DPoP key - is kept in ``wallet_pending_credential``
until the learner resumes it (:func:`resume_pending`): then it is stored, or still pending.

Every remote call goes through the app's :class:`~verifier.http.GuardedHttp` (SSRF guard, size and
time limits): the offer by reference, the metadata, and the protocol's POSTs (:func:`post`), so an
offer cannot make the server reach a private address.

::

    WalletError (wallet.errors)
    ├── InvalidOffer      invalid_offer      422  not an offer, or an issuer whose metadata disagrees
    ├── TxCodeRequired    tx_code_required   422  the offer needs the PIN sent to the learner
    ├── NotFound          not_found          404  no such pending credential of this learner
    └── IssuerRefused     issuer_refused     502  the issuer answered an OAuth error (its code in
                                                 ``extra.error``)
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import secrets
import time
import urllib.parse
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

import httpx
from sqlmodel import Session, col, select

from keys import base64url, jose
from keys.jwk import PrivateKey, generate, private_key_from_jwk
from keys.signing import KeySigner
from schemas import strict_json
from schemas.errors import TaitoError
from verifier.http import FetchError, FetchTimeout, GuardedHttp
from wallet import envelope, holder, storage
from wallet.context import WalletContext
from wallet.deferred_tables import PendingCredential
from wallet.errors import NotFound, WalletError
from wallet.tables import Learner, WalletCredential

OFFER_SCHEMES = ("openid-credential-offer://", "haip://")
PRE_AUTHORIZED_GRANT = "urn:ietf:params:oauth:grant-type:pre-authorized_code"
PROOF_TYP = "openid4vci-proof+jwt"
FORMATS = ("dc+sd-jwt", "ldp_vc", "jwt_vc_json")
MEDIA_TYPES = {
    "dc+sd-jwt": "application/dc+sd-jwt",
    "ldp_vc": "application/vc+ld+json",
    "jwt_vc_json": "application/jwt",
}
MAX_DEFERRED_POLLS = 3


class InvalidOffer(WalletError):
    code = "invalid_offer"
    status = 422
    title = "Not a usable credential offer"


class TxCodeRequired(WalletError):
    code = "tx_code_required"
    status = 422
    title = "The offer needs its transaction code"


class IssuerRefused(WalletError):
    code = "issuer_refused"
    status = 502
    title = "The issuer refused the request"


# --- HTTP through the guard ----------------------------------------------------------------------


def post(
    http: GuardedHttp,
    url: str,
    *,
    form: Mapping[str, str] | None = None,
    json_body: Any = None,
    headers: Mapping[str, str] | None = None,
) -> tuple[int, Any]:
    """POST through the guard: the URL and every address it resolves to are checked as for a
    GET, the connection is pinned to a checked address, redirects are refused, and the answer is
    read within the size and time limits. Returns ``(status, parsed JSON or None)``."""
    started = time.monotonic()
    targets, host = http._check_url(url)
    if form is not None:
        content = urllib.parse.urlencode(form).encode()
        content_type = "application/x-www-form-urlencoded"
    else:
        content = json.dumps(json_body).encode()
        content_type = "application/json"
    parsed = httpx.URL(url)
    sent = {
        "Host": parsed.netloc.decode("ascii"),
        "User-Agent": http.policy.user_agent,
        "Accept": "application/json",
        "Accept-Encoding": "identity",
        "Content-Type": content_type,
        **(headers or {}),
    }
    for number, target in enumerate(targets, 1):
        request = http._client.build_request(
            "POST",
            target,
            content=content,
            headers=sent,
            timeout=http._timeout(started),
            extensions={"sni_hostname": host},
        )
        try:
            response = http._client.send(request, stream=True)
        except httpx.ConnectError as exc:
            if number == len(targets):
                raise FetchError(f"{host} cannot be reached.") from exc
            continue
        except httpx.TimeoutException as exc:
            raise FetchTimeout(f"POST {url} timed out.") from exc
        try:
            body = http._read(response, started)
        finally:
            response.close()
        if 300 <= response.status_code < 400:
            raise FetchError(f"POST {url} answered a redirect; it is not followed.")
        try:
            return response.status_code, strict_json.loads(body) if body.strip() else None
        except TaitoError:
            return response.status_code, None
    raise FetchError(f"{host} has no address to connect to.")  # pragma: no cover


def fetch_json(http: GuardedHttp, url: str) -> dict[str, Any]:
    response = http.get(url, accept="application/json")
    try:
        value = strict_json.loads(response.content)
    except TaitoError as exc:
        raise InvalidOffer(f"{url} did not answer JSON: {exc.detail}") from exc
    if not isinstance(value, dict):
        raise InvalidOffer(f"{url} did not answer a JSON object.")
    return value


def well_known(identifier: str, kind: str) -> str:
    """RFC 8414 §3.1 / OpenID4VCI §12.2.2: ``/.well-known/<kind>`` goes before the path."""
    parts = urllib.parse.urlsplit(identifier)
    return f"{parts.scheme}://{parts.netloc}/.well-known/{kind}{parts.path.rstrip('/')}"


def _refused(status: int, body: Any, what: str) -> IssuerRefused:
    error = body.get("error") if isinstance(body, Mapping) else None
    description = body.get("error_description") if isinstance(body, Mapping) else None
    return IssuerRefused(
        f"The issuer refused the {what}: {error or f'HTTP {status}'}"
        + (f" ({str(description)[:300]})" if description else ""),
        extra={"error": error, "http_status": status},
    )


# --- the offer -----------------------------------------------------------------------------------


def resolve_offer(http: GuardedHttp, uri: str) -> dict[str, Any]:
    """The Credential Offer (§4.1) in an offer URI: by value, or fetched by reference (§4.1.3)."""
    if not isinstance(uri, str) or not uri.startswith(OFFER_SCHEMES):
        raise InvalidOffer("Not an openid-credential-offer:// URI.")
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(uri).query)
    if ("credential_offer" in query) == ("credential_offer_uri" in query):
        raise InvalidOffer("An offer URI carries credential_offer or credential_offer_uri (§4.1).")
    if "credential_offer" in query:
        try:
            offer = strict_json.loads(query["credential_offer"][0], max_bytes=64 * 1024)
        except TaitoError as exc:
            raise InvalidOffer(f"The offer is not JSON: {exc.detail}") from exc
    else:
        offer = fetch_json(http, query["credential_offer_uri"][0])
    if not isinstance(offer, dict):
        raise InvalidOffer("The offer is not a JSON object.")
    issuer = offer.get("credential_issuer")
    ids = offer.get("credential_configuration_ids")
    grants = offer.get("grants")
    grant = grants.get(PRE_AUTHORIZED_GRANT) if isinstance(grants, dict) else None
    if not isinstance(issuer, str) or not issuer.startswith(("https://", "http://")):
        raise InvalidOffer("The offer names no credential_issuer URL.")
    if not isinstance(ids, list) or not ids or not all(isinstance(i, str) for i in ids):
        raise InvalidOffer("The offer names no credential_configuration_ids.")
    if not isinstance(grant, dict) or not isinstance(grant.get("pre-authorized_code"), str):
        raise InvalidOffer("Only offers with a pre-authorized code grant are supported here.")
    return offer


@dataclass
class IssuerInfo:
    metadata: dict[str, Any]
    token_endpoint: str
    dpop_algorithms: list[str] = field(default_factory=list)


def issuer_info(http: GuardedHttp, offer: Mapping[str, Any]) -> IssuerInfo:
    """Credential issuer metadata (§12.2) and its authorization server's (RFC 8414), checked to
    name the identifiers they were fetched for (§12.2.2, RFC 8414 §3.3)."""
    issuer = str(offer["credential_issuer"])
    metadata = fetch_json(http, well_known(issuer, "openid-credential-issuer"))
    if metadata.get("credential_issuer") != issuer:
        raise InvalidOffer("The issuer's metadata names another credential_issuer.")
    servers = metadata.get("authorization_servers") or [issuer]
    if not isinstance(servers, list) or not all(isinstance(s, str) for s in servers):
        raise InvalidOffer("The issuer's metadata lists authorization_servers that are not URLs.")
    server = (offer["grants"][PRE_AUTHORIZED_GRANT].get("authorization_server")) or servers[0]
    if server not in servers:
        raise InvalidOffer("The offer names an authorization server the issuer does not list.")
    oauth = fetch_json(http, well_known(str(server), "oauth-authorization-server"))
    if oauth.get("issuer") != server or not isinstance(oauth.get("token_endpoint"), str):
        raise InvalidOffer("The authorization server's metadata does not match it.")
    for name in ("credential_endpoint", "nonce_endpoint"):
        if not isinstance(metadata.get(name), str):
            raise InvalidOffer(f"The issuer's metadata has no {name}.")
    algorithms = oauth.get("dpop_signing_alg_values_supported")
    return IssuerInfo(
        metadata,
        str(oauth["token_endpoint"]),
        [a for a in algorithms if isinstance(a, str)] if isinstance(algorithms, list) else [],
    )


def dpop_proof(key: PrivateKey, method: str, url: str, access_token: str | None = None) -> str:
    """A DPoP proof (RFC 9449 §4.2): typ, alg, the public jwk; htm, htu, iat, jti, and ath when
    it goes with an access token (§4.3)."""
    payload: dict[str, Any] = {
        "htm": method,
        "htu": url,
        "iat": int(time.time()),
        "jti": secrets.token_urlsafe(16),
    }
    if access_token is not None:
        payload["ath"] = base64url.encode(hashlib.sha256(access_token.encode()).digest())
    header = {"typ": "dpop+jwt", "jwk": key.public_key().to_jwk()}
    return jose.sign_compact(json.dumps(payload).encode(), header, KeySigner.for_key(key))


@dataclass(frozen=True)
class Access:
    """The access token and, when the server bound it (RFC 9449), the wallet's DPoP key."""

    token: str
    dpop: PrivateKey | None = None

    def headers(self, url: str) -> dict[str, str]:
        if self.dpop is None:
            return {"Authorization": f"Bearer {self.token}"}
        return {
            "Authorization": f"DPoP {self.token}",
            "DPoP": dpop_proof(self.dpop, "POST", url, self.token),
        }


# --- the flow ------------------------------------------------------------------------------------


@dataclass
class Accepted:
    """What an offer brought: stored credentials, deferred ones, and ones that failed."""

    credentials: list[WalletCredential] = field(default_factory=list)
    pending: list[dict[str, Any]] = field(default_factory=list)
    failed: list[dict[str, Any]] = field(default_factory=list)


def _algorithm(configuration: Mapping[str, Any]) -> holder.HolderAlgorithm:
    """The holder key for a configuration: ES256 for SD-JWT VC, else EdDSA, as the issuer allows."""
    offered = (
        (configuration.get("proof_types_supported") or {})
        .get("jwt", {})
        .get("proof_signing_alg_values_supported", [])
    )
    preferred: list[holder.HolderAlgorithm] = (
        ["ES256", "EdDSA"] if configuration.get("format") == "dc+sd-jwt" else ["EdDSA", "ES256"]
    )
    for alg in preferred:
        if alg in offered:
            return alg
    raise InvalidOffer("The issuer accepts no proof algorithm this wallet signs with.")


def _proof(key: holder.HolderKey, issuer: str, nonce: str, now: float) -> str:
    """Appendix F.1: typ, alg and kid (a did:key URL); aud, iat and the c_nonce."""
    header = {"typ": PROOF_TYP, "kid": key.kid}
    payload = {"aud": issuer, "iat": int(now), "nonce": nonce}
    return jose.sign_compact(json.dumps(payload).encode(), header, key.signer)


def accept_offer(
    session: Session,
    context: WalletContext,
    learner: Learner,
    offer_uri: str,
    tx_code: str | None = None,
) -> Accepted:
    """Run the pre-authorized code flow for every configuration offered, store what arrives.

    Blocking (HTTP, verification): call it from a worker thread. Commits each stored credential.
    """
    http = context.verifier.http
    offer = resolve_offer(http, offer_uri)
    info = issuer_info(http, offer)
    grant = offer["grants"][PRE_AUTHORIZED_GRANT]
    form = {"grant_type": PRE_AUTHORIZED_GRANT, "pre-authorized_code": grant["pre-authorized_code"]}
    if "tx_code" in grant:
        if not tx_code:
            raise TxCodeRequired(
                "Enter the PIN the institution sent you (tx_code).",
                extra={"tx_code": grant["tx_code"]},
            )
        form["tx_code"] = tx_code
    # RFC 9449: when the server takes DPoP, the token is bound to a key made for this issuance.
    dpop = generate("p256") if "ES256" in info.dpop_algorithms else None
    headers = {"DPoP": dpop_proof(dpop, "POST", info.token_endpoint)} if dpop else None
    status, token = post(http, info.token_endpoint, form=form, headers=headers)
    if (
        status != 200
        or not isinstance(token, dict)
        or not isinstance(token.get("access_token"), str)
    ):
        raise _refused(status, token, "token request")
    scheme = str(token.get("token_type", "")).lower()  # RFC 6749 §7.1, RFC 9449 §5
    bound = scheme == "dpop"
    if scheme not in ("bearer", "dpop") or (bound and dpop is None):
        raise IssuerRefused(f"The issuer answered a token of type {scheme!r}.")
    access = Access(token["access_token"], dpop if bound else None)
    lifetime = token.get("expires_in")  # RFC 6749 §5.1
    access_expires = (
        context.clock() + timedelta(seconds=lifetime)
        if isinstance(lifetime, int) and not isinstance(lifetime, bool) and lifetime > 0
        else None
    )
    metadata = info.metadata
    issuer = str(offer["credential_issuer"])
    configurations = metadata.get("credential_configurations_supported") or {}
    result = Accepted()
    for config_id in offer["credential_configuration_ids"]:
        configuration = configurations.get(config_id)
        if not isinstance(configuration, dict) or configuration.get("format") not in FORMATS:
            result.failed.append({"configuration": config_id, "error": "unsupported_format"})
            continue
        key = holder.holder_key(session, context, learner, _algorithm(configuration))
        session.commit()  # a holder key made on first use
        status, nonce = post(http, str(metadata["nonce_endpoint"]), json_body={})
        if (
            status != 200
            or not isinstance(nonce, dict)
            or not isinstance(nonce.get("c_nonce"), str)
        ):
            raise _refused(status, nonce, "nonce request")
        proof = _proof(key, issuer, nonce["c_nonce"], context.clock().timestamp())
        body = {"credential_configuration_id": config_id, "proofs": {"jwt": [proof]}}
        status, answer = post(
            http,
            str(metadata["credential_endpoint"]),
            json_body=body,
            headers=access.headers(str(metadata["credential_endpoint"])),
        )
        if status == 202 and isinstance(answer, dict) and "transaction_id" in answer:
            status, answer = _deferred(http, metadata, access, answer)
            if status == 202:
                row = _keep_pending(
                    session,
                    context,
                    learner,
                    Deferred(issuer, config_id, str(configuration["format"]), metadata),
                    access,
                    answer,
                    access_expires,
                )
                result.pending.append({"configuration": config_id, "id": row.id})
                continue
            if status != 200 or not isinstance(answer, dict):
                result.failed.append(
                    {
                        "configuration": config_id,
                        **_refused(status, answer, "deferred credential request").extra,
                    }
                )
                continue
        elif status != 200 or not isinstance(answer, dict):
            result.failed.append(
                {"configuration": config_id, **_refused(status, answer, "credential request").extra}
            )
            continue
        _store(session, context, learner, configuration, answer, result, http, metadata, access)
    return result


def _interval(answer: Mapping[str, Any]) -> int:
    interval = answer.get("interval")
    if isinstance(interval, int) and not isinstance(interval, bool) and 0 < interval <= 86_400:
        return interval
    return 5


def _deferred(
    http: GuardedHttp, metadata: Mapping[str, Any], access: Access, answer: dict[str, Any]
) -> tuple[int, Any]:
    """§9: ask the deferred endpoint a few times, waiting the interval the issuer named (at most
    2 s here). Returns the last ``(status, answer)``: 202 with a ``transaction_id`` while the
    credential is still not ready."""
    endpoint = metadata.get("deferred_credential_endpoint")
    if not isinstance(endpoint, str) or not isinstance(answer.get("transaction_id"), str):
        return 0, {"error": "no deferred_credential_endpoint or transaction_id"}
    status: int = 202
    current: Any = answer
    for _ in range(MAX_DEFERRED_POLLS):
        time.sleep(min(float(_interval(current)), 2.0))
        status, current = _ask_deferred(http, endpoint, access, str(answer["transaction_id"]))
        if status != 202:
            break
    return status, current


def _ask_deferred(
    http: GuardedHttp, endpoint: str, access: Access, transaction_id: str
) -> tuple[int, Any]:
    """One Deferred Credential Request (§9.1); a 202 answer keeps its transaction_id (§9.2)."""
    status, answer = post(
        http,
        endpoint,
        json_body={"transaction_id": transaction_id},
        headers=access.headers(endpoint),
    )
    if status == 202 and not (
        isinstance(answer, dict) and answer.get("transaction_id") == transaction_id
    ):
        return 502, answer
    return status, answer


# --- deferred credentials the learner resumes (§9) --------------------------------------------


@dataclass(frozen=True)
class Deferred:
    """Which offered credential was deferred, and the issuer metadata resuming needs."""

    issuer: str
    configuration_id: str
    format: str
    metadata: Mapping[str, Any]


def _secret_aad_id(row_id: str) -> str:
    return f"pending:{row_id}"  # the blob opens only in this row of this table


def _keep_pending(
    session: Session,
    context: WalletContext,
    learner: Learner,
    deferred: Deferred,
    access: Access,
    answer: Mapping[str, Any],
    expires_at: datetime | None,
) -> PendingCredential:
    """Keep what resuming needs; the transaction id, token and DPoP key only encrypted."""
    secret = {
        "transaction_id": answer["transaction_id"],
        "access_token": access.token,
        "dpop_jwk": access.dpop.to_jwk() if access.dpop is not None else None,
    }
    notification = deferred.metadata.get("notification_endpoint")
    row = PendingCredential(
        learner_id=learner.id,
        credential_issuer=deferred.issuer,
        configuration_id=deferred.configuration_id,
        format=deferred.format,
        deferred_endpoint=str(deferred.metadata["deferred_credential_endpoint"]),
        notification_endpoint=notification if isinstance(notification, str) else None,
        secret=b"",
        interval=_interval(answer),
        expires_at=expires_at,
        checked_at=context.clock(),
    )
    row.secret = envelope.encrypt(
        storage.data_key(context, learner),
        learner.id,
        _secret_aad_id(row.id),
        json.dumps(secret).encode(),
    )
    session.add(row)
    session.commit()
    return row


def pending_of(session: Session, learner: Learner) -> Sequence[PendingCredential]:
    query = (
        select(PendingCredential)
        .where(col(PendingCredential.learner_id) == learner.id)
        .order_by(col(PendingCredential.created_at), col(PendingCredential.id))
    )
    return session.exec(query).all()


@dataclass
class Resumed:
    status: Literal["issued", "pending", "failed"]
    pending: PendingCredential
    accepted: Accepted


def resume_pending(
    session: Session, context: WalletContext, learner: Learner, pending_id: str
) -> Resumed:
    """Ask the issuer's deferred endpoint once (§9.1): store the credential when it is issued
    (verified on import, §8.3) and forget the transaction; keep it while it is still pending;
    forget it when the issuer refuses (an unknown transaction, an expired token)."""
    row = session.get(PendingCredential, pending_id)
    if row is None or row.learner_id != learner.id:
        raise NotFound("There is no such pending credential.")
    kept = _detached(row)  # commits below expire the row; answer with this copy
    secret = strict_json.loads(
        envelope.decrypt(
            storage.data_key(context, learner), learner.id, _secret_aad_id(row.id), row.secret
        )
    )
    dpop = private_key_from_jwk(secret["dpop_jwk"]) if secret.get("dpop_jwk") else None
    access = Access(str(secret["access_token"]), dpop)
    http = context.verifier.http
    status, answer = _ask_deferred(
        http, row.deferred_endpoint, access, str(secret["transaction_id"])
    )
    result = Accepted()
    if status == 202:
        row.interval = kept.interval = _interval(answer)
        row.checked_at = kept.checked_at = context.clock()
        session.add(row)
        session.commit()
        return Resumed("pending", kept, result)
    if status == 200 and isinstance(answer, dict):
        metadata = {"notification_endpoint": row.notification_endpoint}
        _store(
            session,
            context,
            learner,
            {"format": row.format},
            answer,
            result,
            http,
            metadata,
            access,
        )
        outcome: Literal["issued", "pending", "failed"] = (
            "issued" if result.credentials else "failed"
        )
    else:
        result.failed.append(
            {
                "configuration": row.configuration_id,
                **_refused(status, answer, "deferred credential request").extra,
            }
        )
        outcome = "failed"
    session.delete(row)
    session.commit()
    return Resumed(outcome, kept, result)


def _detached(row: PendingCredential) -> PendingCredential:
    """A copy to answer with, outside the session and without the encrypted secret."""
    return PendingCredential(**row.model_dump(exclude={"secret"}), secret=b"")


def _store(
    session: Session,
    context: WalletContext,
    learner: Learner,
    configuration: Mapping[str, Any],
    answer: Mapping[str, Any],
    result: Accepted,
    http: GuardedHttp,
    metadata: Mapping[str, Any],
    access: Access,
) -> None:
    """Verify and store each credential (§8.3) exactly as received, then notify (§11)."""
    fmt = str(configuration["format"])
    items = answer.get("credentials")
    stored_all = True
    for item in items if isinstance(items, list) else []:
        credential = item.get("credential") if isinstance(item, Mapping) else None
        raw = (
            json.dumps(credential, ensure_ascii=False)
            if isinstance(credential, dict)
            else credential
        )
        if not isinstance(raw, str):
            stored_all = False
            continue
        try:
            row = storage.import_credential(
                session, context, learner, raw, media_type=MEDIA_TYPES[fmt], source="openid4vci"
            )
            session.commit()
        except WalletError as exc:
            session.rollback()
            stored_all = False
            result.failed.append({"format": fmt, "error": exc.code, "detail": exc.detail})
            continue
        result.credentials.append(row)
    notification_id = answer.get("notification_id")
    endpoint = metadata.get("notification_endpoint")
    if isinstance(notification_id, str) and isinstance(endpoint, str):
        event = "credential_accepted" if stored_all else "credential_failure"
        # A notification is a courtesy (§11): the credentials are stored either way.
        with contextlib.suppress(FetchError):
            post(
                http,
                endpoint,
                json_body={"notification_id": notification_id, "event": event},
                headers=access.headers(endpoint),
            )
