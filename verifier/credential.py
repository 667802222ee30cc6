"""``verify_credential``: one entry point for every credential and presentation format.

Input is detected by shape (JSON with ``proof``, compact JWS, SD-JWT with ``~``); the result is a
:class:`~verifier.report.VerificationReport` of named checks. Bad input never raises: it becomes a
failed check with a code. Only caller errors (a wrong option) raise.

Time, key resolution and the JSON-LD document loader are parameters (STYLE.md).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Any

from keys import data_integrity, jades, jose, sd_jwt, vc_jwt
from keys.did import VerificationMethod, resolve_offline
from keys.jwk import PublicKey
from schemas import baking, credential_schemas, json_schemas, strict_json, vcdm
from schemas.clr import validate_clr
from schemas.errors import TaitoError, ValidationFailed
from schemas.open_badges import OB_CONTEXT_PREFIX, validate_open_badge
from verifier.certificates import CertificateStatusChecker
from verifier.report import Check, VerificationReport
from verifier.status import StatusChecker

log = logging.getLogger("taito.verifier")

MAX_INPUT_BYTES = 1024 * 1024
KeyResolver = Callable[[str], VerificationMethod]
JwtKeyResolver = Callable[[Mapping[str, Any], Mapping[str, Any]], PublicKey]

# Which check a typed error from the primitives belongs to.
_HOLDER_CODES = {
    "nonce_mismatch",
    "audience_mismatch",
    "sd_hash_mismatch",
    "key_binding_required",
    "key_binding_time",
    "invalid_kb_typ",
    "invalid_kb_signature",
    "malformed_key_binding",
    "missing_confirmation_key",
    "key_binding_error",
}
_VALIDITY_CODES = {
    "jwt_expired",
    "jwt_not_yet_valid",
    "expired",
    "not_yet_valid",
    "issued_in_future",
}
_ISSUER_KEY_CODES = {
    "did_resolution",
    "issuer_key_unresolved",
    "unresolvable_key",
    "verification_method",
}


@dataclass(frozen=True)
class VerifyOptions:
    """What the caller decides: the clock, how keys are found, what a presentation must carry."""

    now: datetime
    loader: Callable[..., Any]
    resolve_method: KeyResolver = resolve_offline
    issuer_key: PublicKey | None = None  # JWT / SD-JWT issuer key given out of band
    challenge: str | None = None
    domain: str | None = None
    nonce: str | None = None
    audience: str | None = None
    require_key_binding: bool = False
    clock_skew: timedelta = field(default=timedelta(seconds=60))
    jwt_key_resolver: JwtKeyResolver | None = None  # online issuer keys (did:web); else offline
    status_checker: StatusChecker | None = None  # None: status is reported as not checked
    # CRLs of a seal's certificate chain; None: certificate revocation is reported as not checked
    certificate_status: CertificateStatusChecker | None = None
    trusted_issuers: frozenset[str] | None = None  # DIDs / URLs; None: no registry configured
    untrusted_is_failure: bool = False  # policy: an issuer outside the registry fails
    trust_anchors: tuple[Any, ...] = ()  # X.509 anchors for JAdES-sealed (Europass) credentials
    accepted_formats: frozenset[str] | None = None  # e.g. {"ldp_vc", "jwt_vc"}; None: every format
    algorithms: tuple[str, ...] = ("EdDSA", "ES256", "RS256")  # JOSE algorithms accepted
    cryptosuites: tuple[str, ...] | None = None  # Data Integrity suites accepted; None: all known
    # credentialSchema (VC 2.0 §4.11): URL -> JSON Schema from a trusted source, None if it has none
    credential_schemas: Callable[[str], Mapping[str, Any] | None] | None = None


# What verify_credential can report as ``format`` (an accepted_formats policy names these).
FORMATS = frozenset(
    {"ldp_vc", "ldp_vp", "jwt_vc", "jwt_vp", "dc+sd-jwt", "jades", "baked-png", "baked-svg"}
)


def _jwt_key_resolver(options: VerifyOptions, offline: JwtKeyResolver) -> JwtKeyResolver:
    if options.issuer_key is not None:
        key = options.issuer_key
        return lambda _header, _payload: key
    return options.jwt_key_resolver or offline


def _check_for(error: TaitoError, default: str) -> str:
    if error.code in _HOLDER_CODES or error.code.startswith("kb_"):
        return "holder_binding"
    if error.code in _VALIDITY_CODES:
        return "validity_period"
    if error.code in _ISSUER_KEY_CODES:
        return "issuer_key"
    return default


def issuer_id(document: Mapping[str, Any]) -> str | None:
    issuer = document.get("issuer")
    if isinstance(issuer, str):
        return issuer
    if isinstance(issuer, Mapping) and isinstance(issuer.get("id"), str):
        return str(issuer["id"])
    return None


def _summaries(report: VerificationReport, document: Mapping[str, Any]) -> None:
    issuer = document.get("issuer")
    report.issuer = {"id": issuer_id(document)}
    if isinstance(issuer, Mapping) and "name" in issuer:
        report.issuer["name"] = issuer["name"]
    subject = document.get("credentialSubject")
    if isinstance(subject, list) and subject:
        subject = subject[0]
    if isinstance(subject, Mapping):
        summary: dict[str, Any] = {"id": subject.get("id")}
        achievement = subject.get("achievement")
        if isinstance(achievement, Mapping):
            summary["achievement"] = {"id": achievement.get("id"), "name": achievement.get("name")}
        report.subject = summary


def _parse_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def check_validity_period(
    report: VerificationReport, document: Mapping[str, Any], options: VerifyOptions
) -> None:
    """VC 2.0 §4.9 validFrom / validUntil (VC 1.1: issuanceDate / expirationDate)."""
    start_field = "validFrom" if "validFrom" in document else "issuanceDate"
    end_field = "validUntil" if "validUntil" in document else "expirationDate"
    start, end = document.get(start_field), document.get(end_field)
    start_at, end_at = _parse_time(start), _parse_time(end)
    if (start is not None and start_at is None) or (end is not None and end_at is None):
        report.failed(
            "validity_period",
            "invalid_date",
            "The credential's validity dates are not valid date-times.",
        )
        return
    if start_at is not None and start_at > options.now + options.clock_skew:
        report.failed(
            "validity_period",
            "not_yet_valid",
            f"The credential is not valid before {start_at.date().isoformat()}.",
        )
        return
    if end_at is not None and end_at < options.now - options.clock_skew:
        report.failed(
            "validity_period", "expired", f"The credential expired on {end_at.date().isoformat()}."
        )
        return
    if end_at is not None:
        report.passed(
            "validity_period", f"The credential is valid until {end_at.date().isoformat()}."
        )
    else:
        report.passed("validity_period", "The credential is valid and has no expiry date.")


def _check_status(
    report: VerificationReport,
    document: Mapping[str, Any],
    options: VerifyOptions,
    issuer: str | None,
) -> None:
    """Every status entry is checked by the checker; without one, say so (never a silent pass)."""
    if options.status_checker is not None:
        report.checks.extend(
            options.status_checker.check(document, issuer_id=issuer, now=options.now)
        )
        return
    status = document.get("credentialStatus", document.get("status"))
    if status is None:
        report.add("status", "skipped", "no_status", "The credential has no status entry to check.")
        return
    entries = status if isinstance(status, list) else [status]
    kinds = sorted({str(e.get("type", "status_list")) for e in entries if isinstance(e, Mapping)})
    report.add(
        "status",
        "warning",
        "status_not_checked",
        f"The credential has a status entry ({', '.join(kinds) or 'unknown'}) "
        "that this verification did not check.",
    )


def check_trust(report: VerificationReport, issuer: str | None, options: VerifyOptions) -> None:
    """The verifier's trusted-issuer registry: a DID (any method URL of it) or an https origin."""
    if options.trusted_issuers is None:
        report.add(
            "issuer_trust",
            "skipped",
            "no_trust_registry",
            "No trusted-issuer list is configured, so the issuer's standing was not checked.",
        )
        return
    candidates = {issuer} if issuer else set()
    if issuer and issuer.startswith("did:"):
        candidates.add(issuer.split("#", 1)[0])
    elif issuer and "://" in issuer:
        scheme, rest = issuer.split("://", 1)
        candidates.add(f"{scheme}://{rest.split('/', 1)[0]}")
    if candidates & options.trusted_issuers:
        report.passed("issuer_trust", "This issuer is in your trusted list.", code="trusted")
    else:
        report.add(
            "issuer_trust",
            "failed" if options.untrusted_is_failure else "warning",
            "issuer_not_trusted",
            "This issuer is not in your trusted list.",
        )


