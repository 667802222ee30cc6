"""Credential status, checked honestly: every status entry ends as a named check, never a silent
pass.

Supported mechanisms:

* W3C ``BitstringStatusListEntry`` (Bitstring Status List v1.0), every ``statusPurpose``:
  ``revocation``, ``suspension``, ``refresh`` and ``message`` (``statusSize`` > 1 with
  ``statusMessage``);
* W3C CCG ``StatusList2021Entry`` (the same mechanics; ``StatusList2021Credential``, no multibase
  prefix on ``encodedList``);
* ``1EdTechRevocationList`` (1EdTech Revocation List Status Method 1.0): an unsigned JSON
  document at ``credentialStatus.id`` whose ``revokedCredentials`` name revoked credential ids;
* IETF Token Status List (draft-ietf-oauth-status-list): ``status.status_list {idx, uri}`` in an
  SD-JWT VC, the list fetched as a Status List Token (``application/statuslist+jwt``).

For a W3C list the status list credential is fetched through :class:`~verifier.http.GuardedHttp`,
its proof verified (Data Integrity or ``vc+jwt``), its validity period checked, its issuer must be
the credential's issuer (else ``status_list_issuer_mismatch``), its ``statusPurpose`` must match
the entry, and the index must be inside the list. A list is verified and decoded once per fetched
version (cached by URL and content digest), so checking a cached list is O(1).

Results — :meth:`StatusChecker.check` returns **one** :class:`~verifier.report.Check` with id
``status`` **per status entry** (a credential with a revocation and a suspension entry gets two):

=======================================  ========  =============================================
outcome                                  status    code
=======================================  ========  =============================================
no status entry                          skipped   ``no_status``
bit clear                                passed    ``not_revoked`` / ``not_suspended`` / ...
revoked                                  failed    ``revoked``
suspended                                failed    ``suspended``
``message`` purpose                      passed    ``status_message`` (value 0) — warning else
status cannot be determined              failed*   ``status_unknown``, ``status_list_unreachable``,
                                                   ``status_list_unverified``,
                                                   ``status_list_issuer_mismatch``, ... (the
                                                   typed error's code)
=======================================  ========  =============================================

\\* a ``warning`` instead when :attr:`StatusPolicy.unknown_status_is_warning` is set.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from keys import data_integrity, status_list, vc_jwt
from keys.did import VerificationMethod, resolve_offline, split_did_url
from keys.jwk import PublicKey
from schemas import strict_json
from schemas.errors import TaitoError
from verifier.http import FetchError, GuardedHttp
from verifier.report import Check

__all__ = [
    "StatusChecker",
    "StatusEntryInvalid",
    "StatusError",
    "StatusListIssuerMismatch",
    "StatusListUnverified",
    "StatusPolicy",
    "StatusPurposeMismatch",
    "StatusUnknown",
]

log = logging.getLogger("taito.verifier.status")

MethodResolver = Callable[[str], VerificationMethod]
TokenKeyResolver = Callable[[Mapping[str, Any], "str | None"], PublicKey]
Flavor = Literal["bitstring", "sl2021"]

# Accept headers: what each mechanism publishes.
_ACCEPT_W3C = (
    "application/vc+ld+json, application/vc+jwt;q=0.9, application/vc;q=0.9, "
    "application/ld+json;q=0.8, application/json;q=0.7, application/jwt;q=0.5"
)
_ACCEPT_STATUS_LIST = "application/statuslist+jwt"  # draft-ietf-oauth-status-list §8.1
_ACCEPT_JSON = "application/json"
_MAX_ENTRIES = 16
_LIST_CACHE = 128


class StatusError(TaitoError):
    """Root of the status checker's errors: the status could not be determined."""

    code = "status_unknown"
    title = "Credential status cannot be determined"


class StatusUnknown(StatusError):
    code = "status_unknown"


class StatusEntryInvalid(StatusError):
    code = "status_entry_invalid"
    title = "Malformed status entry"


class StatusListInvalid(StatusError):
    code = "status_list_invalid"
    title = "Malformed status list"


class StatusListUnverified(StatusError):
    code = "status_list_unverified"
    title = "Status list signature does not verify"


class StatusListIssuerMismatch(StatusError):
    code = "status_list_issuer_mismatch"
    title = "Status list issued by someone else"


class StatusPurposeMismatch(StatusError):
    code = "status_purpose_mismatch"
    title = "Status purpose does not match the list"


