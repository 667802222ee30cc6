"""CLR 2.0: a learner's record from one institution, signed, with every member verifying."""

from __future__ import annotations

from schemas.clr import validate_clr
from tests.issuer.conftest import Env
from tests.issuer.test_api import RECIPIENT, _achievement, _issue, _options
from verifier.credential import verify_credential


def test_clr_assembles_the_learners_credentials(env: Env) -> None:
    first, second = _achievement(env), _achievement(env)
    for achievement_id in (first, second):
        assert _issue(env, achievement_id, ["ob3-di"]).status_code == 201
    _issue(env, first, ["ob3-jwt"])  # no JSON-LD form: not part of the CLR
    other = {**RECIPIENT, "email": "someone.else@example.fi", "student_number": "999"}
    env.client.post(
        f"/issuers/{env.slug}/credentials",
        headers=env.issuing,
        json={"achievement_id": first, "recipient": other},
    )
    base = env.client.get(f"/issuers/{env.slug}/achievements/{first}").json()["id"]
    part = env.client.get(f"/issuers/{env.slug}/achievements/{second}").json()["id"]
    response = env.client.post(
        f"/issuers/{env.slug}/clr",
        headers=env.issuing,
        json={
            "recipient": RECIPIENT,
            "name": "Data science studies",
            "associations": [
                {"association_type": "isParentOf", "source_id": base, "target_id": part}
            ],
        },
    )
    assert response.status_code == 200, response.text
    clr = response.json()
    assert clr["type"] == ["VerifiableCredential", "ClrCredential"]
    members = clr["credentialSubject"]["verifiableCredential"]
    assert len(members) == 2
    assert {m["credentialSubject"]["achievement"]["id"] for m in members} == {base, part}
    assert clr["credentialSubject"]["association"] == [
        {"type": "Association", "associationType": "isParentOf", "sourceId": base, "targetId": part}
    ]
    validate_clr(clr)
    report = verify_credential(clr, _options(env))
    assert report.verified, report.to_json()
    assert report.check("nested") is not None and report.check("nested").status == "passed"  # type: ignore[union-attr]
    assert [n.verified for n in report.nested] == [True, True]
    for member in members:
        assert verify_credential(member, _options(env)).verified
    members[0]["name"] = "Tampered"
    assert not verify_credential(clr, _options(env)).verified


def test_clr_refusals(env: Env) -> None:
    achievement_id = _achievement(env)
    nobody = env.client.post(
        f"/issuers/{env.slug}/clr",
        headers=env.issuing,
        json={"recipient": {"email": "nobody@example.fi"}},
    )
    assert nobody.status_code == 404
    _issue(env, achievement_id, ["ob3-di"])
    bad = env.client.post(
        f"/issuers/{env.slug}/clr",
        headers=env.issuing,
        json={
            "recipient": RECIPIENT,
            "associations": [
                {"association_type": "isPartOf", "source_id": "urn:x:1", "target_id": "urn:x:2"}
            ],
        },
    )
    assert bad.status_code == 422
    assert (
        env.client.post(f"/issuers/{env.slug}/clr", json={"recipient": RECIPIENT}).status_code
        == 401
    )