def _check_members(
    report: VerificationReport, document: Mapping[str, Any], options: VerifyOptions
) -> None:
    """CLR 2.0: every credential the record carries is verified on its own (check ``nested``)."""
    subject = document.get("credentialSubject")
    members = subject.get("verifiableCredential") if isinstance(subject, Mapping) else None
    if not isinstance(members, list) or not members:
        return
    report.nested = [verify_credential(member, options) for member in members]
    failed = sum(not n.verified for n in report.nested)
    if failed:
        report.failed(
            "nested",
            "nested_failed",
            f"{failed} of {len(members)} credentials in this record did not verify.",
        )
    else:
        report.passed("nested", f"All {len(members)} credentials in this record verify.")


def _has_open_badges_context(document: Mapping[str, Any]) -> bool:
    contexts = document.get("@context")
    listed = contexts if isinstance(contexts, list) else [contexts]
    return any(isinstance(c, str) and c.startswith(OB_CONTEXT_PREFIX) for c in listed)


def _declared_schemas(
    document: Mapping[str, Any], options: VerifyOptions
) -> tuple[list[str], tuple[str, str] | None, list[str]]:
    """Apply the JSON Schemas a credential names in ``credentialSchema`` (VC 2.0 §4.11).

    Returns (schemas checked, (schema, first error) of a mismatch, schemas not checked).
    """
    declared = document.get("credentialSchema")
    entries = declared if isinstance(declared, list) else [declared] if declared else []
    checked: list[str] = []
    unchecked: list[str] = []
    for entry in entries:
        url = entry.get("id") if isinstance(entry, Mapping) else None
        kind = entry.get("type") if isinstance(entry, Mapping) else None
        if not isinstance(url, str):
            continue  # the structural check has already refused an entry without an id
        schema = None
        if (
            kind in credential_schemas.JSON_SCHEMA_TYPES
            and options.credential_schemas is not None
            and credential_schemas.applies(url, document)
        ):
            schema = options.credential_schemas(url)
        if schema is None:
            unchecked.append(url)
            continue
        subject = document
        if kind == "1EdTechJsonSchemaValidator2019":
            subject = credential_schemas.for_1edtech_validator(document)
        try:
            errors = json_schemas.schema_errors(subject, schema)
        except TaitoError:  # the schema itself is unusable (invalid, unresolvable $ref)
            unchecked.append(url)
            continue
        if errors:
            first = errors[0]
            return checked, (url, f"{first['path'] or 'document'}: {first['message']}"), unchecked
        checked.append(url)
    return checked, None, unchecked


