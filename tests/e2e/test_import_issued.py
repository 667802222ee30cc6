"""Issuer → wallet over HTTP: credentials Taito issues in every format are imported into a
learner's wallet, verified on import (did:web over HTTP, status lists, the Europass seal chain),
kept byte for byte, summarised for search and the skills profile, and re-checked on demand."""

from __future__ import annotations

from typing import Any

from keys import jwk
from tests.e2e.conftest import OPERATOR, Learner, Server

ESCO_STATS = "http://data.europa.eu/esco/skill/cc7e8ff7-1ab8-4a56-b2fc-2a6b6b8bba1b"
ESCO_OUTCOME = "http://data.europa.eu/esco/skill/2f3e8f0b-1f0e-4b46-9c4b-0c3a0b8e0f3a"
# What each format carries of the achievement's skills: OB 3.0 both (alignments, and the ESCO
# skills of learning outcomes), ELM the learning outcomes' ESCO skills, SD-JWT VC the alignments.
SKILLS = {
    "ob3-di": {ESCO_STATS, ESCO_OUTCOME},
    "ob3-jwt": {ESCO_STATS, ESCO_OUTCOME},
    "elm": {ESCO_OUTCOME},
    "sd-jwt-vc": {ESCO_STATS},
}
FORMATS = {
    "ob3-di": ("ldp_vc", "application/json"),
    "ob3-jwt": ("jwt_vc", "application/jwt"),
    "elm": ("jades", "application/jwt"),
    "sd-jwt-vc": ("dc+sd-jwt", "application/dc+sd-jwt"),
}


def _holder_jwk(learner: Learner) -> dict[str, Any]:
    keys = learner.server.http.get("/wallet/keys", headers=learner.headers).json()
    return dict(next(k for k in keys if k["algorithm"] == "ES256")["public_jwk"])


def _checks(detail: dict[str, Any]) -> dict[str, str]:
    return {c["id"]: c["status"] for c in detail["report"]["checks"]}


def test_every_issued_format_imports_verified(server: Server, learner: Learner) -> None:
    issued = server.issue(list(FORMATS), holder_jwk=_holder_jwk(learner))
    imported: dict[str, dict[str, Any]] = {}
    for fmt, (wallet_format, _media) in FORMATS.items():
        download = server.download(issued["id"], fmt)
        response = learner.import_credential(
            download.content, download.headers["content-type"].split(";")[0]
        )
        assert response.status_code == 201, (fmt, response.text)
        detail = response.json()
        assert detail["verified"], (fmt, detail["report"])
        assert detail["status"] == "valid", (fmt, detail["report"])
        assert detail["format"] == wallet_format
        assert detail["name"] == "Introduction to Data Science", fmt
        assert (
            detail["issuer_id"]
            == f"did:web:127.0.0.1%3A{server.base.rsplit(':', 1)[1]}:issuers:{server.slug}"
        ), fmt
        assert detail["profile"]["ects"] == 5, fmt
        assert detail["profile"]["eqf_levels"] == [6], fmt
        assert detail["profile"]["fields_of_study"] == ["0613"], fmt
        assert {s["uri"] for s in detail["skills"]} == SKILLS[fmt], fmt
        # Bytes as received, so the signature stays valid wherever the learner takes it.
        raw = server.http.get(f"/wallet/credentials/{detail['id']}/raw", headers=learner.headers)
        assert raw.content == download.content, fmt
        imported[fmt] = detail
    assert _checks(imported["ob3-di"])["status"] == "passed"  # Bitstring status list over HTTP
    assert _checks(imported["sd-jwt-vc"])["status"] == "passed"  # Token status list
    # the seal chain leads to the trust anchor, and the seal CA's CRL (this server, over HTTP)
    # does not list the seal certificate
    (seal,) = [c for c in imported["elm"]["report"]["checks"] if c["id"] == "issuer_key"]
    assert (seal["status"], seal["code"]) == ("passed", "certificate_not_revoked")
    assert "certified by a trusted anchor" in seal["message"]
    # The SD-JWT VC is bound (cnf) to the learner's own holder key: they can present it.
    assert imported["sd-jwt-vc"]["profile"]["holder_bound"] is True
    assert "holder_bound" not in imported["ob3-di"]["profile"]

    listing = server.http.get(
        "/wallet/credentials", params={"q": "data science"}, headers=learner.headers
    ).json()
    assert listing["total"] == 4

    profile = server.http.get("/wallet/profile/skills", headers=learner.headers).json()
    assert profile["credentials"] == 4 and profile["ects_total"] == 20
    for uri in (ESCO_STATS, ESCO_OUTCOME):
        skill = next(s for s in profile["skills"] if s["uri"] == uri)
        assert {e["credential_id"] for e in skill["credentials"]} == {
            imported[fmt]["id"] for fmt, skills in SKILLS.items() if uri in skills
        }
    # Bound to a key that is not the learner's: kept, and flagged as not presentable by them.
    strangers = server.issue(["sd-jwt-vc"], holder_jwk=jwk.generate("p256").public_key().to_jwk())
    other_key = learner.import_credential(server.download(strangers["id"], "sd-jwt-vc").content)
    assert other_key.status_code == 201 and other_key.json()["profile"]["holder_bound"] is False
    assert profile["eqf_levels"][0]["level"] == 6
    assert profile["fields_of_study"][0]["code"] == "0613"


