"""Issuer -> wallet -> verifier over HTTP: the learner presents selectively and Taito's verifier
accepts the presentation only with the audience's own challenge / domain or nonce / audience.

Credentials are issued to the learner's holder DID, so each presentation is signed with the key
the credential is bound to; both run on SQLite and PostgreSQL.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime

from keys.did import did_key
from keys.jwk import generate
from keys.sd_jwt import verify as sd_jwt_verify
from tests.e2e.conftest import Learner, Server
from tests.e2e.sharing import (
    AUDIENCE,
    CHALLENGE,
    DOMAIN,
    NONCE,
    REVEAL,
    checks,
    disclosed_paths,
    holder_did,
    issue_into_wallet,
    issuer_public_key,
    present,
    verify,
)


def test_sd_jwt_presentation_reveals_exactly_the_chosen_claims(
    server: Server, learner: Learner
) -> None:
    held = issue_into_wallet(server, learner, ["sd-jwt-vc"])
    answer = present(
        learner,
        {
            "format": "dc+sd-jwt",
            "credentials": [{"id": held.ids["sd-jwt-vc"], "reveal": REVEAL}],
            "nonce": NONCE,
            "audience": AUDIENCE,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert body["media_type"] == "application/dc+sd-jwt"
    assert (body["nonce"], body["audience"]) == (NONCE, AUDIENCE)
    token = body["presentation"]
    assert isinstance(token, str) and not token.endswith("~")  # ends with the KB-JWT

    # Exactly the chosen claims are disclosed: the paths of the Disclosures kept, and the claims.
    assert disclosed_paths(token) == set(REVEAL)
    claims = sd_jwt_verify(
        token,
        resolve_issuer_key=lambda _h, _p: issuer_public_key(server, token),
        now=datetime.now(UTC),
        expected_nonce=NONCE,
        expected_audience=AUDIENCE,
    ).claims
    assert set(claims["achievement"]) == {"name", "ects_credits"}
    assert claims["given_name"] == "Aino"
    for hidden in ("family_name", "email", "student_number", "awarded_on"):
        assert hidden not in claims

    report = verify(server, token, nonce=NONCE, audience=AUDIENCE)
    assert report["verified"], report
    assert report["format"] == "dc+sd-jwt"
    assert checks(report)["holder_binding"] == "passed"
    assert checks(report)["status"] == "passed"

    # Another audience's nonce or audience does not pass: the presentation is bound to this one.
    assert checks(verify(server, token, nonce="another", audience=AUDIENCE))["holder_binding"] == (
        "failed"
    )
    assert not verify(server, token, nonce=NONCE, audience="https://other.example")["verified"]


def test_data_integrity_presentation_with_challenge_and_domain(
    server: Server, learner: Learner
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"])
    second = issue_into_wallet(server, learner, ["ob3-di"])
    answer = present(
        learner,
        {
            "format": "ldp_vp",
            "credentials": [{"id": held.ids["ob3-di"]}, {"id": second.ids["ob3-di"]}],
            "challenge": CHALLENGE,
            "domain": DOMAIN,
        },
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    vp = body["presentation"]
    did = holder_did(learner, "ES256")
    assert body["holder"] == vp["holder"] == did  # the key the credentials are bound to
    assert vp["type"] == ["VerifiablePresentation"]
    assert vp["proof"]["proofPurpose"] == "authentication"
    assert vp["proof"]["cryptosuite"] == "ecdsa-rdfc-2019"
    assert (vp["proof"]["challenge"], vp["proof"]["domain"]) == (CHALLENGE, DOMAIN)
    assert vp["proof"]["verificationMethod"].startswith(did + "#")
    # the credentials are embedded exactly as issued
    assert vp["verifiableCredential"] == [
        json.loads(held.texts["ob3-di"]),
        json.loads(second.texts["ob3-di"]),
    ]

    report = verify(server, vp, challenge=CHALLENGE, domain=DOMAIN)
    assert report["verified"], report
    assert report["format"] == "ldp_vp"
    assert checks(report)["presentation_proof"] == "passed"
    assert checks(report)["holder_binding"] == "passed"
    assert [n["verified"] for n in report["nested"]] == [True, True]

    wrong_challenge = verify(server, vp, challenge="replayed", domain=DOMAIN)
    assert checks(wrong_challenge)["presentation_proof"] == "failed"
    wrong_domain = verify(server, vp, challenge=CHALLENGE, domain="other.example")
    assert checks(wrong_domain)["presentation_proof"] == "failed"


def test_ed25519_bound_credential_is_presented_with_eddsa(server: Server, learner: Learner) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di"], algorithm="EdDSA")
    answer = present(
        learner,
        {"format": "ldp_vp", "credentials": [{"id": held.ids["ob3-di"]}], "challenge": CHALLENGE},
    )
    assert answer.status_code == 200, answer.text
    vp = answer.json()["presentation"]
    assert vp["holder"] == holder_did(learner, "EdDSA")
    assert vp["proof"]["cryptosuite"] == "eddsa-rdfc-2022"
    assert "domain" not in vp["proof"]
    assert verify(server, vp, challenge=CHALLENGE)["verified"]


def test_presentation_requests_that_cannot_be_met_are_refused(
    server: Server, learner: Learner
) -> None:
    held = issue_into_wallet(server, learner, ["ob3-di", "ob3-jwt", "sd-jwt-vc"])
    ed = issue_into_wallet(server, learner, ["ob3-di"], algorithm="EdDSA")
    # a credential bound to someone else's key: the learner holds it but cannot prove it is theirs
    stranger = did_key(generate("p256").public_key())
    foreign = server.issue(["sd-jwt-vc"], recipient={**server.recipient, "did": stranger})
    foreign_text = server.download(str(foreign["id"]).removeprefix("urn:uuid:"), "sd-jwt-vc").text
    foreign_id = learner.import_credential(foreign_text).json()["id"]
    before = learner.server.http.get("/wallet/credentials", headers=learner.headers).json()
    cases = [
        # a JWT credential in a Data Integrity presentation
        (
            {"format": "ldp_vp", "credentials": [{"id": held.ids["ob3-jwt"]}], "challenge": "c"},
            422,
            "not_presentable",
        ),
        # claims chosen for a credential that is not an SD-JWT
        (
            {
                "format": "ldp_vp",
                "credentials": [{"id": held.ids["ob3-di"], "reveal": ["/name"]}],
                "challenge": "c",
            },
            422,
            "not_presentable",
        ),
        # credentials bound to two different keys of the learner in one presentation
        (
            {
                "format": "ldp_vp",
                "credentials": [{"id": held.ids["ob3-di"]}, {"id": ed.ids["ob3-di"]}],
                "challenge": "c",
            },
            422,
            "mixed_holder_keys",
        ),
        # an SD-JWT presentation without the verifier's nonce
        (
            {
                "format": "dc+sd-jwt",
                "credentials": [{"id": held.ids["sd-jwt-vc"]}],
                "audience": "a",
            },
            422,
            "validation_failed",
        ),
        # a claim the credential does not have
        (
            {
                "format": "dc+sd-jwt",
                "credentials": [{"id": held.ids["sd-jwt-vc"], "reveal": ["/no/such/claim"]}],
                "nonce": "n",
                "audience": "a",
            },
            400,
            "invalid_json_pointer",
        ),
        # an SD-JWT presentation of a Data Integrity credential
        (
            {
                "format": "dc+sd-jwt",
                "credentials": [{"id": held.ids["ob3-di"]}],
                "nonce": "n",
                "audience": "a",
            },
            422,
            "not_presentable",
        ),
        # bound to a key that is not the learner's
        (
            {
                "format": "dc+sd-jwt",
                "credentials": [{"id": foreign_id}],
                "nonce": "n",
                "audience": "a",
            },
            422,
            "holder_key_missing",
        ),
        # an unknown credential id
        (
            {"format": "ldp_vp", "credentials": [{"id": "no-such-id"}], "challenge": "c"},
            404,
            "not_found",
        ),
    ]
    for body, status, code in cases:
        answer = present(learner, body)
        assert answer.status_code == status, (body, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
        assert answer.json()["code"] == code, answer.text
    after = learner.server.http.get("/wallet/credentials", headers=learner.headers).json()
    assert after == before  # nothing changed
