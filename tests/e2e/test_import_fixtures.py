"""The 1EdTech validator's baked badges (``conformance/ob3/validator-fixtures/ob30``) imported
through the wallet API, with the verifier offline (no DNS, no network).

None of them verifies offline, and the stored report says why: the JSON badges are signed with a
key named by an ``https://example.com/issuers/...#z6Mk...`` URL (not a DID: it would be fetched)
and the JWT badges come from ``https://`` issuers whose keys are published in their metadata.
They are refused with the report, then kept flagged with ``accept_unverified=true``. The JSON
badges' proofs are valid: with the key taken from the key URL (out of band), they verify.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session

from keys import multikey
from keys.did import VerificationMethod
from tests.e2e.conftest import Learner, Server
from verifier.context import VerifierContext
from verifier.http import GuardedHttp, HttpPolicy
from wallet import storage
from wallet.tables import Learner as LearnerRow

FIXTURES = ("ob3", "validator-fixtures", "ob30")
# file -> (format, the failed checks of the offline report)
BAKED = {
    "simple-json.png": ("ldp_vc", {("issuer_key", "verification_method")}),
    "simple-json.svg": ("ldp_vc", {("issuer_key", "verification_method")}),
    "simple-jwt.png": ("jwt_vc", {("issuer_key", "did_resolution")}),
    "simple-jwt.svg": ("jwt_vc", {("issuer_key", "did_resolution")}),
    "simple-jwt_v1.png": ("jwt_vc", {("issuer_key", "did_resolution")}),
}
# The same VC-JWT baked into both images: the wallet keeps it once.
SAME_AS = {"simple-jwt_v1.svg": "simple-jwt_v1.png"}


def _no_dns(host: str, port: int) -> list[str]:
    raise OSError(f"no DNS in this test ({host}:{port})")


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("no network in this test", request=request)


@pytest.fixture
def fixtures(conformance: Path) -> Path:
    folder = conformance.joinpath(*FIXTURES)
    if not folder.is_dir():
        pytest.skip(f"1EdTech validator fixtures absent at {folder}")
    return folder


@pytest.fixture
def offline(server: Server) -> Iterator[Server]:
    """The wallet's verifier without network: what resolves offline is all there is."""
    context = server.app.state.wallet
    online = context.verifier
    with GuardedHttp(
        HttpPolicy(), transport=httpx.MockTransport(_refuse), resolver=_no_dns
    ) as http:
        context.verifier = VerifierContext(loader=online.loader, http=http)
        yield server
    context.verifier = online


def _failed(report: dict[str, object]) -> set[tuple[str, str]]:
    checks = report["checks"]
    assert isinstance(checks, list)
    return {(c["id"], c["code"]) for c in checks if c["status"] == "failed"}


def test_baked_fixtures_are_kept_flagged_with_their_report(
    offline: Server, learner: Learner, fixtures: Path
) -> None:
    kept_ids: dict[str, str] = {}
    for name, (fmt, failed) in BAKED.items():
        image = (fixtures / name).read_bytes()
        kind = "image/png" if name.endswith(".png") else "image/svg+xml"
        refused = learner.import_credential(image, kind, filename=name)
        assert refused.status_code == 422, (name, refused.text)
        assert refused.json()["code"] == "credential_rejected"
        assert _failed(refused.json()["report"]) == failed, (name, refused.json()["report"])

        kept = learner.import_credential(image, kind, filename=name, accept_unverified=True)
        assert kept.status_code == 201, (name, kept.text)
        detail = kept.json()
        assert detail["verified"] is False and detail["accepted_unverified"] is True, name
        assert detail["status"] == "unverified" and detail["format"] == fmt, name
        assert detail["container"] == name.rsplit(".", 1)[1], name
        assert _failed(detail["report"]) == failed, name
        assert detail["name"], name  # metadata read from the unverified document
        raw = offline.http.get(f"/wallet/credentials/{detail['id']}/raw", headers=learner.headers)
        assert raw.content == image, name
        kept_ids[name] = detail["id"]
    stored = {i["container"] + ":" + i["format"] for i in _listing(offline, learner)}
    assert stored == {"png:ldp_vc", "svg:ldp_vc", "png:jwt_vc", "svg:jwt_vc"}
    for name, original in SAME_AS.items():
        image = (fixtures / name).read_bytes()
        again = learner.import_credential(
            image, "image/svg+xml", filename=name, accept_unverified=True
        )
        assert again.status_code == 409, again.text
        assert again.json()["existing"] == kept_ids[original]
    assert len(_listing(offline, learner)) == len(BAKED)


def _listing(server: Server, learner: Learner) -> list[dict[str, str]]:
    body = server.http.get(
        "/wallet/credentials", params={"status": "unverified"}, headers=learner.headers
    ).json()
    return list(body["items"])


def _key_from_url(method: str) -> VerificationMethod:
    """The fixture's key, taken from its key URL's Multikey fragment (out of band, tests only)."""
    controller, _, fragment = method.partition("#")
    return VerificationMethod(method, controller, multikey.decode_public(fragment))


def test_baked_json_fixtures_verify_with_the_key_given_out_of_band(
    offline: Server, learner: Learner, fixtures: Path
) -> None:
    context = offline.app.state.wallet
    options = replace(context.verifier.options(), resolve_method=_key_from_url)
    with Session(context.engine) as session:
        row = session.get(LearnerRow, learner.id)
        assert row is not None
        for name in ("simple-json.png", "simple-json.svg"):
            stored = storage.import_credential(
                session, context, row, (fixtures / name).read_bytes(), options=options
            )
            assert stored.verified and stored.status == "valid", stored.report
        session.commit()
