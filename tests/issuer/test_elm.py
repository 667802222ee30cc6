"""issuer.formats.elm: ELM 3.2 EuropeanDigitalCredential against the EDC SHACL shapes, and its seal.

The credential is turned into RDF offline: pyld expands it with the project's static context
loader (contexts synced from the shared folder, unknown URLs refused, no network), nothing may be
dropped during expansion, and the N-Quads are loaded into rdflib for pyshacl.
"""

from __future__ import annotations

import base64
import copy
import json
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import rfc8785

pyld = pytest.importorskip("pyld")
rdflib = pytest.importorskip("rdflib")
pyshacl = pytest.importorskip("pyshacl")

from cryptography.hazmat.primitives import serialization  # noqa: E402
from jwcrypto import common as jwcrypto_common  # noqa: E402
from jwcrypto import jwk as jwcrypto_jwk  # noqa: E402
from jwcrypto import jws as jwcrypto_jws  # noqa: E402
from pyld import jsonld  # noqa: E402
from rdflib import Literal, URIRef  # noqa: E402
from rdflib.namespace import RDF, XSD  # noqa: E402

from issuer.formats.elm import ElmIncomplete, elm_credential, seal_elm  # noqa: E402
from keys import base64url, jwk  # noqa: E402
from keys.jades import verify_seal  # noqa: E402
from keys.signing import KeySigner  # noqa: E402
from keys.x509 import (  # noqa: E402
    CertificateChainError,
    load_der,
    make_ca,
    make_seal_certificate,
    validate_chain,
)
from schemas.contexts import ContextCache, StaticLoader  # noqa: E402
from schemas.learning import (  # noqa: E402
    AchievementSpec,
    Award,
    IssuerProfile,
    LearningOutcome,
    Recipient,
    ResultValue,
)

ELM = "http://data.europa.eu/snb/model/elm/"
NOW = datetime(2026, 1, 5, 9, 30, tzinfo=UTC)

ISSUER = IssuerProfile(
    id="did:web:uni.example",
    slug="uni",
    legal_name={"en": "Example University", "fi": "Esimerkkiyliopisto"},
    url="https://uni.example",
    email="registry@uni.example",
    country="FI",
    legal_identifier="1234567-8",
    accreditation="Audited by FINEEC",
)
MINIMAL = AchievementSpec(
    name={"en": "Intro"}, description={"en": "An intro"}, criteria={"en": "Pass"}
)
FULL = AchievementSpec(
    name={"en": "Data Science", "fi": "Datatiede"},
    description={"en": "A course", "fi": "Kurssi"},
    criteria={"en": "Pass the exam", "fi": "Läpäise tentti"},
    criteria_url="https://uni.example/courses/ds/criteria",
    tags=("data", "python"),
    learning_outcomes=(
        LearningOutcome(
            text={"en": "Stimulate creativity"},
            esco_skill="http://data.europa.eu/esco/skill/ccdf3597-5c80-410f-896d-e1bdfa223de9",
        ),
        LearningOutcome(text={"en": "Model data"}, esco_skill="https://skills.example/model-data"),
    ),
    ects_credits=5,
    workload_hours=135,
    eqf_level=6,
    isced_f="0613",
    assessment_type="Written exam",
    participation_mode="online",
    quality_assurance="Internal quality assurance by the faculty board",
    prerequisites={"en": "Basic mathematics", "fi": "Matematiikan perusteet"},
    language="en",
)
AWARD = Award(
    credential_id="urn:uuid:6f1c1c7e-1111-4f1f-9d5b-0123456789ab",
    achievement_id="urn:uuid:aaaa1111-1111-4f1f-9d5b-0123456789ab",
    recipient=Recipient(
        email="anna@example.fi", given_name="Anna", family_name="Virtanen", student_number="s123"
    ),
    issued_on=NOW,
    valid_from=NOW,
    valid_until=NOW + timedelta(days=5 * 365),
    results=(ResultValue(name="Grade", value="5"),),
)
MINIMAL_AWARD = Award(
    credential_id="urn:uuid:7f1c1c7e-1111-4f1f-9d5b-0123456789ab",
    achievement_id="https://uni.example/achievements/intro",
    recipient=Recipient(did="did:key:z6MkhaXgBZDvotDkL5257faiztiGiC2QtKLGpbnnEGta2doK"),
    issued_on=NOW,
    valid_from=NOW,
)


@pytest.fixture(scope="session")
def loader(shared: Path, tmp_path_factory: pytest.TempPathFactory) -> StaticLoader:
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    return cache.loader()


@pytest.fixture(scope="session")
def shapes(conformance: Path) -> Any:
    # edc-generic-full owl:imports edc-generic-no-cv: both are loaded here, never fetched.
    graph = rdflib.Graph()
    for name in ("EDC-generic-no-cv.ttl", "EDC-generic-full.ttl"):
        graph.parse(conformance / "elm" / "elm-3.2" / "shacl" / name, format="turtle")
    return graph


