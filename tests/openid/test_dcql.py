"""DCQL (OpenID4VP 1.0 §6) parsing and matching, and claims path pointers (§7)."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from keys.sd_jwt.disclosure import parse_pointer
from verifier.dcql import InvalidDcqlQuery, match, parse_query, pointer, satisfied, select

VCT = "https://uni.example/vct/learning-credential/v1"
CLAIMS: dict[str, Any] = {
    "vct": VCT,
    "given_name": "Aino",
    "achievement": {
        "name": "Data Science",
        "ects_credits": 5,
        "skills": [{"name": "a"}, {"name": "b"}],
    },
    "results": [{"name": "Grade", "value": "5"}],
}


def _query(**credential: Any) -> dict[str, Any]:
    return {
        "credentials": [
            {"id": "c", "format": "dc+sd-jwt", "meta": {"vct_values": [VCT]}, **credential}
        ]
    }


def test_claims_path_pointers() -> None:
    assert select(CLAIMS, ["achievement", "name"]) == ["Data Science"]
    assert select(CLAIMS, ["achievement", "skills", None, "name"]) == ["a", "b"]
    assert select(CLAIMS, ["achievement", "skills", 1, "name"]) == ["b"]
    assert select(CLAIMS, ["achievement", "skills", 5]) == []
    assert select(CLAIMS, ["given_name", "x"]) == []
    assert select(CLAIMS, ["achievement", None]) == []  # null selects array elements only
    assert pointer(["achievement", "name"]) == "/achievement/name"
    assert pointer(["a/b", "c~d", 0]) == "/a~1b/c~0d/0"
    with pytest.raises(InvalidDcqlQuery):
        pointer(["skills", None])


def test_match_values_types_and_claim_sets() -> None:
    query = parse_query(
        _query(claims=[{"path": ["achievement", "ects_credits"], "values": [5, 10]}])
    )
    assert match(query.credentials[0], "dc+sd-jwt", CLAIMS, {VCT}) is not None
    assert match(query.credentials[0], "dc+sd-jwt", CLAIMS, {"other"}) is None
    assert match(query.credentials[0], "ldp_vc", CLAIMS, {VCT}) is None
    strict = parse_query(
        _query(claims=[{"path": ["achievement", "ects_credits"], "values": ["5"]}])
    )
    assert match(strict.credentials[0], "dc+sd-jwt", CLAIMS, {VCT}) is None  # 5 is not "5"
    sets = parse_query(
        _query(
            claims=[
                {"id": "email", "path": ["email"]},
                {"id": "name", "path": ["given_name"]},
                {"id": "course", "path": ["achievement", "name"]},
            ],
            claim_sets=[["email", "course"], ["name", "course"]],
        )
    )
    found = match(sets.credentials[0], "dc+sd-jwt", CLAIMS, {VCT})
    assert found is not None
    assert found.claims == (("given_name",), ("achievement", "name"))
    whole = match(parse_query(_query()).credentials[0], "dc+sd-jwt", CLAIMS, {VCT})
    assert whole is not None and whole.all_claims


def test_w3c_type_values() -> None:
    query = parse_query(
        {
            "credentials": [
                {
                    "id": "ob",
                    "format": "jwt_vc_json",
                    "meta": {"type_values": [["VerifiableCredential", "OpenBadgeCredential"]]},
                }
            ]
        }
    )
    credential = query.credentials[0]
    assert match(credential, "jwt_vc_json", {}, {"VerifiableCredential", "OpenBadgeCredential"})
    assert match(credential, "jwt_vc_json", {}, {"VerifiableCredential"}) is None


def test_credential_sets() -> None:
    query = parse_query(
        {
            "credentials": [
                {"id": "a", "format": "dc+sd-jwt", "meta": {}},
                {"id": "b", "format": "dc+sd-jwt", "meta": {}},
                {"id": "c", "format": "dc+sd-jwt", "meta": {}},
            ],
            "credential_sets": [
                {"options": [["a"], ["b"]]},
                {"options": [["c"]], "required": False},
            ],
        }
    )
    assert satisfied(query, ["b"])
    assert not satisfied(query, ["c"])
    plain = parse_query({"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}]})
    assert satisfied(plain, ["a"]) and not satisfied(plain, [])


@pytest.mark.parametrize(
    "bad",
    [
        {},
        {"credentials": []},
        {"credentials": [{"id": "a", "format": "mso_mdoc", "meta": {}}]},
        {"credentials": [{"id": "a b", "format": "dc+sd-jwt", "meta": {}}]},
        {"credentials": [{"id": "a", "format": "dc+sd-jwt"}]},
        {"credentials": [{"id": "a", "format": "ldp_vc", "meta": {}}]},
        {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}] * 2},
        {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}, "claims": []}]},
        {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}, "claims": [{"path": []}]}]},
        {
            "credentials": [
                {"id": "a", "format": "dc+sd-jwt", "meta": {}, "claims": [{"path": [-1]}]}
            ]
        },
        {
            "credentials": [
                {"id": "a", "format": "dc+sd-jwt", "meta": {}, "claims": [{"path": [True]}]}
            ]
        },
        {
            "credentials": [
                {
                    "id": "a",
                    "format": "dc+sd-jwt",
                    "meta": {},
                    "claims": [{"path": ["x"], "values": [1.5]}],
                }
            ]
        },
        {
            "credentials": [
                {
                    "id": "a",
                    "format": "dc+sd-jwt",
                    "meta": {},
                    "claims": [{"path": ["x"]}],
                    "claim_sets": [["x"]],
                }
            ]
        },
        {
            "credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}],
            "credential_sets": [{"options": [["z"]]}],
        },
        {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}, "multiple": "yes"}]},
        {"credentials": [{"id": "a", "format": "dc+sd-jwt", "meta": {}}], "extra": 1},
        {
            "credentials": [
                {"id": "a", "format": "dc+sd-jwt", "meta": {}, "trusted_authorities": []}
            ]
        },
    ],
)
def test_invalid_queries(bad: dict[str, Any]) -> None:
    with pytest.raises(InvalidDcqlQuery) as raised:
        parse_query(bad)
    assert raised.value.extra["errors"][0]["path"].startswith("dcql_query")


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=5),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=4), children, max_size=3)
    ),
    max_leaves=12,
)


@given(document=_JSON, data=st.data())
def test_a_path_into_a_document_selects_its_value_and_round_trips_as_a_pointer(
    document: Any, data: st.DataObject
) -> None:
    """Walking any document gives a path that selects exactly the value it walked to, and its
    JSON Pointer (the SD-JWT disclosure address) names the same steps (RFC 6901)."""
    path: list[str | int] = []
    node = document
    while isinstance(node, (dict, list)) and node and data.draw(st.booleans()):
        if isinstance(node, dict):
            key = data.draw(st.sampled_from(sorted(node)))
        else:
            key = data.draw(st.integers(min_value=0, max_value=len(node) - 1))
        path.append(key)
        node = node[key]
    if not path:
        return
    assert select(document, path) == [node]
    assert parse_pointer(pointer(path)) == tuple(str(p) for p in path)