class StatusListExpired(StatusError):
    code = "status_list_expired"
    title = "Status list outside its validity period"


@dataclass(frozen=True)
class StatusPolicy:
    """What the verifier's operator decides about status checking."""

    unknown_status_is_warning: bool = False
    clock_skew: timedelta = field(default=timedelta(seconds=60))
    max_list_bytes: int = status_list.DEFAULT_MAX_BYTES
    min_list_bytes: int = status_list.MIN_BITSTRING_BYTES


@dataclass(frozen=True)
class _W3cList:
    """A fetched, verified and decoded W3C status list credential."""

    url: str
    issuer: str | None
    purposes: tuple[str, ...]
    valid_from: datetime | None
    valid_until: datetime | None
    data: bytes


@dataclass(frozen=True)
class _TokenList:
    """A fetched and verified Status List Token."""

    status_list: status_list.TokenStatusList
    issuer: str | None
    expires: int | None


# ------------------------------------------------------------------------------------------ helpers


def _parse_time(value: Any, name: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise StatusListInvalid(f"The status list's {name} is not a date-time string.")
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as exc:
        raise StatusListInvalid(f"The status list's {name} is not a date-time.") from exc
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _entity_id(value: Any) -> str | None:
    if isinstance(value, str):
        return value
    if isinstance(value, Mapping) and isinstance(value.get("id"), str):
        return str(value["id"])
    return None


def _types(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [t for t in value if isinstance(t, str)]
    return []


def _list_index(value: Any) -> int:
    # W3C §2.1 statusListIndex: an integer >= 0 expressed as a base-10 string. A JSON number is
    # accepted too (the 1EdTech validator's fixtures use one); anything else is refused.
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) <= 12:
        return int(value)
    raise StatusEntryInvalid("statusListIndex is not a non-negative base-10 integer string.")


def _status_size(value: Any) -> int:
    if value is None:
        return 1
    if isinstance(value, str) and value.isascii() and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 8:
        raise StatusEntryInvalid("statusSize must be an integer from 1 to 8.")
    return value


def _status_messages(entry: Mapping[str, Any], size: int) -> dict[int, str]:
    # W3C §2.1 statusMessage: one {status: "0x..", message} per possible value when statusSize > 1.
    raw = entry.get("statusMessage")
    if raw is None:
        if size > 1:
            raise StatusEntryInvalid("statusSize > 1 requires statusMessage (W3C BSL §2.1).")
        return {}
    if not isinstance(raw, list):
        raise StatusEntryInvalid("statusMessage is an array.")
    messages: dict[int, str] = {}
    for item in raw:
        status = item.get("status") if isinstance(item, Mapping) else None
        message = item.get("message") if isinstance(item, Mapping) else None
        if not isinstance(status, str) or not isinstance(message, str):
            raise StatusEntryInvalid("Each statusMessage has a 'status' and a 'message' string.")
        try:
            messages[int(status, 16)] = message
        except ValueError as exc:
            raise StatusEntryInvalid(f"statusMessage status {status[:20]!r} is not hex.") from exc
    return messages


# -------------------------------------------------------------------------------------- the checker


class StatusChecker:
    """Checks every status entry of a credential; see the module docstring for the results."""

    def __init__(
        self,
        http: GuardedHttp,
        *,
        loader: Callable[..., Any],
        resolve_method: MethodResolver = resolve_offline,
        policy: StatusPolicy | None = None,
        token_key_resolver: TokenKeyResolver | None = None,
    ) -> None:
        self.http = http
        self.loader = loader
        self.resolve_method = resolve_method
        self.policy = policy or StatusPolicy()
        self._token_key_resolver = token_key_resolver
        self._w3c: OrderedDict[tuple[str, str], _W3cList] = OrderedDict()
        self._tokens: OrderedDict[tuple[str, str], _TokenList] = OrderedDict()

    # --- entry point ----------------------------------------------------------------------------

    def check(
        self, credential: Mapping[str, Any], *, issuer_id: str | None, now: datetime
    ) -> list[Check]:
        """One ``status`` check per status entry of ``credential``. Never raises for bad input."""
        if not isinstance(credential, Mapping):
            return [self._unknown(StatusEntryInvalid("The credential is not a JSON object."))]
        if now.tzinfo is None or now.utcoffset() is None:
            raise ValueError("now must be a timezone-aware datetime")  # a caller error
        if "credentialStatus" in credential:
            raw = credential["credentialStatus"]
            entries = raw if isinstance(raw, list) else [raw]
            handler = self._w3c_entry
        elif "status" in credential:
            raw = credential["status"]
            # draft-ietf-oauth-status-list §6.1: "status" holds one member per mechanism.
            entries = (
                [{name: value} for name, value in raw.items()]
                if isinstance(raw, Mapping)
                else [raw]
            )
            handler = self._token_entry
        else:
            entries = []
            handler = self._w3c_entry
        if not entries:
            return [Check("status", "skipped", "no_status", "The credential has no status entry.")]
        if len(entries) > _MAX_ENTRIES:
            return [
                self._unknown(
                    StatusEntryInvalid(
                        f"The credential has {len(entries)} status entries; at most {_MAX_ENTRIES} "
                        "are checked."
                    )
                )
            ]
        checks = []
        for entry in entries:
            try:
                checks.append(handler(entry, credential, issuer_id, now))
            except FetchError as exc:
                checks.append(self._unreachable(exc))
            except TaitoError as exc:
                checks.append(self._unknown(exc))
            except Exception as exc:  # noqa: BLE001 - hostile input never escapes as a crash
                log.warning("status check failed with %s", type(exc).__name__)
                checks.append(
                    self._unknown(
                        StatusUnknown(f"The status could not be checked ({type(exc).__name__}).")
                    )
                )
        return checks

    # --- outcomes -------------------------------------------------------------------------------

    def _unknown(self, error: TaitoError) -> Check:
        status: Literal["failed", "warning"] = (
            "warning" if self.policy.unknown_status_is_warning else "failed"
        )
        return Check(
            "status", status, error.code, f"The credential's status is unknown: {error.detail}"
        )

    def _unreachable(self, error: FetchError) -> Check:
        wrapped = StatusError(
            f"the status list could not be fetched ({error.code}): {error.detail}"
        )
        check = self._unknown(wrapped)
        return Check(check.id, check.status, "status_list_unreachable", check.message)

    # --- W3C Bitstring Status List / StatusList2021 ---------------------------------------------

    def _w3c_entry(
        self, entry: Any, credential: Mapping[str, Any], issuer_id: str | None, now: datetime
    ) -> Check:
        if not isinstance(entry, Mapping):
            raise StatusEntryInvalid("A credentialStatus entry is a JSON object.")
        kinds = _types(entry.get("type"))
        if "BitstringStatusListEntry" in kinds:
            return self._bitstring_entry(entry, issuer_id, now, "bitstring")
        if "StatusList2021Entry" in kinds:
            return self._bitstring_entry(entry, issuer_id, now, "sl2021")
        if "1EdTechRevocationList" in kinds:
            return self._edtech_entry(entry, credential, issuer_id, now)
        name = ", ".join(kinds) or "without a type"
        raise StatusUnknown(f"the status type {name[:100]} is not one this verifier can check.")

    def _bitstring_entry(
        self, entry: Mapping[str, Any], issuer_id: str | None, now: datetime, flavor: Flavor
    ) -> Check:
        # W3C BSL §2.1 BitstringStatusListEntry (StatusList2021 §2.1: the same members).
        purpose = entry.get("statusPurpose")
        url = entry.get("statusListCredential")
        if not isinstance(purpose, str) or not purpose:
            raise StatusEntryInvalid("The status entry has no statusPurpose.")
        if not isinstance(url, str) or not url:
            raise StatusEntryInvalid("The status entry has no statusListCredential URL.")
        index = _list_index(entry.get("statusListIndex"))
        size = _status_size(entry.get("statusSize")) if flavor == "bitstring" else 1
        messages = _status_messages(entry, size) if flavor == "bitstring" else {}

        listed = self._w3c_list(url, now, flavor)
        # W3C BSL §3.3 Validate Algorithm: the list credential must be valid now ...
        skew = self.policy.clock_skew
        if listed.valid_until is not None and now > listed.valid_until + skew:
            raise StatusListExpired(f"the status list expired at {listed.valid_until.isoformat()}.")
        if listed.valid_from is not None and now < listed.valid_from - skew:
            raise StatusListExpired(
                f"the status list is not valid before {listed.valid_from.isoformat()}."
            )
        # ... issued by the credential's issuer (§3.3: "the issuers match") ...
        if issuer_id is None or listed.issuer != issuer_id:
            raise StatusListIssuerMismatch(
                f"the status list is issued by {listed.issuer}, not by the credential's issuer "
                f"{issuer_id}."
            )
        # ... for the entry's purpose (§3.3: STATUS_VERIFICATION_ERROR otherwise).
        if purpose not in listed.purposes:
            raise StatusPurposeMismatch(
                f"the entry's statusPurpose {purpose!r} is not the list's "
                f"({', '.join(listed.purposes)})."
            )
        value = status_list.status_at(status_list.Bitstring(listed.data, size), index, size)
        return self._w3c_outcome(purpose, value, messages, url)

    def _w3c_outcome(
        self, purpose: str, value: int, messages: Mapping[int, str], url: str
    ) -> Check:
        # W3C BSL §2.1 statusPurpose values.
        if purpose == "revocation":
            if value:
                return Check("status", "failed", "revoked", "The issuer revoked this credential.")
            return Check(
                "status",
                "passed",
                "not_revoked",
                "The issuer has not revoked this credential (status list checked).",
            )
        if purpose == "suspension":
            if value:
                return Check(
                    "status", "failed", "suspended", "The issuer has suspended this credential."
                )
            return Check(
                "status",
                "passed",
                "not_suspended",
                "The issuer has not suspended this credential (status list checked).",
            )
        if purpose == "refresh":
            if value:
                return Check(
                    "status",
                    "warning",
                    "refresh_available",
                    "The issuer has a refreshed version of this credential.",
                )
            return Check("status", "passed", "no_refresh", "No refreshed version is announced.")
        if purpose == "message":
            text = messages.get(value, f"status value 0x{value:x}")
            return Check(
                "status",
                "passed" if value == 0 else "warning",
                "status_message",
                f"The issuer's status message: {text}",
            )
        raise StatusUnknown(f"the statusPurpose {purpose[:50]!r} is not one this verifier knows.")

    def _w3c_list(self, url: str, now: datetime, flavor: Flavor) -> _W3cList:
        response = self.http.get(url, accept=_ACCEPT_W3C, now=now)
        key = (response.url, response.digest)
        cached = self._w3c.get(key)
        if cached is not None:
            self._w3c.move_to_end(key)
            return cached
        listed = self._verify_w3c_list(response.url, response.text(), now, flavor)
        self._w3c[key] = listed
        while len(self._w3c) > _LIST_CACHE:
            self._w3c.popitem(last=False)
        return listed

    def _verify_w3c_list(self, url: str, text: str, now: datetime, flavor: Flavor) -> _W3cList:
        body = text.strip()
        if body.startswith("{"):
            document = strict_json.loads(body)
            if not isinstance(document, dict):
                raise StatusListInvalid("The status list credential is not a JSON object.")
            issuer = _entity_id(document.get("issuer"))
            try:
                proofs = data_integrity.verify_proofs(
                    document, resolve_key=self.resolve_method, loader=self.loader, now=now
                )
            except TaitoError as exc:
                raise StatusListUnverified(
                    f"the status list credential's proof does not verify ({exc.code}): {exc.detail}"
                ) from exc
            if issuer is None or issuer not in {p.controller for p in proofs}:
                raise StatusListUnverified(
                    "the status list credential is not signed with a key of its issuer."
                )
        elif body.count(".") == 2:
            document = self._verify_w3c_jwt(body, now)
            issuer = _entity_id(document.get("issuer"))
        else:
            raise StatusListInvalid("The status list is neither a JSON credential nor a JWT.")
        # W3C BSL §2.2 BitstringStatusListCredential / StatusList2021 §2.2.
        wanted = (
            "BitstringStatusListCredential"
            if flavor == "bitstring"
            else ("StatusList2021Credential")
        )
        subject_type = "BitstringStatusList" if flavor == "bitstring" else "StatusList2021"
        if wanted not in _types(document.get("type")):
            raise StatusListInvalid(f"The status list credential's type does not include {wanted}.")
        subject = document.get("credentialSubject")
        if not isinstance(subject, Mapping) or subject_type not in _types(subject.get("type")):
            raise StatusListInvalid(f"The status list's credentialSubject is not a {subject_type}.")
        purposes = tuple(_types(subject.get("statusPurpose")))
        if not purposes:
            raise StatusListInvalid("The status list has no statusPurpose.")
        valid_from = _parse_time(
            document.get("validFrom", document.get("issuanceDate")), "validFrom"
        )
        valid_until = _parse_time(
            document.get("validUntil", document.get("expirationDate")), "validUntil"
        )
        encoded = subject.get("encodedList")
        if not isinstance(encoded, str):
            raise StatusListInvalid("The status list has no encodedList string.")
        bitstring = status_list.decode_bitstring(
            encoded,
            max_bytes=self.policy.max_list_bytes,
            min_bytes=self.policy.min_list_bytes,
            multibase=flavor == "bitstring",
        )
        return _W3cList(url, issuer, purposes, valid_from, valid_until, bitstring.data)

    def _verify_w3c_jwt(self, token: str, now: datetime) -> dict[str, Any]:
        """A ``vc+jwt`` status list credential (VC-JOSE-COSE §3.1.1), its key the issuer's."""

        def resolve(header: Mapping[str, Any], payload: Mapping[str, Any]) -> PublicKey:
            kid = header.get("kid")
            if isinstance(kid, str) and kid.startswith("did:"):
                method = self.resolve_method(kid)
                claimed = payload.get("iss", _entity_id(payload.get("issuer")))
                if not isinstance(claimed, str) or split_did_url(kid)[0] != claimed:
                    raise StatusListUnverified("the JWT's kid is not a key of its issuer.")
                return method.public_key
            return vc_jwt.resolve_offline_jwt_key(header, payload)

        try:
            result = vc_jwt.verify_jwt_credential(
                token, resolve_key=resolve, now=now, leeway=self.policy.clock_skew
            )
        except StatusError:
            raise
        except TaitoError as exc:
            raise StatusListUnverified(
                f"the status list JWT does not verify ({exc.code}): {exc.detail}"
            ) from exc
        return result.credential

    # --- 1EdTech Revocation List ----------------------------------------------------------------

    def _edtech_entry(
        self,
        entry: Mapping[str, Any],
        credential: Mapping[str, Any],
        issuer_id: str | None,
        now: datetime,
    ) -> Check:
        # 1EdTech Revocation List Status Method 1.0: GET credentialStatus.id returns a
        # RevocationList {id, issuer, revokedCredentials: [{id, revocationReason?}]}.
        url = entry.get("id")
        if not isinstance(url, str) or not url:
            raise StatusEntryInvalid("The 1EdTechRevocationList entry has no id URL.")
        credential_id = credential.get("id")
        if not isinstance(credential_id, str) or not credential_id:
            raise StatusEntryInvalid(
                "The credential has no id, so a revocation list cannot name it."
            )
        response = self.http.get(url, accept=_ACCEPT_JSON, now=now)
        document = strict_json.loads(response.content)
        if not isinstance(document, Mapping):
            raise StatusListInvalid("The revocation list is not a JSON object.")
        revoked = document.get("revokedCredentials")
        if not isinstance(revoked, list):
            raise StatusListInvalid("The revocation list has no revokedCredentials array.")
        list_issuer = _entity_id(document.get("issuer"))
        if list_issuer is not None and list_issuer != issuer_id:
            raise StatusListIssuerMismatch(
                f"the revocation list is published by {list_issuer}, not by the credential's "
                f"issuer {issuer_id}."
            )
        for item in revoked:
            item_id = _entity_id(item)
            if item_id is None:
                raise StatusListInvalid("A revokedCredentials item has no id.")
            if item_id == credential_id:
                reason = item.get("revocationReason") if isinstance(item, Mapping) else None
                suffix = f" Reason: {reason[:200]}" if isinstance(reason, str) and reason else ""
                return Check(
                    "status", "failed", "revoked", f"The issuer revoked this credential.{suffix}"
                )
        return Check(
            "status",
            "passed",
            "not_revoked",
            "The issuer's revocation list does not name this credential (the 1EdTech list is "
            "unsigned: it is trusted as far as the connection to its URL is).",
        )

    # --- IETF Token Status List -----------------------------------------------------------------

    def _token_entry(
        self, entry: Any, credential: Mapping[str, Any], issuer_id: str | None, now: datetime
    ) -> Check:
        if not isinstance(entry, Mapping) or len(entry) != 1:
            raise StatusEntryInvalid("The 'status' claim is not a JSON object (draft §6.1).")
        ((mechanism, reference),) = entry.items()
        if mechanism != "status_list":
            raise StatusUnknown(f"the status mechanism {str(mechanism)[:50]!r} is not supported.")
        # draft-ietf-oauth-status-list §6.1: status_list {idx, uri}.
        if not isinstance(reference, Mapping):
            raise StatusEntryInvalid("'status_list' is not a JSON object (draft §6.1).")
        index, uri = reference.get("idx"), reference.get("uri")
        if isinstance(index, bool) or not isinstance(index, int) or index < 0:
            raise StatusEntryInvalid("'idx' is not a non-negative integer (draft §6.1).")
        if not isinstance(uri, str) or not uri:
            raise StatusEntryInvalid("'uri' is not a string (draft §6.1).")
        listed = self._token_list(uri, issuer_id, now)
        if listed.expires is not None and now.timestamp() >= listed.expires + (
            self.policy.clock_skew.total_seconds()
        ):
            raise StatusListExpired("the Status List Token has expired (draft §8.3).")
        if listed.issuer is not None and listed.issuer != issuer_id:
            raise StatusListIssuerMismatch(
                f"the Status List Token is issued by {listed.issuer}, not by {issuer_id}."
            )
        value = status_list.token_status_at(listed.status_list, index)
        # draft §7.1 Status Types: 0 VALID, 1 INVALID, 2 SUSPENDED, 3 and 0x0C-0x0F application
        # specific; the rest are reserved.
        if value == 0:
            return Check(
                "status",
                "passed",
                "not_revoked",
                "The issuer's status list marks this credential as valid.",
            )
        if value == 1:
            return Check("status", "failed", "revoked", "The issuer revoked this credential.")
        if value == 2:
            return Check(
                "status", "failed", "suspended", "The issuer has suspended this credential."
            )
        if value == 3 or 0x0C <= value <= 0x0F:
            return Check(
                "status",
                "warning",
                "status_application_specific",
                f"The issuer set an application-specific status (0x{value:02x}).",
            )
        raise StatusUnknown(f"the status value 0x{value:02x} is reserved (draft §7.1).")

    def _token_list(self, uri: str, issuer_id: str | None, now: datetime) -> _TokenList:
        response = self.http.get(uri, accept=_ACCEPT_STATUS_LIST, now=now)
        key = (uri, response.digest)
        cached = self._tokens.get(key)
        if cached is not None:
            self._tokens.move_to_end(key)
            return cached
        try:
            token = status_list.verify_status_list_token(
                response.text().strip(),
                resolve_key=lambda header: self._token_key(header, issuer_id),
                now=now,
                expected_uri=uri,
                leeway=self.policy.clock_skew,
                max_bytes=self.policy.max_list_bytes,
            )
        except StatusError:
            raise
        except status_list.StatusListError:
            raise
        except TaitoError as exc:
            raise StatusListUnverified(
                f"the Status List Token does not verify ({exc.code}): {exc.detail}"
            ) from exc
        iss = token.claims.get("iss")
        exp = token.claims.get("exp")
        listed = _TokenList(
            token.status_list,
            iss if isinstance(iss, str) else None,
            int(exp) if isinstance(exp, int | float) and not isinstance(exp, bool) else None,
        )
        self._tokens[key] = listed
        while len(self._tokens) > _LIST_CACHE:
            self._tokens.popitem(last=False)
        return listed

    def _token_key(self, header: Mapping[str, Any], issuer_id: str | None) -> PublicKey:
        """The Status List Token's key: the referenced token's issuer's (draft §8.3)."""
        if self._token_key_resolver is not None:
            return self._token_key_resolver(header, issuer_id)
        if issuer_id is None or not issuer_id.startswith("did:"):
            raise StatusListUnverified(
                "the credential's issuer is not a DID, so the Status List Token's key cannot be "
                "resolved (give the checker a token_key_resolver)."
            )
        issuer_did = split_did_url(issuer_id)[0]
        kid = header.get("kid")
        if isinstance(kid, str) and kid.startswith("did:"):
            method = self.resolve_method(kid)
        elif isinstance(kid, str) and kid:
            method = self.resolve_method(f"{issuer_did}#{kid.removeprefix('#')}")
        else:
            method = self.resolve_method(issuer_did)
        if method.controller != issuer_did:
            raise StatusListIssuerMismatch(
                f"the Status List Token is signed by {method.controller}, not by {issuer_did}."
            )
        return method.public_key