def to_graph(document: dict[str, Any], loader: StaticLoader) -> Any:
    dropped: list[Any] = []
    expanded = jsonld.expand(
        document, {"documentLoader": loader}, on_property_dropped=dropped.append
    )
    assert dropped == [], f"terms not in the ELM context: {dropped}"
    nquads = jsonld.to_rdf(expanded, {"format": "application/n-quads"})
    graph = rdflib.Graph()
    graph.parse(data=nquads, format="nt")  # default graph only: N-Quads lines are N-Triples
    return graph


def conforms(document: dict[str, Any], loader: StaticLoader, shapes: Any) -> tuple[bool, str]:
    ok, _report, text = pyshacl.validate(
        to_graph(document, loader), shacl_graph=shapes, inference="none"
    )
    return bool(ok), str(text)


@pytest.mark.parametrize(
    ("spec", "award"),
    [(MINIMAL, MINIMAL_AWARD), (MINIMAL, AWARD), (FULL, AWARD), (FULL, MINIMAL_AWARD)],
)
def test_conforms_to_edc_generic_full(
    spec: AchievementSpec, award: Award, loader: StaticLoader, shapes: Any
) -> None:
    document = elm_credential(ISSUER, spec, award)
    ok, text = conforms(document, loader, shapes)
    assert ok, text


def test_full_specification_triples(loader: StaticLoader) -> None:
    graph = to_graph(elm_credential(ISSUER, FULL, AWARD), loader)
    spec = URIRef(AWARD.achievement_id)
    assert (spec, RDF.type, URIRef(ELM + "Qualification")) in graph
    assert (spec, URIRef(ELM + "EQFLevel"), URIRef("http://data.europa.eu/snb/eqf/6")) in graph
    assert (
        spec,
        URIRef(ELM + "ISCEDFCode"),
        URIRef("http://data.europa.eu/snb/isced-f/0613"),
    ) in graph
    assert (
        spec,
        URIRef(ELM + "volumeOfLearning"),
        Literal("PT135H", datatype=XSD.duration),
    ) in graph
    assert (
        spec,
        URIRef(ELM + "mode"),
        URIRef("http://data.europa.eu/snb/learning-assessment/920fbb3cbe"),
    ) in graph
    assert (
        spec,
        URIRef("http://purl.org/dc/terms/title"),
        Literal("Datatiede", lang="fi"),
    ) in graph
    credit = graph.value(spec, URIRef(ELM + "creditPoint"))
    assert str(graph.value(credit, URIRef(ELM + "point"))) == "5"
    assert graph.value(credit, URIRef(ELM + "framework")) == URIRef(
        "http://data.europa.eu/snb/education-credit/6fcec5c5af"
    )
    requirement = graph.value(spec, URIRef(ELM + "entryRequirement"))
    assert (
        requirement,
        URIRef(ELM + "noteLiteral"),
        Literal("Matematiikan perusteet", lang="fi"),
    ) in graph
    issuer = URIRef(ISSUER.id)
    assert (
        issuer,
        URIRef("http://www.w3.org/ns/regorg#legalName"),
        Literal("Esimerkkiyliopisto", lang="fi"),
    ) in graph
    legal = graph.value(issuer, URIRef(ELM + "eidasLegalIdentifier"))
    assert graph.value(legal, URIRef("http://purl.org/dc/terms/spatial")) == URIRef(
        "http://publications.europa.eu/resource/authority/country/FIN"
    )


def _enumeration(path: Path) -> set[str]:
    return {
        element.attrib["value"]
        for element in ET.parse(path).iter("{http://www.w3.org/2001/XMLSchema}enumeration")
    }


def test_controlled_vocabulary_uris_are_in_the_code_lists(conformance: Path) -> None:
    eqf = _enumeration(conformance / "elm" / "xsd-cv" / "eqf.xsd")
    isced = _enumeration(conformance / "elm" / "xsd-cv" / "isced-f.xsd")
    for level in range(1, 9):
        spec = MINIMAL.model_copy(update={"eqf_level": level})
        node = elm_credential(ISSUER, spec, AWARD)["credentialSubject"]["hasClaim"][0][
            "specifiedBy"
        ]
        assert node["eqfLevel"]["id"] in eqf
    for code in ("00", "061", "0613", "0688", "1041"):
        spec = MINIMAL.model_copy(update={"isced_f": code})
        node = elm_credential(ISSUER, spec, AWARD)["credentialSubject"]["hasClaim"][0][
            "specifiedBy"
        ]
        assert node["thematicArea"][0]["id"] in isced


def _drop(document: dict[str, Any], *path: str | int) -> dict[str, Any]:
    broken = copy.deepcopy(document)
    target: Any = broken
    for key in path[:-1]:
        target = target[key]
    del target[path[-1]]
    return broken


