"""Table-driven verification scenarios: one JSON file per case in ``scenarios/``, one test.

Each file holds a ``name``, a ``build`` recipe, the ``options`` the verifier is given and the
expected verdict: ``expect.verified`` and ``expect.checks`` (``{check id: [status, code]}``, a
subset: the pair must be among the checks with that id). ``expect.nested`` (optional) lists the
verdicts of the member reports, in order. ``xfail`` (optional) is a reason: the case documents a
known verifier bug and is run with ``xfail(strict=True)``.

Recipes that ``issue`` run over the ``live`` fixture (a real server on loopback: did:web and
status lists over HTTP, verified with the app's own verifier options). Recipes that ``sign``
run in-process with a fixed clock and a status checker whose HTTP refuses the network.

``build`` keys, applied in this order:

``issue``      an issuance request (or a list of them) for ``Live.issue``; a value
               ``{"days": n}`` is now + n days as an ISO date-time; ``holder_key: true`` binds a
               fresh P-256 holder key (``holder_jwk``)
``sign``       (in-process) an Open Badge by ``issuer`` (``"did:key"``: a fresh did:key; else
               that DID, signed with a fresh key under ``key_id``), members in ``set`` replaced
``clr``        the input is the learner record (CLR 2.0) of the issued credentials
``take``       else the input is this format of the first issued credential
``revoke`` / ``suspend``   indices of issued credentials to revoke / suspend (after ``clr``)
``mutate``     ``{"set": {dotted.path: value}}`` on the (JSON) input
``resign``     ``"other-did-key"``: the proof is replaced by one from an unrelated did:key
``present_vp`` wrap the input in a presentation signed by a holder did:key (``challenge``,
               ``domain``)
``present_kb`` SD-JWT presentation with a KB-JWT (``reveal``, ``nonce``, ``audience``,
               ``iat_seconds``: offset from now)
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.inputs import open_badge
from keys import data_integrity, jwk, sd_jwt
from keys.did import did_key
from keys.signing import KeySigner
from schemas.contexts import ContextCache, StaticLoader
from tests.verifier.conftest import Live
from verifier.credential import VerifyOptions, verify_credential
from verifier.http import GuardedHttp, HttpPolicy
from verifier.report import CHECK_IDS, VerificationReport
from verifier.resolver import DidResolver
from verifier.status import StatusChecker

SCENARIOS = Path(__file__).parent / "scenarios"
NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)  # the clock of in-process scenarios
RECIPE_KEYS = {
    "issue",
    "sign",
    "clr",
    "take",
    "revoke",
    "suspend",
    "mutate",
    "resign",
    "present_vp",
    "present_kb",
}
OPTION_KEYS = {
    "challenge",
    "domain",
    "nonce",
    "audience",
    "require_key_binding",
    "trusted_issuers",
    "untrusted_is_failure",
}


def _scenarios() -> list[Any]:
    params = []
    for path in sorted(SCENARIOS.glob("*.json")):
        scenario = json.loads(path.read_text(encoding="utf-8"))
        marks = []
        if scenario.get("xfail"):
            marks.append(pytest.mark.xfail(strict=True, reason=scenario["xfail"]))
        params.append(pytest.param(scenario, id=path.stem, marks=marks))
    return params


# --- recipe steps ---------------------------------------------------------------------------


def _dates(value: Any, now: datetime) -> Any:
    if isinstance(value, dict) and set(value) == {"days"}:
        return (now + timedelta(days=value["days"])).isoformat().replace("+00:00", "Z")
    if isinstance(value, dict):
        return {k: _dates(v, now) for k, v in value.items()}
    if isinstance(value, list):
        return [_dates(v, now) for v in value]
    return value


def _set(document: dict[str, Any], dotted: str, value: Any) -> None:
    *parents, last = dotted.split(".")
    target: Any = document
    for part in parents:
        target = target[int(part)] if isinstance(target, list) else target[part]
    if isinstance(target, list):
        target[int(last)] = value
    else:
        assert last in target, f"mutate: {dotted} is not in the input"
        target[last] = value


def _mutate(data: Any, spec: dict[str, Any]) -> Any:
    assert isinstance(data, dict), "mutate needs a JSON input"
    changed = copy.deepcopy(data)
    for dotted, value in spec.get("set", {}).items():
        _set(changed, dotted, value)
    return changed


def _resign(data: Any, how: str, loader: Any) -> Any:
    assert how == "other-did-key" and isinstance(data, dict)
    unsigned = {k: v for k, v in data.items() if k != "proof"}
    return data_integrity.add_proof(
        unsigned,
        signer=KeySigner.for_key(jwk.generate("ed25519")),
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=datetime.now(UTC) - timedelta(minutes=1),
    )


def _present_vp(data: Any, spec: dict[str, Any], loader: Any, now: datetime) -> Any:
    holder = KeySigner.for_key(jwk.generate("ed25519"))
    presentation = {
        "@context": ["https://www.w3.org/ns/credentials/v2"],
        "type": ["VerifiablePresentation"],
        "holder": holder.key_id.split("#")[0],
        "verifiableCredential": [data],
    }
    return data_integrity.add_proof(
        presentation,
        signer=holder,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=now - timedelta(seconds=5),
        proof_purpose="authentication",
        challenge=spec.get("challenge"),
        domain=spec.get("domain"),
    )


def _present_kb(data: Any, spec: dict[str, Any], holder: jwk.PrivateKey, now: datetime) -> str:
    assert isinstance(data, str), "present_kb needs an SD-JWT"
    return sd_jwt.present(
        data,
        reveal=spec.get("reveal"),
        holder=KeySigner.for_key(holder),
        nonce=spec.get("nonce"),
        audience=spec.get("audience"),
        iat=now + timedelta(seconds=spec.get("iat_seconds", 0)),
    )


def _options(base: VerifyOptions, spec: dict[str, Any]) -> VerifyOptions:
    unknown = set(spec) - OPTION_KEYS
    assert not unknown, f"unknown options {unknown}"
    values = dict(spec)
    if values.get("trusted_issuers") is not None:
        values["trusted_issuers"] = frozenset(values["trusted_issuers"])
    return replace(base, **values)


def _finish(
    data: Any, build: dict[str, Any], loader: Any, now: datetime, holder: jwk.PrivateKey | None
) -> Any:
    if "mutate" in build:
        data = _mutate(data, build["mutate"])
    if "resign" in build:
        data = _resign(data, build["resign"], loader)
    if "present_vp" in build:
        data = _present_vp(data, build["present_vp"], loader, now)
    if "present_kb" in build:
        assert holder is not None, "present_kb needs issue.holder_key"
        data = _present_kb(data, build["present_kb"], holder, now)
    return data


def _run_live(live: Live, scenario: dict[str, Any]) -> VerificationReport:
    build = scenario["build"]
    context = live.app.state.verifier
    now = datetime.now(UTC)
    requests = build["issue"] if isinstance(build["issue"], list) else [build["issue"]]
    holder: jwk.PrivateKey | None = None
    issued = []
    for request in requests:
        body = _dates(dict(request), now)
        if body.pop("holder_key", False):
            holder = jwk.generate("p256")
            body["holder_jwk"] = holder.public_key().to_jwk()
        issued.append(live.issue(**body))
    if build.get("clr"):
        response = live.http.post(
            "/issuers/live/clr",
            headers=live.issuing,
            json={"recipient": {"email": "learner@example.fi", "given_name": "Aino"}},
        )
        assert response.status_code == 200, response.text
        data: Any = response.json()
    else:
        data = issued[0]["formats"][build["take"]]
    for action in ("revoke", "suspend"):
        for index in build.get(action, []):
            changed = live.http.post(
                f"/issuers/live/credentials/{issued[index]['id']}/{action}", headers=live.issuing
            )
            assert changed.status_code == 200, changed.text
    live.forget()
    data = _finish(data, build, context.loader, now, holder)
    return verify_credential(data, _options(context.options(), scenario.get("options", {})))


def _refuse(request: httpx.Request) -> httpx.Response:
    raise httpx.ConnectError("in-process scenarios do not use the network", request=request)


def _run_local(loader: StaticLoader, scenario: dict[str, Any]) -> VerificationReport:
    build = scenario["build"]
    spec = build["sign"]
    key = jwk.generate("ed25519")
    if spec.get("issuer", "did:key") == "did:key":
        signer = KeySigner.for_key(key)
        issuer = did_key(key.public_key())
    else:
        issuer = spec["issuer"]
        signer = KeySigner(key, spec["key_id"])
    credential = open_badge(issuer)
    for dotted, value in _dates(spec.get("set", {}), NOW).items():
        *parents, last = dotted.split(".")
        target = credential
        for part in parents:
            target = target[part]
        target[last] = value
    data: Any = data_integrity.add_proof(
        credential,
        signer=signer,
        cryptosuite="eddsa-rdfc-2022",
        loader=loader,
        created=NOW - timedelta(days=1),
    )
    data = _finish(data, build, loader, NOW, None)
    with GuardedHttp(HttpPolicy(), transport=httpx.MockTransport(_refuse)) as http:
        resolver = DidResolver(http)
        base = VerifyOptions(
            now=NOW,
            loader=loader,
            resolve_method=resolver,
            jwt_key_resolver=resolver.jwt_issuer_key,
            status_checker=StatusChecker(http, loader=loader, resolve_method=resolver),
        )
        return verify_credential(data, _options(base, scenario.get("options", {})))


# --- the test -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def loader(
    tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> Iterator[StaticLoader]:
    shared: Path = request.getfixturevalue("shared")
    cache = ContextCache(tmp_path_factory.mktemp("contexts"))
    cache.sync_from_dir(shared / "contexts")
    yield cache.loader(include_test_only=False)


def _pairs(report: VerificationReport, check_id: str) -> list[tuple[str, str]]:
    return [(c.status, c.code) for c in report.checks if c.id == check_id]


def _assert_verdict(report: VerificationReport, expect: dict[str, Any], where: str) -> None:
    body = json.dumps(report.to_json(), indent=1)
    assert report.verified is expect["verified"], f"{where}: {body}"
    for check_id, (status, code) in expect.get("checks", {}).items():
        assert check_id in CHECK_IDS, f"{where}: {check_id} is not a check id"
        assert (status, code) in _pairs(report, check_id), f"{where} {check_id}: {body}"
    if "nested" in expect:
        assert len(report.nested) == len(expect["nested"]), f"{where}: {body}"
        for index, (member, wanted) in enumerate(zip(report.nested, expect["nested"], strict=True)):
            _assert_verdict(member, wanted, f"{where} member {index}")


def test_every_scenario_file_is_well_formed() -> None:
    files = sorted(SCENARIOS.glob("*.json"))
    assert len(files) >= 18
    names = set()
    for path in files:
        scenario = json.loads(path.read_text(encoding="utf-8"))
        assert set(scenario) <= {"name", "description", "build", "options", "expect", "xfail"}
        assert set(scenario["build"]) <= RECIPE_KEYS, path.name
        assert ("issue" in scenario["build"]) != ("sign" in scenario["build"]), path.name
        assert set(scenario.get("options", {})) <= OPTION_KEYS, path.name
        assert isinstance(scenario["expect"]["verified"], bool), path.name
        assert scenario["expect"].get("checks"), f"{path.name} expects no check"
        names.add(scenario["name"])
    assert len(names) == len(files)


@pytest.mark.parametrize("scenario", _scenarios())
def test_scenario(scenario: dict[str, Any], request: pytest.FixtureRequest) -> None:
    if "issue" in scenario["build"]:
        report = _run_live(request.getfixturevalue("live"), scenario)
    else:
        report = _run_local(request.getfixturevalue("loader"), scenario)
    assert {c.id for c in report.checks} <= set(CHECK_IDS)
    json.dumps(report.to_json())
    _assert_verdict(report, scenario["expect"], scenario["name"])
