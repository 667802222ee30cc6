"""The operator's choice of the verifiers the wallet answers (``TAITO_WALLET_VERIFIERS``): with
``x509`` only requests signed by a certified key chained to the trust anchors are read; with
``signed`` also a DID's; a refused request is refused before anything is fetched or shown."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.openid.conftest import Server
from tests.openid.test_oid4vp import IDS, create, poll, query_for
from tests.openid.test_oid4vp_x509 import HOST, answer, certified_verifier, read
from tests.openid.test_wallet_openid import fill_wallet, learner  # noqa: F401  (fixture)

PREFIXES = ("redirect_uri", "decentralized_identifier", "x509_san_dns", "x509_hash")


@pytest.fixture
def public_host() -> str:
    return HOST


@pytest.fixture(params=["x509", "signed"])
def extra_settings(request: pytest.FixtureRequest, tmp_path: Path) -> dict[str, Any]:
    return {**certified_verifier(tmp_path), "wallet_verifiers": request.param}


def test_the_wallet_answers_only_the_verifiers_its_operator_chose(
    server: Server,
    learner: dict[str, str],  # noqa: F811
    extra_settings: dict[str, Any],
) -> None:
    fill_wallet(server, learner)
    policy = extra_settings["wallet_verifiers"]
    allowed = {
        "x509": {"x509_san_dns", "x509_hash"},
        "signed": {"decentralized_identifier", "x509_san_dns", "x509_hash"},
    }[policy]
    for prefix in PREFIXES:
        created = create(
            server, [query_for(server, "dc+sd-jwt", IDS["dc+sd-jwt"])], client_id_prefix=prefix
        )
        if prefix in allowed:
            answer(server, learner, created)
            assert poll(server, created)["status"] == "verified", prefix
            continue
        refused = read(server, learner, created["authorization_request"])
        assert refused.status_code == 422, (prefix, refused.text)
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["error"] == "invalid_client"
        assert "x509_san_dns:" in refused.json()["detail"]
        assert poll(server, created)["status"] == "pending"  # nothing was fetched or sent