def test_clr_and_baked_badges(server: Server, learner: Learner) -> None:
    second = server.achievement(name={"en": "Machine Learning"}, ects_credits=3)
    first_issue = server.issue(["ob3-di"])
    server.issue(["ob3-di"], achievement_id=second)
    clr = server.clr()
    response = learner.import_credential(clr.content, "application/json")
    assert response.status_code == 201, response.text
    record = response.json()
    assert record["verified"] and "ClrCredential" in record["types"]
    assert record["name"] == "Data science studies"
    assert _checks(record)["nested"] == "passed"
    assert record["profile"]["ects"] == 8  # both member credentials' credits

    # The same badge baked into a PNG: recognised as the credential already imported (in the CLR
    # it is a member, not the same document, so this one is new), then as a duplicate.
    png = server.baked(first_issue["id"], "png")
    baked = learner.import_credential(png, "image/png", filename="badge.png")
    assert baked.status_code == 201, baked.text
    assert baked.json()["container"] == "png" and baked.json()["verified"]
    plain = learner.import_credential(
        server.download(first_issue["id"], "ob3-di").content, "application/json"
    )
    assert plain.status_code == 409 and plain.json()["existing"] == baked.json()["id"]

    jwt_only = server.issue(["ob3-jwt"], achievement_id=second)
    svg = server.baked(jwt_only["id"], "svg")
    baked_svg = learner.import_credential(svg, "image/svg+xml", filename="badge.svg")
    assert baked_svg.status_code == 201, baked_svg.text
    detail = baked_svg.json()
    assert (detail["container"], detail["format"], detail["verified"]) == ("svg", "jwt_vc", True)
    assert detail["name"] == "Machine Learning"
    raw = server.http.get(f"/wallet/credentials/{detail['id']}/raw", headers=learner.headers)
    assert raw.content == svg and raw.headers["content-type"].startswith("image/svg+xml")


def test_status_is_rechecked_after_revocation(server: Server, learner: Learner) -> None:
    issued = server.issue(["ob3-di", "sd-jwt-vc"])
    ids = {}
    for fmt in ("ob3-di", "sd-jwt-vc"):
        download = server.download(issued["id"], fmt)
        response = learner.import_credential(download.content, "text/plain")
        assert response.status_code == 201, response.text
        ids[fmt] = response.json()["id"]
    revoked = server.http.post(
        f"/issuers/{server.slug}/credentials/{issued['id']}/revoke", headers=server.issuing
    )
    assert revoked.status_code == 200, revoked.text
    server.forget()
    for fmt, credential_id in ids.items():
        checked = server.http.post(
            f"/wallet/credentials/{credential_id}/status", headers=learner.headers
        )
        assert checked.status_code == 200, checked.text
        assert checked.json()["status"] == "revoked", (fmt, checked.json()["report"])
        assert checked.json()["verified"] is False
    listed = server.http.get(
        "/wallet/credentials", params={"status": "revoked"}, headers=learner.headers
    ).json()
    assert listed["total"] == 2
    # A revoked credential is refused on a fresh import, or kept flagged when the learner insists.
    other = server.register()
    download = server.download(issued["id"], "ob3-di")
    refused = other.import_credential(download.content, "application/json")
    assert refused.status_code == 422 and refused.json()["code"] == "credential_rejected"
    kept = other.import_credential(download.content, "application/json", accept_unverified=True)
    assert kept.status_code == 201 and kept.json()["status"] == "revoked"


def test_a_revoked_seal_certificate_fails_the_europass_credential(
    server: Server, learner: Learner
) -> None:
    # the registrar reports the seal key compromised; the seal CA's CRL says so over HTTP
    download = server.download(server.issue(["elm"])["id"], "elm")
    kept = learner.import_credential(download.content, "application/jwt")
    assert kept.status_code == 201 and kept.json()["verified"], kept.text
    revoked = server.http.post(
        f"/issuers/{server.slug}/seal-certificate/revoke",
        headers={"Authorization": f"Bearer {OPERATOR}"},
        json={"reason": "keyCompromise"},
    )
    assert revoked.status_code == 200, revoked.text
    server.forget()  # the held CRL would speak for up to an hour
    server.app.state.verifier.certificates.clear()
    report = server.http.post(
        "/verifier/verify", content=download.content, headers={"content-type": "application/jwt"}
    ).json()
    (seal,) = [c for c in report["checks"] if c["id"] == "issuer_key"]
    assert (seal["status"], seal["code"]) == ("failed", "certificate_revoked")
    assert "keyCompromise" in seal["message"]
    assert not report["verified"]
