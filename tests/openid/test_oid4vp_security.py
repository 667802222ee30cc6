"""Attacks on the OpenID4VP verifier, each refused at the response endpoint with
``invalid_request`` (OpenID4VP 1.0 §8.2, RFC 6749 §5.2) and never recorded as verified:

* a presentation made for another request (its nonce) - §14.1 replay;
* a ``state`` that is not the request's - §8.2;
* a KB-JWT for another audience, or none at all - Appendix B.3.6;
* a Data Integrity VP with another challenge or domain - Appendix B.1.3.2;
* a W3C presentation signed by someone other than the credential's subject (holder binding);
* a ``vp_token`` for unknown queries, or missing a required one - §8.1, §6.4.2;
* answers after the request expired, or after it failed three times.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from tests.openid.conftest import Server
from tests.openid.holder import authorization_request, holder_key, present_sd_jwt, respond
from tests.openid.test_oid4vp import (
    JWT,
    LDP,
    SD,
    create,
    obtain,
    poll,
    presentation,
    query_for,
)


def _refused(response: httpx.Response) -> str:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["error"] == "invalid_request"
    return str(body["error_description"])


def _request(server: Server, fmt: str = "dc+sd-jwt") -> tuple[dict[str, Any], dict[str, Any]]:
    created = create(server, [query_for(server, fmt)])
    return created, authorization_request(server.http, created["authorization_request"])


def test_presentation_for_another_request_is_refused(server: Server) -> None:
    held = obtain(server)
    _, first = _request(server)
    created, second = _request(server)
    made_for_first = presentation(server, "dc+sd-jwt", held[SD], first)
    refused = respond(server.http, second, {"cred": [made_for_first]})
    assert "nonce" in _refused(refused).lower()
    assert poll(server, created)["status"] == "pending"
    # the same for W3C formats: challenge / nonce of another request
    for fmt, config in (("ldp_vc", LDP), ("jwt_vc_json", JWT)):
        _, one = _request(server, fmt)
        created_other, other = _request(server, fmt)
        foreign = presentation(server, fmt, held[config], one)
        _refused(respond(server.http, other, {"cred": [foreign]}))
        assert poll(server, created_other)["status"] == "pending"


def test_state_mismatch(server: Server) -> None:
    held = obtain(server)
    created, request = _request(server)
    vp = presentation(server, "dc+sd-jwt", held[SD], request)
    forged = {**request, "state": "not-the-state"}
    assert "state" in _refused(respond(server.http, forged, {"cred": [vp]}))
    missing = server.http.post(request["response_uri"], data={"vp_token": "{}"})
    _refused(missing)
    assert poll(server, created)["status"] == "pending"
    assert respond(server.http, request, {"cred": [vp]}).status_code == 200


def test_key_binding_audience_and_absence(server: Server) -> None:
    held = obtain(server)
    _, request = _request(server)
    other_audience = {**request, "client_id": "redirect_uri:https://elsewhere.example/cb"}
    vp = present_sd_jwt(held[SD].credential, held[SD].key, other_audience, ["/given_name"])
    _refused(respond(server.http, request, {"cred": [vp]}))
    no_kb = str(held[SD].credential)  # issuer-signed SD-JWT with every disclosure, no KB-JWT
    _refused(respond(server.http, request, {"cred": [no_kb]}))
    wrong_key = present_sd_jwt(
        held[SD].credential, holder_key(), request, ["/achievement/name", "/given_name"]
    )
    _refused(respond(server.http, request, {"cred": [wrong_key]}))


def test_w3c_presentation_by_someone_else(server: Server) -> None:
    held = obtain(server)
    thief = holder_key("ed25519")
    for fmt, config in (("ldp_vc", LDP), ("jwt_vc_json", JWT)):
        created, request = _request(server, fmt)
        stolen = type(held[config])(held[config].credential, thief)
        vp = presentation(server, fmt, stolen, request)
        assert "subject" in _refused(respond(server.http, request, {"cred": [vp]}))
        assert poll(server, created)["status"] == "pending"


def test_data_integrity_domain_must_be_the_client_id(server: Server) -> None:
    held = obtain(server)
    _, request = _request(server, "ldp_vc")
    elsewhere = {**request, "client_id": "redirect_uri:https://elsewhere.example/cb"}
    vp = presentation(server, "ldp_vc", held[LDP], elsewhere)
    _refused(respond(server.http, request, {"cred": [vp]}))


def test_vp_token_shape_and_required_queries(server: Server) -> None:
    held = obtain(server)
    created = create(
        server, [query_for(server, "dc+sd-jwt", "a"), query_for(server, "ldp_vc", "b")]
    )
    request = authorization_request(server.http, created["authorization_request"])
    vp = presentation(server, "dc+sd-jwt", held[SD], request)
    assert "required" in _refused(respond(server.http, request, {"a": [vp]}))
    assert "no query" in _refused(respond(server.http, request, {"a": [vp], "zzz": [vp]}))
    # three refusals: the request is failed for good
    assert _refused(respond(server.http, request, {"a": [vp, vp]}))
    assert poll(server, created)["status"] == "failed"
    assert "answered" in _refused(respond(server.http, request, {"a": [vp]}))


def test_expired_request(server: Server) -> None:
    held = obtain(server)
    created, request = _request(server)
    vp = presentation(server, "dc+sd-jwt", held[SD], request)
    context = server.app.state.oid4vp
    later = datetime.now(UTC) + timedelta(hours=2)
    context.clock = lambda: later
    try:
        assert "expired" in _refused(respond(server.http, request, {"cred": [vp]}))
        assert poll(server, created)["status"] == "expired"
    finally:
        context.clock = lambda: datetime.now(UTC)


def test_relying_party_api(server: Server) -> None:
    created, _ = _request(server)
    path = f"/verifier/requests/{created['id']}"
    assert server.http.get(path).status_code == 401
    wrong = server.http.get(path, headers={"Authorization": "Bearer nope"})
    assert wrong.status_code == 404
    assert wrong.headers["content-type"] == "application/problem+json"
    bad = server.http.post(
        "/verifier/requests",
        json={"dcql_query": {"credentials": [{"id": "x y", "format": "dc+sd-jwt", "meta": {}}]}},
    )
    assert bad.status_code == 422 and bad.json()["code"] == "invalid_dcql_query"
    no_types = server.http.post(
        "/verifier/requests",
        json={"dcql_query": {"credentials": [{"id": "x", "format": "ldp_vc", "meta": {}}]}},
    )
    assert no_types.status_code == 422
    # the request object exists only for signed requests
    assert server.http.get(f"{path}/request").status_code == 404


def test_deeply_nested_vp_token_is_a_named_refusal(server: Server) -> None:
    _, request = _request(server)
    form = {"vp_token": "[" * 5000 + "]" * 5000, "state": request["state"]}
    assert "nested" in _refused(server.http.post(request["response_uri"], data=form))


def test_malformed_responses_get_oauth_errors_never_500(server: Server) -> None:
    created, request = _request(server, "ldp_vc")
    url = request["response_uri"]
    as_json = server.http.post(url, json={"vp_token": {}, "state": request["state"]})
    assert _refused(as_json)
    for vp_token in ('"x"', "[]", '{"cred": "x"}', '{"cred": [5]}', '{"cred": ["a.b.c"]}'):
        response = server.http.post(url, data={"vp_token": vp_token, "state": request["state"]})
        _refused(response)
    assert poll(server, created)["status"] == "failed"  # refused more than three times
    unknown = server.http.post(
        "/verifier/requests/00000000-0000-4000-8000-000000000000/response",
        data={"vp_token": "{}", "state": "x"},
    )
    assert _refused(unknown)