def _check_schema(
    report: VerificationReport,
    document: Any,
    options: VerifyOptions,
    *,
    presentation: bool = False,
) -> bool:
    types = document.get("type") if isinstance(document, Mapping) else None
    # Only the strings: a hostile `type` may hold objects (unhashable), refused by the model below.
    type_list = [t for t in (types if isinstance(types, list) else [types]) if isinstance(t, str)]
    try:
        if presentation:
            vcdm.check_presentation(document)
            what = "the Verifiable Credentials data model"
        elif "ClrCredential" in type_list:
            validate_clr(document)  # CLR 2.0 structure, and the VC data model
            what = "CLR 2.0"
        elif {"OpenBadgeCredential", "AchievementCredential", "EndorsementCredential"} & set(
            type_list
        ) or _has_open_badges_context(document):
            # an Open Badges 3.0 context with no Open Badges type is an invalid badge (OB 3.0
            # §8.1: the type includes OpenBadgeCredential or AchievementCredential)
            validate_open_badge(document)  # OB 3.0 structure, and the VC data model
            what = "Open Badges 3.0"
        else:
            vcdm.check_credential(document)
            what = "the Verifiable Credentials data model"
    except ValidationFailed as exc:
        errors = exc.extra.get("errors") or []
        where = f" ({errors[0]['path']}: {errors[0]['message']})" if errors else ""
        report.failed("schema", "invalid_structure", f"{exc.detail}{where}"[:500])
        return False
    except TaitoError as exc:
        report.failed("schema", exc.code, exc.detail)
        return False
    checked, mismatch, unchecked = _declared_schemas(document, options)
    if mismatch is not None:
        url, error = mismatch
        report.failed(
            "schema",
            "credential_schema_mismatch",
            f"The credential does not match the schema it names ({url}): {error}"[:500],
        )
        return False
    message = f"The document has the structure {what} requires"
    if checked:
        message += f" and matches the JSON Schema it names ({', '.join(checked)})"
    if unchecked:
        report.add(
            "schema",
            "warning",
            "credential_schema_unchecked",
            f"{message}; the schema it names ({', '.join(unchecked)}) was not checked: this verifier "
            "holds no trusted copy of it that applies to this credential.",
        )
    else:
        report.passed("schema", f"{message}.")
    return True


