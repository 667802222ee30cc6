"""The fast RDFC-1.0 canonicaliser is byte-identical to pyld's RDFC-1.0 (the reference).

Every JSON-LD document of the shared conformance folder, and hypothesis-generated Open Badges
credentials, presentations and proof configurations, are canonicalised both ways: where the fast
path answers, its bytes equal the reference's; where the reference refuses a document (undefined
term, relative IRI, unknown context) the fast path must not answer. pyoxigraph's RDFC-1.0 is a
second, independent reference on the vectors.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pyoxigraph
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from hypothesis.control import currently_in_test_context

from bench.inputs import issued_badge, open_badge, presentation
from keys.data_integrity.canonicalization import (
    fast_canonicalizer,
    rdfc_1_0,
    rdfc_1_0_reference,
)
from keys.data_integrity.errors import CanonicalizationTooComplex
from keys.data_integrity.fast_rdf import (
    FastCanonicalizer,
    canonical_double,
    canonical_nquads,
    first_degree_unique,
)
from schemas.contexts import StaticLoader
from schemas.errors import TaitoError
from tests.keys import test_data_integrity

loader = test_data_integrity.loader  # the shared contexts in a cache, once per session

VC2 = "https://www.w3.org/ns/credentials/v2"
OB303 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"
OB302 = "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.2.json"
DI_V2 = "https://w3id.org/security/data-integrity/v2"
EXAMPLES_V2 = "https://www.w3.org/ns/credentials/examples/v2"
SAMPLE_PROOF = {
    "type": "DataIntegrityProof",
    "cryptosuite": "eddsa-rdfc-2022",
    "created": "2026-06-01T00:00:00Z",
    "verificationMethod": "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK#z6Mk",
    "proofPurpose": "assertionMethod",
    "proofValue": "z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a",
}


def reference(document: Any, loader: StaticLoader) -> bytes | None:
    try:
        return rdfc_1_0_reference(document, loader)
    except TaitoError:
        return None


def note(outcome: str) -> None:
    if currently_in_test_context():
        event(outcome)  # shown by --hypothesis-show-statistics


def check_same(document: Any, loader: StaticLoader) -> bool:
    """Assert fast == reference where the fast path answers; True when it answered. A document
    over the work limit is refused before the reference (which has none) is asked."""
    try:
        fast = fast_canonicalizer(loader).canonicalize(document)
    except CanonicalizationTooComplex:
        note("over the RDFC-1.0 work limit")
        return False
    expected = reference(document, loader)
    if expected is None:
        assert fast is None, "the fast path accepted a document the reference refuses"
        note("refused by the reference")
        return False
    note("fast path" if fast is not None else "left to the reference")
    if fast is not None:
        assert fast == expected
    assert rdfc_1_0(document, loader) == expected
    return fast is not None


def oxigraph_rdfc(nquads: bytes) -> bytes:
    dataset = pyoxigraph.Dataset(pyoxigraph.parse(nquads, pyoxigraph.RdfFormat.N_QUADS))
    dataset.canonicalize(pyoxigraph.CanonicalizationAlgorithm.RDFC_1_0)
    lines = sorted(str(quad) + " .\n" for quad in dataset)
    return "".join(lines).encode()


# ------------------------------------------------------------------------- conformance vectors


def conformance_documents(conformance: Path) -> list[tuple[str, dict[str, Any]]]:
    documents = []
    for path in sorted(conformance.rglob("*")):
        if path.suffix not in (".json", ".jsonld") or not path.is_file():
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and "@context" in data:
            name = str(path.relative_to(conformance))
            documents.append((name, {k: v for k, v in data.items() if k != "proof"}))
            proofs = data.get("proof")
            for i, proof in enumerate(proofs if isinstance(proofs, list) else [proofs]):
                if isinstance(proof, dict):  # its proof configuration (EdDSA §3.2.5)
                    config = {k: v for k, v in proof.items() if k != "proofValue"}
                    config["@context"] = data["@context"]
                    documents.append((f"{name}#proof{i}", config))
    return documents


def test_every_conformance_document(conformance: Path, loader: StaticLoader) -> None:
    documents = conformance_documents(conformance)
    assert len(documents) > 100
    covered = [name for name, document in documents if check_same(document, loader)]
    # the Data Integrity and Open Badges vectors are the shapes the fast path exists for
    assert any(name.startswith("di-eddsa/eddsa-rdfc-2022") for name in covered)
    assert any(name.startswith("ob3/") for name in covered)
    assert len(covered) > len(documents) // 3, f"only {len(covered)} of {len(documents)} covered"


def test_pyoxigraph_agrees_on_the_vectors(conformance: Path, loader: StaticLoader) -> None:
    """A second RDFC-1.0 implementation, on every covered vector the first-degree short-cut takes.

    (On graphs with look-alike blank nodes pyoxigraph 0.5 and pyld issue different labels; there
    pyld, the reference, is the only oracle.)
    """
    fast = FastCanonicalizer(loader)
    compared = 0
    for _, document in conformance_documents(conformance):
        expected = reference(document, loader)
        quads = fast.quads(document)
        if expected is None or quads is None or not first_degree_unique(quads):
            continue
        # pyoxigraph writes literals with its own escapes: compare where both are plain
        if b"\\" in expected:
            continue
        assert oxigraph_rdfc(expected) == expected
        compared += 1
    assert compared > 50


def test_benchmark_inputs_take_the_fast_path(loader: StaticLoader) -> None:
    issuer = "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"
    for document in (
        open_badge(issuer),
        issued_badge(issuer),
        open_badge(issuer, alignments=36, results=16),
        presentation([{**open_badge(issuer, serial=i), "proof": SAMPLE_PROOF} for i in range(5)]),
    ):
        fast = fast_canonicalizer(loader).canonicalize(document)
        assert fast is not None
        assert fast == rdfc_1_0_reference(document, loader)


def test_look_alike_blank_nodes_use_the_full_algorithm(loader: StaticLoader) -> None:
    # two identical criteria objects: first-degree hashes collide, Hash N-Degree Quads decides
    document = open_badge("did:example:issuer")
    subject = document["credentialSubject"]
    subject["achievement"] = [
        {**subject["achievement"], "id": f"urn:example:a{i}", "criteria": {"narrative": "same"}}
        for i in range(3)
    ]
    assert check_same(document, loader)


def test_one_node_named_by_a_string_and_by_a_node_object(loader: StaticLoader) -> None:
    # found by hypothesis: the issuer and the achievement are one blank node; its image is an IRI
    # string in one place and a node object with that id in the other - one value (§7.2), one quad
    document = open_badge("did:example:issuer")
    document["issuer"] = {"id": "_:same", "type": ["Profile"], "image": "https://uni.example/a"}
    document["credentialSubject"]["achievement"] = {
        "id": "_:same",
        "type": ["Achievement"],
        "name": "n",
        "image": {"id": "https://uni.example/a", "type": ["Image"]},
    }
    assert check_same(document, loader)


def test_alike_blank_nodes_past_the_work_limit_are_refused(loader: StaticLoader) -> None:
    # found by hypothesis: alike blank nodes related to alike blank nodes make Hash N-Degree
    # Quads try every ordering (8! for each of two identical achievements without an id); the
    # fast path refuses at its limit instead of running for minutes
    document = open_badge("did:example:issuer")
    achievement = {k: v for k, v in document["credentialSubject"]["achievement"].items()}
    achievement.pop("id", None)
    alignment = {"type": ["Alignment"], "targetName": "same", "targetUrl": "https://x.example/"}

    def alike(alignments: int) -> dict[str, Any]:
        twice = [{**achievement, "alignment": [alignment] * alignments}] * 2
        return {
            **document,
            "credentialSubject": {**document["credentialSubject"], "achievement": twice},
        }

    with pytest.raises(CanonicalizationTooComplex) as refused:
        rdfc_1_0(alike(8), loader)
    assert refused.value.code == "canonicalization_limit"
    # fewer alike nodes stay inside the limit, and equal to the reference
    assert check_same(alike(3), loader)


def test_canonical_nquads_repeated_quads_and_doubles() -> None:
    quads = [
        ("_:x", "<urn:p>", '"5"^^<urn:t>', ""),
        ("_:x", "<urn:p>", '"5"^^<urn:t>', ""),
        ("_:y", "<urn:p>", "_:x", ""),
    ]
    assert canonical_nquads(quads) == (
        b'_:c14n0 <urn:p> "5"^^<urn:t> .\n_:c14n0 <urn:p> "5"^^<urn:t> .\n'
        b"_:c14n1 <urn:p> _:c14n0 .\n"
    )
    assert canonical_double(1.5) == "1.5E0"
    assert canonical_double(-0.000123) == "-1.23E-4"
    assert canonical_double(1e21) == "1.0E21"


def test_inline_context_is_left_to_the_reference(loader: StaticLoader) -> None:
    document = {"@context": [VC2, {"extra": "urn:example:extra"}], "extra": "x"}
    assert FastCanonicalizer(loader).canonicalize(document) is None
    assert rdfc_1_0(document, loader) == rdfc_1_0_reference(document, loader)


# ------------------------------------------------------------------------------- hypothesis

TEXT = st.text(max_size=12)
NUMBER = st.one_of(
    st.integers(min_value=-(10**23), max_value=10**23),
    st.floats(allow_nan=False, allow_infinity=False),
)
SCALAR = st.one_of(TEXT, NUMBER, st.booleans(), st.none())
IRI = st.one_of(
    st.sampled_from(
        [
            "https://uni.example/a",
            "https://uni.example/a#b",
            "did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK",
            "urn:uuid:2f6c4d3e-8a1b-4c5d-9e0f-1a2b3c4d5e6f",
            "_:shared",
            "_:other",
            "mailto:registrar@uni.example",
        ]
    ),
    st.integers(0, 50).map(lambda n: f"urn:example:{n}"),
)
ODD_IRI = st.sampled_from(["relative/path", "https://a b/c", "", "#fragment", "ex:"])
DATE = st.sampled_from(["2026-06-01T00:00:00Z", "2026-06-01", "not a date"])


def maybe_list(strategy: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.one_of(strategy, st.lists(strategy, max_size=3))


def repeated(strategy: st.SearchStrategy[Any], size: int = 3) -> st.SearchStrategy[list[Any]]:
    """Lists that sometimes repeat their first item (look-alike blank nodes)."""
    return st.tuples(st.lists(strategy, max_size=size), st.booleans()).map(
        lambda pair: pair[0] + pair[0][:1] if pair[1] else pair[0]
    )


def node(
    types: list[str], fields: dict[str, st.SearchStrategy[Any]]
) -> st.SearchStrategy[dict[str, Any]]:
    optional: dict[str, st.SearchStrategy[Any]] = {"id": IRI, **fields}
    optional["https://other.example/vocab#p"] = SCALAR  # an absolute IRI needs no term
    return st.fixed_dictionaries({"type": st.sampled_from([types, types[0]])}, optional=optional)


HOSTILE: list[tuple[str, Any]] = [
    ("undefinedTerm", "x"),  # safe mode: the reference raises undefined_term
    ("id", "relative/path"),  # the reference raises relative_iri
    ("id", "https://a b/c"),  # pyld's toRdf drops whitespace-bearing IRIs
    ("type", ["VerifiableCredential", "UndefinedType"]),
    ("@context", [VC2]),  # Open Badges terms undefined
    ("@context", [VC2, OB303, "urn:unknown:context"]),
    ("@context", [VC2, {"@vocab": "urn:example:"}]),  # an inline context
]


def sometimes_hostile(
    strategy: st.SearchStrategy[dict[str, Any]],
) -> st.SearchStrategy[dict[str, Any]]:
    """One document in eight gets one member the fast path must leave to the reference."""
    return st.tuples(strategy, st.integers(0, 7), st.sampled_from(HOSTILE)).map(
        lambda t: {**t[0], t[2][0]: t[2][1]} if t[1] == 7 else t[0]
    )


IMAGE = st.one_of(IRI, (node(["Image"], {"caption": TEXT})))
ALIGNMENT = node(
    ["Alignment"],
    {
        "targetName": TEXT,
        "targetUrl": st.one_of(IRI, ODD_IRI),
        "targetDescription": TEXT,
        "targetFramework": TEXT,
        "targetCode": SCALAR,
        "targetType": st.sampled_from(["ceasn:Competency", "CFItem", "ext:Thing"]),
    },
)
RESULT_DESCRIPTION = node(
    ["ResultDescription"],
    {
        "name": TEXT,
        "resultType": st.sampled_from(["LetterGrade", "Percent", "ext:Custom"]),
        "allowedValue": st.one_of(TEXT, st.lists(st.sampled_from(["A", "B", "C"]))),
        "valueMax": SCALAR,
        "requiredLevel": IRI,
    },
)
ACHIEVEMENT = node(
    ["Achievement"],
    {
        "name": maybe_list(TEXT),
        "description": TEXT,
        "achievementType": st.sampled_from(["Course", "Degree", "ext:Micro"]),
        "criteria": (node(["Criteria"], {"narrative": TEXT})).map(
            lambda d: {k: v for k, v in d.items() if k != "type"}
        ),
        "creditsAvailable": NUMBER,
        "fieldOfStudy": TEXT,
        "humanCode": SCALAR,
        "tag": maybe_list(TEXT),
        "image": IMAGE,
        "alignment": repeated(ALIGNMENT),
        "resultDescription": repeated(RESULT_DESCRIPTION),
    },
)
RESULT = node(["Result"], {"resultDescription": IRI, "value": SCALAR, "status": TEXT})
IDENTITY = node(
    ["IdentityObject"],
    {
        "identityHash": TEXT,
        "identityType": st.just("emailAddress"),
        "hashed": SCALAR,
        "salt": TEXT,
    },
)
SUBJECT = node(
    ["AchievementSubject"],
    {
        "achievement": ACHIEVEMENT,
        "result": repeated(RESULT),
        "identifier": repeated(IDENTITY, 2),
        "creditsEarned": NUMBER,
        "activityEndDate": DATE,
        "term": TEXT,
    },
)
PROFILE = st.one_of(
    IRI, (node(["Profile"], {"name": TEXT, "url": IRI, "email": TEXT, "image": IMAGE}))
)
CONTEXTS = st.sampled_from([[VC2, OB303], [VC2, OB302], [VC2, OB303, DI_V2]])


def credential(contexts: st.SearchStrategy[Any] = CONTEXTS) -> st.SearchStrategy[dict[str, Any]]:
    return sometimes_hostile(
        st.fixed_dictionaries(
            {
                "@context": contexts,
                "type": st.sampled_from(
                    [["VerifiableCredential", "OpenBadgeCredential"], ["VerifiableCredential"]]
                ),
                "issuer": PROFILE,
                "credentialSubject": maybe_list(SUBJECT),
            },
            optional={
                "id": IRI,
                "name": TEXT,
                "validFrom": DATE,
                "validUntil": DATE,
                "description": SCALAR,
                "credentialStatus": st.fixed_dictionaries(
                    {
                        "id": IRI,
                        "type": st.just("BitstringStatusListEntry"),
                        "statusPurpose": st.sampled_from(["revocation", "suspension"]),
                        "statusListIndex": st.integers(0, 131071).map(str),
                        "statusListCredential": IRI,
                    }
                ),
            },
        )
    )


PROOF_CONTEXTS = st.sampled_from([[VC2, OB303], VC2, [DI_V2], [VC2, "urn:x:unknown"]])
PROOF = st.fixed_dictionaries(
    {
        # mostly DataIntegrityProof; Ed25519Signature2020 terms need a context these lack
        "type": st.sampled_from(["DataIntegrityProof"] * 7 + ["Ed25519Signature2020"]),
        "cryptosuite": st.sampled_from(["eddsa-rdfc-2022", "ecdsa-rdfc-2019", "eddsa-jcs-2022"]),
        "verificationMethod": IRI,
        "proofPurpose": st.sampled_from(["assertionMethod", "authentication", "ext:purpose"]),
    },
    optional={
        "created": DATE,
        "expires": DATE,
        "challenge": TEXT,
        "domain": maybe_list(TEXT),
        "id": IRI,
        "previousProof": maybe_list(IRI),
        "proofValue": st.just("z3FXQjecWufY46yg5abdVZsXqLhxhueuSoZgNSARiKBk9czhSePTFehP8c3PGfb6a"),
    },
)


def with_proof(document: dict[str, Any], proof: dict[str, Any] | None) -> dict[str, Any]:
    return document if proof is None else {**document, "proof": proof}


PRESENTATION = sometimes_hostile(
    st.fixed_dictionaries(
        {
            "@context": st.sampled_from([[VC2], [VC2, OB303]]),
            "type": st.sampled_from([["VerifiablePresentation"], "VerifiablePresentation"]),
            "verifiableCredential": st.lists(
                st.builds(with_proof, credential(st.just([VC2, OB303])), st.none() | PROOF),
                max_size=3,
            ),
        },
        optional={"holder": IRI, "id": IRI, "proof": PROOF},
    )
)

FAST = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)


@settings(FAST, max_examples=5000)
@given(document=credential())
def test_credentials_equal_the_reference(loader: StaticLoader, document: dict[str, Any]) -> None:
    check_same(document, loader)


@settings(FAST, max_examples=2000)
@given(document=PRESENTATION)
def test_presentations_equal_the_reference(loader: StaticLoader, document: dict[str, Any]) -> None:
    check_same(document, loader)


@settings(FAST, max_examples=2500)
@given(proof=PROOF, contexts=PROOF_CONTEXTS)
def test_proof_configurations_equal_the_reference(
    loader: StaticLoader, proof: dict[str, Any], contexts: Any
) -> None:
    config = {k: v for k, v in proof.items() if k != "proofValue"}
    check_same({**config, "@context": contexts}, loader)


@settings(FAST, max_examples=500)
@given(
    subject=st.dictionaries(
        st.sampled_from(["id", "type", "name", "alumniOf", "degree", "@id", "@type", "other"]),
        st.recursive(
            SCALAR | IRI,
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(
                    st.sampled_from(["id", "type", "name", "@value", "@language", "@list"]),
                    inner,
                    max_size=3,
                )
            ),
            max_leaves=8,
        ),
        max_size=5,
    )
)
def test_arbitrary_shapes_equal_the_reference(
    loader: StaticLoader, subject: dict[str, Any]
) -> None:
    document = {
        "@context": [VC2, EXAMPLES_V2],
        "type": ["VerifiableCredential", "ExampleDegreeCredential"],
        "issuer": "https://uni.example/issuer",
        "credentialSubject": subject,
    }
    check_same(document, loader)
