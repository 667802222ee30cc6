"""The 1EdTech OB 3.0 validator's fixtures (``conformance/ob3/validator-fixtures/ob30``, read in
place): invalid ones fail in the check family their name means, valid ones pass every check that
does not need the network, baked badges are extracted. Nothing raises.

Two key resolvers:

* *offline* — the verifier's own :class:`DidResolver` over a :class:`GuardedHttp` whose DNS and
  transport refuse: did:key resolves, did:web and ``https://`` keys fail with a resolution code;
* *fixture keys* — the fixtures name their key ``<issuer URL>#<multibase Ed25519 key>`` (the
  validator's tests serve that controller document); here the key is read from the fragment, so
  the published signatures are really checked, still without the network.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from keys import multikey
from keys.did import VerificationMethod, resolve_offline
from keys.errors import DidError
from schemas.contexts import ContextCache, StaticLoader
from schemas.credential_schemas import SchemaCache
from schemas.errors import TaitoError
from verifier.credential import VerifyOptions, verify_credential
from verifier.http import GuardedHttp, HttpPolicy
from verifier.report import CHECK_IDS, VerificationReport
from verifier.resolver import DidResolver
from verifier.status import StatusChecker

NOW = datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
FIXTURES = ("ob3", "validator-fixtures", "ob30")
RESOLUTION = {"verification_method", "did_resolution"}  # issuer_key codes: key not found

# Invalid fixtures: the checks (id -> accepted codes) that name what the file's name says is wrong.
STRUCTURE = {"schema": {"invalid_structure"}}
INVALID: dict[str, dict[str, set[str]]] = {
    "simple-err-context": STRUCTURE,
    "simple-err-credential-subject-achievement-result-description-type": STRUCTURE,
    "simple-err-credential-subject-identifier-type": STRUCTURE,
    "simple-err-credential-subject-profile-type": STRUCTURE,
    "simple-err-credential-subject-result-type": STRUCTURE,
    "simple-err-credential-subject-type": STRUCTURE,
    "simple-err-evidence-type": STRUCTURE,
    "simple-err-issuer-otheridentifier-type": STRUCTURE,
    "simple-err-issuer-parentorg-type": STRUCTURE,
    "simple-err-issuer-type": STRUCTURE,
    "simple-err-issuer": STRUCTURE,  # no issuer
    "simple-err-expired": {"validity_period": {"expired"}},
    # validFrom 2040 (and no achievement: the schema check answers first)
    "simple-err-issued": {"validity_period": {"not_yet_valid"}, **STRUCTURE},
    # verificationMethod: garbage multibase fragment / no scheme / "xxx:" / did:example
    "simple-err-proof-method": {"issuer_key": RESOLUTION, "proof": RESOLUTION},
    "simple-err-proof-method-no-scheme": {"issuer_key": RESOLUTION, "proof": RESOLUTION},
    "simple-err-proof-method-unknown-scheme": {"issuer_key": RESOLUTION, "proof": RESOLUTION},
    "simple-err-proof-method-unknown-did-method": {"issuer_key": RESOLUTION, "proof": RESOLUTION},
    "simple-err-proof-value": {"proof": {"invalid_signature"}},
    "simple-err-type": STRUCTURE,  # OtherCredential instead of OpenBadgeCredential
}

# Valid for the 1EdTech validator; their keys are https:// URLs unless noted.
VALID = [
    "simple.json",
    "simple_v1.json",  # VCDM 1.1, Ed25519Signature2020
    "simple.1ob",
    "simple-context-alias.json",
    "simple-context-version.json",
    "simple-did-web-method.json",  # the issuer is an https URL despite the name
    "endorsement-valid.json",
]
BAKED = ["simple-json.png", "simple-json.svg"]
BAKED_JWT = ["simple-jwt.png", "simple-jwt.svg", "simple-jwt_v1.png", "simple-jwt_v1.svg"]


@pytest.fixture(scope="module")
def fixtures(conformance: Path) -> Path:
    folder = conformance.joinpath(*FIXTURES)
    if not folder.is_dir():
        pytest.skip(f"1EdTech validator fixtures absent at {folder}")
    return folder


@pytest.fixture(scope="module")
def loader(tmp_path_factory: pytest.TempPathFactory, shared: Path) -> StaticLoader:
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader()


def _no_dns(host: str, port: int) -> list[str]:
    raise OSError(f"no DNS in this test ({host}:{port})")


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no network in this test", request=request)


@pytest.fixture(scope="module")
def schemas(tmp_path_factory: pytest.TempPathFactory, conformance: Path) -> SchemaCache:
    cache = SchemaCache(tmp_path_factory.mktemp("schemas"))
    cache.sync_from_dir(conformance / "ob3" / "schemas" / "json")
    return cache


@pytest.fixture
def offline(loader: StaticLoader, schemas: SchemaCache) -> Iterator[VerifyOptions]:
    with GuardedHttp(
        HttpPolicy(), transport=httpx.MockTransport(_refuse), resolver=_no_dns
    ) as http:
        resolver = DidResolver(http)
        yield VerifyOptions(
            now=NOW,
            loader=loader,
            resolve_method=resolver,
            jwt_key_resolver=resolver.jwt_issuer_key,
            status_checker=StatusChecker(http, loader=loader, resolve_method=resolver),
            credential_schemas=schemas.get,
        )


def _fixture_key(method: str) -> VerificationMethod:
    if method.startswith("did:"):
        return resolve_offline(method)
    controller, _, fragment = method.partition("#")
    if not controller.startswith("https://") or not fragment:
        raise DidError(f"{method[:100]!r} is neither a DID URL nor an https key URL.")
    try:
        return VerificationMethod(method, controller, multikey.decode_public(fragment))
    except TaitoError as exc:
        raise DidError(f"The key fragment is not a Multikey: {exc.detail}") from exc


@pytest.fixture
def keyed(offline: VerifyOptions) -> VerifyOptions:
    return replace(offline, resolve_method=_fixture_key)


def _verify(path: Path, options: VerifyOptions) -> VerificationReport:
    report = verify_credential(path.read_bytes(), options)  # raw bytes, as uploaded
    assert {c.id for c in report.checks} <= set(CHECK_IDS)
    json.dumps(report.to_json())
    return report


def _failed(report: VerificationReport) -> set[tuple[str, str]]:
    return {(c.id, c.code) for c in report.checks if c.status == "failed"}


def _statuses(report: VerificationReport) -> dict[str, tuple[str, str]]:
    return {c.id: (c.status, c.code) for c in report.checks}


# --- every file -----------------------------------------------------------------------------


def test_the_tables_name_every_fixture(fixtures: Path) -> None:
    errors = {p.stem for p in fixtures.glob("simple-err-*.json")}
    assert errors == set(INVALID)
    for name in [*VALID, *BAKED, *BAKED_JWT]:
        assert (fixtures / name).is_file(), name


def _all_files() -> list[str]:
    from tests.conftest import shared_dir

    folder = shared_dir() / "conformance" / Path(*FIXTURES)
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


@pytest.mark.parametrize("name", _all_files() or ["(fixtures absent)"])
def test_no_fixture_raises_and_none_verifies_offline(
    fixtures: Path, offline: VerifyOptions, name: str
) -> None:
    """Every file, whatever it holds, becomes a report; none verifies without the issuer's key
    (did:key fixtures fail on other grounds, pinned below)."""
    report = _verify(fixtures / name, offline)
    assert report.checks
    assert not report.verified, report.to_json()


# --- invalid fixtures -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    sorted(INVALID),
)
@pytest.mark.parametrize("keys", ["offline", "fixture-keys"])
def test_invalid_fixture_fails_in_its_family(
    fixtures: Path, offline: VerifyOptions, keyed: VerifyOptions, name: str, keys: str
) -> None:
    families = INVALID[name]
    report = _verify(fixtures / f"{name}.json", keyed if keys == "fixture-keys" else offline)
    assert not report.verified
    failed = _failed(report)
    hits = {(check, code) for check, code in failed if code in families.get(check, set())}
    if keys == "offline" and "schema" not in families and "validity_period" not in families:
        # Without the network the issuer's https key cannot be fetched: that answers first.
        hits |= {(check, code) for check, code in failed if check == "issuer_key"}
        assert {code for _, code in hits} <= RESOLUTION | families.get("proof", set())
    assert hits, f"{name}: expected a failure in {families}, got {failed}"


def test_the_tampered_proof_value_is_a_signature_failure_not_a_key_failure(
    fixtures: Path, keyed: VerifyOptions
) -> None:
    good = _statuses(_verify(fixtures / "simple.json", keyed))
    bad = _statuses(_verify(fixtures / "simple-err-proof-value.json", keyed))
    assert good["proof"] == ("passed", "ok")
    assert bad["proof"] == ("failed", "invalid_signature")
    assert bad["issuer_key"] == ("skipped", "proof_failed")


def test_expired_fixture_is_otherwise_sound(fixtures: Path, keyed: VerifyOptions) -> None:
    report = _verify(fixtures / "simple-err-expired.json", keyed)
    assert _failed(report) == {("validity_period", "expired")}
    check = report.check("validity_period")
    assert check is not None and check.message == "The credential expired on 2010-01-01."


# --- valid fixtures -------------------------------------------------------------------------


@pytest.mark.parametrize("name", VALID)
def test_valid_fixture_fails_offline_only_for_its_https_key(
    fixtures: Path, offline: VerifyOptions, name: str
) -> None:
    report = _verify(fixtures / name, offline)
    assert _failed(report) <= {("issuer_key", code) for code in RESOLUTION}, report.to_json()
    assert _statuses(report)["issuer_key"][0] == "failed"
    for check in ("format", "schema", "validity_period"):
        assert _statuses(report)[check][0] == "passed", check
    assert _statuses(report)["status"] == ("skipped", "no_status")


@pytest.mark.parametrize("name", VALID)
def test_valid_fixture_verifies_with_its_key(
    fixtures: Path, keyed: VerifyOptions, name: str
) -> None:
    report = _verify(fixtures / name, keyed)
    assert report.verified, report.to_json()
    checks = _statuses(report)
    assert checks["proof"] == ("passed", "ok")
    assert checks["issuer_key"] == ("passed", "ok")


def test_did_key_fixture_is_signed_but_not_by_its_issuer(
    fixtures: Path, offline: VerifyOptions
) -> None:
    """``simple-did-key-method.json`` verifies offline (did:key), but its issuer is a
    ``urn:uuid`` the key does not belong to: Taito binds the key to the issuer (as Digital
    Bazaar's CredentialIssuancePurpose does); the 1EdTech validator does not."""
    report = _verify(fixtures / "simple-did-key-method.json", offline)
    checks = _statuses(report)
    assert checks["proof"] == ("passed", "ok")
    assert checks["schema"] == ("passed", "ok")
    assert checks["validity_period"] == ("passed", "ok")
    assert _failed(report) == {("issuer_key", "issuer_key_mismatch")}


@pytest.mark.parametrize(
    ("name", "suite"),
    [
        ("simple-eddsa-2022.json", "eddsa-2022"),  # the suite's pre-standard name
        ("simple-multiple-proofs.json", "SomeProofType"),  # a second, made-up proof
        ("sd/derivedcredential.json", "ecdsa-sd-2023"),
    ],
)
def test_unsupported_cryptosuites_are_named(
    fixtures: Path, keyed: VerifyOptions, name: str, suite: str
) -> None:
    report = _verify(fixtures / name, keyed)
    assert _failed(report) == {("proof", "unsupported_cryptosuite")}
    check = report.check("proof")
    assert check is not None and suite in check.message
    assert _statuses(report)["schema"] == ("passed", "ok")


# --- baked badges and JWTs ------------------------------------------------------------------


@pytest.mark.parametrize("name", BAKED + BAKED_JWT)
def test_baked_badge_is_extracted(fixtures: Path, offline: VerifyOptions, name: str) -> None:
    report = _verify(fixtures / name, offline)
    kind = name.rsplit(".", 1)[1].upper()
    assert report.notes[0] == f"The credential was extracted from a baked {kind} badge."
    assert _statuses(report)["format"] == ("passed", "ok")


@pytest.mark.parametrize("name", BAKED)
def test_baked_json_badge_verifies_like_the_plain_file(
    fixtures: Path, keyed: VerifyOptions, name: str
) -> None:
    baked = _verify(fixtures / name, keyed)
    plain = _verify(fixtures / "simple.json", keyed)
    assert baked.verified, baked.to_json()
    assert plain.verified, plain.to_json()
    # The same credential as simple.json, signed again (another proof).
    assert {k: v for k, v in baked.document.items() if k != "proof"} == {
        k: v for k, v in plain.document.items() if k != "proof"
    }
    assert baked.document["proof"] != plain.document["proof"]


@pytest.mark.parametrize("name", ["simple.jwt", *BAKED_JWT])
def test_jwt_fixture_needs_its_issuers_https_key(
    fixtures: Path, offline: VerifyOptions, name: str
) -> None:
    """An ``https://`` JWT issuer's key comes from its metadata (SD-JWT VC §5), which is not
    reachable here: the only failure is the key, never the token itself."""
    report = _verify(fixtures / name, offline)
    assert _failed(report) == {("issuer_key", "did_resolution")}
    assert _statuses(report)["format"] == ("passed", "ok")


def test_no_proof_and_unreachable_status(fixtures: Path, offline: VerifyOptions) -> None:
    noproof = _verify(fixtures / "simple-noproof.json", offline)
    assert _failed(noproof) == {("format", "unsecured")}
    revoked = _verify(fixtures / "credential-status-revoked.json", offline)
    assert ("status", "status_list_unreachable") in _failed(revoked)


# --- credentialSchema (VC 2.0 §4.11, OB 3.0 1EdTechJsonSchemaValidator2019) --------------------


@pytest.mark.parametrize("name", ["complete.json", "endorsement-valid.json"])
def test_named_1edtech_schema_is_applied(fixtures: Path, keyed: VerifyOptions, name: str) -> None:
    check = _verify(fixtures / name, keyed).check("schema")
    assert check is not None and (check.status, check.code) == ("passed", "ok")
    assert "matches the JSON Schema it names" in check.message


def test_schema_for_another_data_model_version_is_not_applied(
    fixtures: Path, keyed: VerifyOptions
) -> None:
    """The pinned OB schemas are for VC 2.0 credentials (they require ``validFrom``): a VC 1.1
    credential naming the same URL is not failed by them, it is reported as unchecked."""
    document = json.loads((fixtures / "simple_v1.json").read_text())
    document["credentialSchema"] = [
        {
            "id": "https://purl.imsglobal.org/spec/ob/v3p0/schema/json/"
            "ob_v3p0_achievementcredential_schema.json",
            "type": "1EdTechJsonSchemaValidator2019",
        }
    ]
    check = verify_credential(json.dumps(document), keyed).check("schema")
    assert check is not None
    assert (check.status, check.code) == ("warning", "credential_schema_unchecked")


def test_unreachable_named_schema_is_a_warning_not_a_pass(
    fixtures: Path, keyed: VerifyOptions
) -> None:
    check = _verify(fixtures / "endorsement-err-schema-status-refresh.json", keyed).check("schema")
    assert check is not None
    assert (check.status, check.code) == ("warning", "credential_schema_unchecked")
    assert "https://state.gov/schema/endorsementcredential.json" in check.message


def test_a_credential_breaking_its_named_schema_fails(fixtures: Path, keyed: VerifyOptions) -> None:
    document = json.loads((fixtures / "endorsement-valid.json").read_text())
    document["credentialSubject"]["endorsementComment"] = ["not", "a", "string"]
    report = verify_credential(json.dumps(document), keyed)
    check = report.check("schema")
    assert check is not None and check.status == "failed"
    assert check.code in {"invalid_structure", "credential_schema_mismatch"}
    assert not report.verified