def _failure(report: VerificationReport, default_check: str, exc: Exception) -> None:
    if isinstance(exc, TaitoError):
        report.failed(_check_for(exc, default_check), exc.code, exc.detail)
    else:  # a library raised something untyped on hostile input: still a verdict, not a crash
        log.warning("verification failed with %s", type(exc).__name__)
        report.failed(
            default_check,
            "malformed_input",
            f"The input could not be processed ({type(exc).__name__}).",
        )


def _verify_data_integrity(
    document: Mapping[str, Any], options: VerifyOptions
) -> VerificationReport:
    types = document.get("type")
    type_list = types if isinstance(types, list) else [types]
    if "VerifiablePresentation" in type_list:
        return _verify_di_presentation(document, options)
    report = VerificationReport(format="ldp_vc", document=document)
    report.passed("format", "A JSON-LD credential secured with Data Integrity proofs.")
    _summaries(report, document)
    if not _check_schema(report, document, options):
        return report
    try:
        proofs = data_integrity.verify_proofs(
            document,
            resolve_key=options.resolve_method,
            loader=options.loader,
            now=options.now,
            cryptosuites=options.cryptosuites,
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes a check
        _failure(report, "proof", exc)
        if report.check("issuer_key") is None:
            report.add(
                "issuer_key",
                "skipped",
                "proof_failed",
                "The issuer's key was not checked because the proof did not verify.",
            )
        check_validity_period(report, document, options)
        _check_status(report, document, options, issuer_id(document))
        return report
    suites = ", ".join(sorted({p.cryptosuite for p in proofs}))
    report.passed(
        "proof", f"The proof ({suites}) is valid: the credential is unchanged since signing."
    )
    issuer = issuer_id(document)
    controllers = {p.controller for p in proofs}
    if issuer in controllers:
        report.passed("issuer_key", f"Signed with a key of the issuer {issuer}.")
    else:
        report.failed(
            "issuer_key",
            "issuer_key_mismatch",
            f"The proof was made with a key of {', '.join(sorted(controllers))}, "
            f"not of the issuer {issuer}.",
        )
    check_trust(report, issuer, options)
    check_validity_period(report, document, options)
    _check_status(report, document, options, issuer_id(document))
    if "ClrCredential" in type_list:
        _check_members(report, document, options)
    return report


def _verify_di_presentation(
    document: Mapping[str, Any], options: VerifyOptions
) -> VerificationReport:
    report = VerificationReport(format="ldp_vp", document=document)
    report.passed("format", "A JSON-LD presentation secured with a Data Integrity proof.")
    if not _check_schema(report, document, options, presentation=True):
        return report
    try:
        proofs = data_integrity.verify_proofs(
            document,
            resolve_key=options.resolve_method,
            loader=options.loader,
            now=options.now,
            expected_purpose="authentication",
            challenge=options.challenge,
            domain=options.domain,
            cryptosuites=options.cryptosuites,
        )
    except Exception as exc:  # noqa: BLE001
        _failure(report, "presentation_proof", exc)
        proofs = []
    else:
        report.passed("presentation_proof", "The presentation's proof is valid.")
    holder = document.get("holder")
    holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
    if proofs:
        controllers = {p.controller for p in proofs}
        if holder_id is None or holder_id in controllers:
            report.passed(
                "holder_binding",
                f"The presentation was signed by its holder {holder_id or next(iter(controllers))}.",
            )
        else:
            report.failed(
                "holder_binding",
                "holder_mismatch",
                f"The presentation names {holder_id} as holder but was signed by "
                f"{', '.join(sorted(controllers))}.",
            )
    credentials = document.get("verifiableCredential", [])
    for item in credentials if isinstance(credentials, list) else [credentials]:
        report.nested.append(verify_credential(item, _for_members(options)))
    if report.nested:
        failed = sum(not n.verified for n in report.nested)
        if failed:
            report.failed(
                "nested",
                "nested_failed",
                f"{failed} of {len(report.nested)} credentials in the presentation did not verify.",
            )
        else:
            report.passed(
                "nested", f"All {len(report.nested)} credentials in the presentation verify."
            )
    return report


def _verify_jwt(token: str, options: VerifyOptions) -> VerificationReport:
    report = VerificationReport(format="jwt_vc")
    try:
        result = vc_jwt.verify_jwt_credential(
            token,
            resolve_key=_jwt_key_resolver(options, vc_jwt.resolve_offline_jwt_key),
            now=options.now,
            leeway=options.clock_skew,
            audience=options.audience,
            nonce=options.nonce,
            algorithms=options.algorithms,
        )
    except Exception as exc:  # noqa: BLE001
        report.add("format", "passed", "ok", "A JSON Web Token.")
        _failure(report, "proof", exc)
        return report
    report.format = {"vp+jwt": "jwt_vp"}.get(result.profile, "jwt_vc")
    report.document = result.credential
    report.passed("format", f"A JWT-secured credential ({result.profile}).")
    if result.profile == "vc11-jwt":
        report.notes.append(
            "Legacy VC Data Model 1.1 JWT: claims were mapped to the credential (VC 1.1 §6.3.1)."
        )
    if result.profile == "vp+jwt":
        return _jwt_presentation(report, result.credential, result.header, options)
    _summaries(report, result.credential)
    _check_schema(report, result.credential, options)
    report.passed("proof", f"The JWT signature ({result.header.get('alg')}) is valid.")
    report.passed("issuer_key", f"Signed with a key of the issuer {issuer_id(result.credential)}.")
    check_trust(report, issuer_id(result.credential), options)
    check_validity_period(report, result.credential, options)
    _check_status(report, result.credential, options, issuer_id(result.credential))
    return report


ENVELOPED_PREFIXES = (
    "data:application/vc+jwt,",
    "data:application/vc+sd-jwt,",
    "data:application/dc+sd-jwt,",
)


def _for_members(options: VerifyOptions) -> VerifyOptions:
    """Challenge, domain, nonce and audience bind the presentation, not the credentials in it."""
    return replace(
        options, challenge=None, domain=None, nonce=None, audience=None, require_key_binding=False
    )


def _jwt_presentation(
    report: VerificationReport,
    presentation: Mapping[str, Any],
    header: Mapping[str, Any],
    options: VerifyOptions,
) -> VerificationReport:
    """A ``vp+jwt`` (VC-JOSE-COSE §3.1.2): its proof, its holder, then each credential it carries
    (a JSON credential, a JWT string, or an EnvelopedVerifiableCredential data: URL, §3.2)."""
    _check_schema(report, presentation, options, presentation=True)
    report.passed(
        "presentation_proof", f"The presentation's JWT signature ({header.get('alg')}) is valid."
    )
    holder = presentation.get("holder")
    holder_id = holder.get("id") if isinstance(holder, Mapping) else holder
    kid = header.get("kid")
    signer_did = kid.split("#", 1)[0] if isinstance(kid, str) else None
    if holder_id is None or holder_id == signer_did:
        report.passed(
            "holder_binding",
            f"The presentation was signed by its holder {holder_id or signer_did}.",
        )
    else:
        report.failed(
            "holder_binding",
            "holder_mismatch",
            f"The presentation names {holder_id} as holder but was signed by {signer_did}.",
        )
    items = presentation.get("verifiableCredential", [])
    for item in items if isinstance(items, list) else [items]:
        if (
            isinstance(item, Mapping)
            and isinstance(item.get("id"), str)
            and item["id"].startswith(ENVELOPED_PREFIXES)
        ):
            item = item["id"].split(",", 1)[1]
        report.nested.append(verify_credential(item, _for_members(options)))
    if report.nested:
        failed = sum(not n.verified for n in report.nested)
        if failed:
            report.failed(
                "nested",
                "nested_failed",
                f"{failed} of {len(report.nested)} credentials in the presentation did not verify.",
            )
        else:
            report.passed(
                "nested", f"All {len(report.nested)} credentials in the presentation verify."
            )
    return report


def _verify_sd_jwt(token: str, options: VerifyOptions) -> VerificationReport:
    report = VerificationReport(format="dc+sd-jwt")
    report.passed("format", "An SD-JWT verifiable credential.")
    try:
        result = sd_jwt.verify(
            token,
            resolve_issuer_key=_jwt_key_resolver(options, sd_jwt.resolve_offline_issuer_key),
            now=options.now,
            expected_nonce=options.nonce,
            expected_audience=options.audience,
            require_key_binding=options.require_key_binding,
            leeway=options.clock_skew,
            algorithms=options.algorithms,
        )
    except Exception as exc:  # noqa: BLE001
        _failure(report, "proof", exc)
        return report
    claims = result.claims
    report.document = claims
    report.issuer = {"id": claims.get("iss")}
    report.subject = {"id": claims.get("sub"), "vct": claims.get("vct")}
    report.passed("proof", "The issuer's signature and every disclosure are valid.")
    report.passed("issuer_key", f"Signed with a key of the issuer {claims.get('iss')}.")
    check_trust(report, claims.get("iss"), options)
    report.passed("validity_period", "The credential is within its validity period.")
    if result.key_bound:
        report.passed("holder_binding", "The presentation is bound to the holder's key (KB-JWT).")
    else:
        report.add(
            "holder_binding",
            "skipped",
            "no_key_binding",
            "The presentation carries no key binding.",
        )
    _check_status(report, claims, options, claims.get("iss"))
    return report


def _is_jades(token: str) -> bool:
    try:
        header = jose.decode_unverified(token).header
    except TaitoError:
        return False
    return "x5c" in header and ("sigT" in header or ("iat" in header and "x5t#S256" in header))


def _verify_sealed(token: str, options: VerifyOptions) -> VerificationReport:
    """A JAdES-sealed Europass credential (ETSI TS 119 182-1 baseline-B; ELM 3.2 payload)."""
    report = VerificationReport(format="jades")
    report.passed("format", "A credential sealed with a JAdES electronic seal (Europass).")
    try:
        decoded = jades.read_seal(token)
        jades.verify_signature(decoded)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a check
        _failure(report, "proof", exc)
        return report
    report.passed(
        "proof", "The seal's signature is valid: the credential is unchanged since sealing."
    )
    try:
        document = strict_json.loads(decoded.payload)
    except TaitoError as exc:
        report.failed(
            "schema", exc.code, f"The sealed payload is not a JSON credential: {exc.detail}"
        )
        return report
    if not isinstance(document, Mapping) or "EuropeanDigitalCredential" not in (
        document.get("type") or []
    ):
        report.failed(
            "schema", "not_elm", "The sealed payload is not a European Digital Credential."
        )
        return report
    report.document = document
    report.passed("schema", "The payload is a European Digital Credential (ELM).")
    _summaries(report, document)
    subject = decoded.chain[0].subject.rfc4514_string()
    if not options.trust_anchors:
        report.add(
            "issuer_key",
            "warning",
            "no_trust_anchors",
            f"Sealed by {subject}, but no trust anchors are configured to check its certificate.",
        )
    else:
        try:
            seal = jades.verify_seal(token, anchors=list(options.trust_anchors), now=options.now)
        except Exception as exc:  # noqa: BLE001
            report.failed(
                "issuer_key",
                getattr(exc, "code", "certificate_chain"),
                f"The seal certificate of {subject} is not trusted: {getattr(exc, 'detail', exc)}",
            )
        else:
            certified = f"Sealed by {subject}, certified by a trusted anchor"
            if options.certificate_status is None:
                report.passed("issuer_key", f"{certified} (revocation not checked).")
            else:
                # one issuer_key verdict: the chain, then the CRLs of its certificates
                revocation = options.certificate_status.check(seal.chain, now=options.now)
                report.add(
                    "issuer_key",
                    revocation.status,
                    revocation.code,
                    f"{certified}. {revocation.message}",
                )
    check_trust(report, issuer_id(document), options)
    check_validity_period(report, document, options)
    _check_status(report, document, options, issuer_id(document))
    return report


def _is_open_badges_2(document: Mapping[str, Any]) -> bool:
    context = document.get("@context")
    contexts = context if isinstance(context, list) else [context]
    return "https://w3id.org/openbadges/v2" in contexts or document.get("type") == "Assertion"


def _verify_baked(image: Any, kind: str, options: VerifyOptions) -> VerificationReport:
    """OB 3.0 §5.3: extract the credential from a baked badge, then verify it."""
    try:
        text = baking.unbake_png(image) if kind == "png" else baking.unbake_svg(image)
    except TaitoError as exc:
        report = VerificationReport(format=f"baked-{kind}")
        report.failed(
            "format",
            exc.code,
            f"The {kind.upper()} image carries no credential Taito can read: {exc.detail}",
        )
        return report
    report = verify_credential(text, options)
    report.notes.insert(0, f"The credential was extracted from a baked {kind.upper()} badge.")
    return report


def detect(data: Any) -> tuple[str, Any]:
    """Return ``(kind, parsed)``: kind is ``json``, ``jwt``, ``sd-jwt`` or ``unknown``."""
    if isinstance(data, Mapping):
        return "json", data
    if isinstance(data, bytes) and data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", data
    if isinstance(data, bytes):
        if len(data) > MAX_INPUT_BYTES:
            raise strict_json.MalformedJson(f"The input is larger than {MAX_INPUT_BYTES} bytes.")
        try:
            data = data.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise strict_json.MalformedJson("The input is not UTF-8 text.") from exc
    if isinstance(data, bytes) and data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png", data
    if not isinstance(data, str):
        return "unknown", data
    text = data.strip()
    if text.startswith("<") and "<svg" in text[:4096]:
        return "svg", text
    if text.startswith("{"):
        return "json", strict_json.loads(text, max_bytes=MAX_INPUT_BYTES)
    if "~" in text:
        return "sd-jwt", text
    if text.count(".") == 2:
        return "jwt", text
    return "unknown", text


def verify_credential(data: Any, options: VerifyOptions) -> VerificationReport:
    """Verify any supported credential or presentation. Never raises for bad input."""
    report = _verify_any(data, options)
    accepted = options.accepted_formats
    if accepted is not None and report.format is not None and report.format not in accepted:
        refused = Check(
            "format",
            "failed",
            "format_not_accepted",
            f"This verifier does not accept {report.format} credentials.",
        )
        report.checks = [refused, *(c for c in report.checks if c.id != "format")]
    return report


def _verify_any(data: Any, options: VerifyOptions) -> VerificationReport:
    try:
        kind, parsed = detect(data)
    except TaitoError as exc:
        report = VerificationReport()
        report.failed("format", exc.code, exc.detail)
        return report
    if kind == "json":
        if not isinstance(parsed, Mapping):
            report = VerificationReport()
            report.failed("format", "unsupported_format", "The JSON input is not an object.")
            return report
        if _is_open_badges_2(parsed):
            report = VerificationReport(format="openbadges-2.0", document=parsed)
            report.failed(
                "format",
                "unsupported_format",
                "This is an Open Badges 2.0 assertion, not a verifiable credential: it has no "
                "signature to check here. Ask the issuer for an Open Badges 3.0 credential.",
            )
            return report
        if "proof" not in parsed:
            report = VerificationReport(document=parsed)
            report.failed(
                "format",
                "unsecured",
                "The credential has no proof: nothing shows who issued it or that it is unchanged.",
            )
            return report
        return _verify_data_integrity(parsed, options)
    if kind in ("png", "svg"):
        return _verify_baked(parsed, kind, options)
    if kind == "jwt" and _is_jades(parsed):
        return _verify_sealed(parsed, options)
    if kind == "jwt":
        return _verify_jwt(parsed, options)
    if kind == "sd-jwt":
        return _verify_sd_jwt(parsed, options)
    report = VerificationReport()
    report.failed(
        "format",
        "unsupported_format",
        "The input is not a credential format this verifier reads (JSON-LD, JWT or SD-JWT).",
    )
    return report


def now_utc() -> datetime:
    return datetime.now(UTC)