@pytest.mark.parametrize(
    "path",
    [
        ("issuer",),
        ("displayParameter",),
        ("issued",),
        ("issuer", "eIDASIdentifier"),
        ("issuer", "location"),
        ("credentialSubject", "hasClaim", 0, "awardedBy"),
        ("credentialSubject", "hasClaim", 0, "title"),
    ],
)
def test_broken_credential_does_not_conform(
    path: tuple[str | int, ...], loader: StaticLoader, shapes: Any
) -> None:
    document = _drop(elm_credential(ISSUER, FULL, AWARD), *path)
    ok, _ = conforms(document, loader, shapes)
    assert not ok


def test_controlled_vocabulary_shapes_apply(loader: StaticLoader, shapes: Any) -> None:
    document = elm_credential(ISSUER, FULL, AWARD)
    spec = document["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    spec["eqfLevel"]["inScheme"]["id"] = "http://data.europa.eu/snb/isced-f/25831c2"
    ok, text = conforms(document, loader, shapes)
    assert not ok
    assert "EQF" in text


def test_issuer_without_legal_identifier() -> None:
    issuer = ISSUER.model_copy(update={"legal_identifier": None})
    with pytest.raises(ElmIncomplete) as info:
        elm_credential(issuer, MINIMAL, AWARD)
    assert info.value.code == "elm_incomplete"


def test_language_without_eu_code() -> None:
    spec = MINIMAL.model_copy(update={"language": "qq"})
    with pytest.raises(ElmIncomplete):
        elm_credential(ISSUER, spec, AWARD)


def test_onsite_mode_is_not_guessed() -> None:
    spec = MINIMAL.model_copy(update={"participation_mode": "onsite"})
    node = elm_credential(ISSUER, spec, AWARD)["credentialSubject"]["hasClaim"][0]["specifiedBy"]
    assert "mode" not in node


def test_display_image(loader: StaticLoader, shapes: Any) -> None:
    default = elm_credential(ISSUER, MINIMAL, AWARD)
    image = default["displayParameter"]["individualDisplay"][0]["displayDetail"][0]["image"]
    png = base64.b64decode(image["content"])
    assert png.startswith(b"\x89PNG\r\n\x1a\n")
    assert image["contentType"]["id"].endswith("/PNG")
    jpeg = b"\xff\xd8\xff\xe0" + b"\x00" * 16
    given = elm_credential(ISSUER, MINIMAL, AWARD, display_image=jpeg)
    image = given["displayParameter"]["individualDisplay"][0]["displayDetail"][0]["image"]
    assert base64.b64decode(image["content"]) == jpeg
    assert image["contentType"]["id"].endswith("/JPEG")
    assert conforms(given, loader, shapes)[0]
    with pytest.raises(ElmIncomplete):
        elm_credential(ISSUER, MINIMAL, AWARD, display_image=b"GIF89a")


# --- the seal ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pki() -> dict[str, Any]:
    ca_key = jwk.generate("p256")
    ca = make_ca("Taito ELM Seal CA", ca_key, now=NOW, days=3650)
    seal_key = jwk.generate("p256")
    leaf = make_seal_certificate(
        ca,
        ca_key,
        seal_key.public_key(),
        organisation="Example University",
        country="FI",
        organisation_identifier="NTRFI-1234567-8",
        now=NOW,
        days=730,
    )
    return {"ca": ca, "key": seal_key, "leaf": leaf}


def test_seal_elm(pki: dict[str, Any]) -> None:
    credential = elm_credential(ISSUER, FULL, AWARD)
    token = seal_elm(
        credential,
        signer=KeySigner.for_key(pki["key"]),
        chain=[pki["leaf"], pki["ca"]],
        signing_time=NOW,
    )
    info = verify_seal(token, anchors=[pki["ca"]], now=NOW + timedelta(minutes=1))
    assert info.payload == rfc8785.dumps(credential)
    assert json.loads(info.payload) == credential
    assert info.header["cty"] == "octet-stream"
    assert info.organisation_identifier == "NTRFI-1234567-8"

    # An independent JOSE library verifies it with the key of x5c[0] ...
    header = json.loads(base64url.decode(token.split(".")[0]))
    chain = [load_der(base64.b64decode(c)) for c in header["x5c"]]
    key = jwcrypto_jwk.JWK.from_pem(
        chain[0]
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    verifier = jwcrypto_jws.JWS(
        header_registry={
            "sigT": jwcrypto_common.JWSEHeaderParameter("Claimed signing time", True, True, None)
        }
    )
    verifier.deserialize(token)
    verifier.verify(key, alg="ES256")
    assert json.loads(verifier.payload) == credential
    # ... and the x5c chain validates to our CA, not to another.
    assert validate_chain(chain, [pki["ca"]], now=NOW) == [pki["leaf"], pki["ca"]]
    other = make_ca("Other CA", jwk.generate("p256"), now=NOW, days=10)
    with pytest.raises(CertificateChainError):
        validate_chain(chain, [other], now=NOW)


def test_seal_elm_refuses_non_json(pki: dict[str, Any]) -> None:
    with pytest.raises(ElmIncomplete):
        seal_elm(
            {"x": float("nan")},
            signer=KeySigner.for_key(pki["key"]),
            chain=[pki["leaf"]],
            signing_time=NOW,
        )
