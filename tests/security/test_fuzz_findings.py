"""Inputs the fuzzers (``tests/fuzz/``) found answering 500, pinned as regressions (ASVS V5.1, V13.1).

Each was a 500 (an unhandled exception) or a response the OpenAPI document did not declare; each
must now be a typed problem (4xx) that leaves the data unchanged, or a declared response.
"""

from __future__ import annotations

import pytest

from tests.issuer.conftest import Env, operator


def _audit(env: Env) -> list[object]:
    return list(env.client.get(f"/issuers/{env.slug}/audit", headers=env.admin).json())


@pytest.mark.parametrize("legal_name", [{}, {"": "x"}])
def test_an_institution_with_an_empty_legal_name_is_a_422(env: Env, legal_name: object) -> None:
    response = env.client.post(
        "/issuers",
        json={
            "slug": "empty-name",
            "legal_name": legal_name,
            "url": "https://e.test",
            "country": "FI",
        },
        headers=operator(),
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")
    assert response.json()["errors"][0]["path"] == "legal_name"
    assert env.client.get("/issuers/empty-name").status_code == 404  # nothing written


@pytest.mark.parametrize(
    ("path", "parameter"),
    [
        ("/issuers/{slug}/achievements", "offset"),
        ("/issuers/{slug}/audit", "before"),
        ("/issuers/{slug}/batches/nope", "after"),
    ],
)
def test_integers_past_sql_bigint_are_a_422(env: Env, path: str, parameter: str) -> None:
    response = env.client.get(
        path.format(slug=env.slug), params={parameter: 2**63}, headers=env.admin
    )
    assert (response.status_code, response.json()["code"]) == (422, "validation_failed")


def test_a_nul_character_in_stored_text_is_a_422_on_every_database(env: Env) -> None:
    """PostgreSQL text cannot hold U+0000: the driver's refusal is the client's error, not a 500."""
    before = _audit(env)
    response = env.client.post(
        f"/issuers/{env.slug}/api-keys",
        json={"name": "registrar\u0000", "scopes": ["credentials:issue"]},
        headers=env.admin,
    )
    if env.client.app.state.engine.dialect.name == "sqlite":  # type: ignore[attr-defined]
        assert response.status_code == 201, response.text  # SQLite stores any text
        return
    assert (response.status_code, response.json().get("code")) == (422, "unstorable_value"), (
        response.text
    )
    assert _audit(env) == before


@pytest.mark.parametrize("types", [{}, [{}], [["OpenBadgeCredential"]], [{"a": 1}, "x"]])
def test_a_credential_whose_type_holds_objects_fails_its_checks(env: Env, types: object) -> None:
    credential = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": types,
        "issuer": "did:example:1",
        "credentialSubject": {},
        "proof": {"type": "DataIntegrityProof"},
    }
    response = env.client.post("/verifier/verify", json=credential)
    assert response.status_code == 200, response.text
    assert response.json()["verified"] is False


def test_the_openapi_document_declares_the_media_types_routes_answer_with(env: Env) -> None:
    paths = env.client.get("/openapi.json").json()["paths"]

    def media(path: str, status: str = "200") -> set[str]:
        return set(paths[path]["get"]["responses"][status]["content"])

    assert "application/ld+json" in media("/issuers/{slug}")
    assert "application/did+json" in media("/issuers/{slug}/did.json")
    assert {"image/png", "image/svg+xml"} <= media(
        "/issuers/{slug}/credentials/{credential_id}/image.{kind}"
    )
    assert {"application/vc+ld+json", "application/vc+jwt", "application/dc+sd-jwt"} <= media(
        "/issuers/{slug}/credentials/{credential_id}/download/{fmt}"
    )
    # Validation errors are problem+json (taito/problems.py), and so documented everywhere.
    for item in paths.values():
        for operation in item.values():
            content = operation.get("responses", {}).get("422", {}).get("content", {})
            assert "application/json" not in content or content["application/json"].get(
                "schema"
            ) != {"$ref": "#/components/schemas/HTTPValidationError"}
