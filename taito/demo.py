"""``taito demo --out DIR``: the whole issuance, in-process, on a throw-away SQLite database.

It drives the real HTTP API (an in-process ASGI client) exactly as a registrar's system would:
create an institution, an API key and an achievement, issue in every format, assemble a CLR, bake
the badge, revoke a second credential and publish the status list. The institution uses did:key
so that ``taito verify`` checks every output offline.
"""

from __future__ import annotations

import json
import secrets
import tempfile
import warnings
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from keys import jades, jwk
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito import demo_openid, demo_wallet
from taito.settings import Settings

ACHIEVEMENT: dict[str, Any] = {
    "name": {
        "en": "Data Analytics with Python",
        "fi": "Data-analytiikka Pythonilla",
        "sv": "Dataanalys med Python",
    },
    "description": {
        "en": "Cleaning, exploring and visualising data with pandas and matplotlib.",
        "fi": "Datan siivous, tutkiminen ja visualisointi pandasilla ja matplotlibilla.",
    },
    "criteria": {"en": "Passed four graded assignments and a final project (grade 1-5)."},
    "achievement_type": "Course",
    "alignments": [
        {
            "target_name": "use data analysis software",
            "target_framework": "ESCO",
            "target_url": "http://data.europa.eu/esco/skill/0c62a3b1-25a6-4e11-a8cd-c8c1ac5ab7a4",
        }
    ],
    "learning_outcomes": [
        {"text": {"en": "Explore a data set and explain it with descriptive statistics."}},
        {"text": {"en": "Present findings with clear, accessible charts."}},
    ],
    "ects_credits": 5,
    "workload_hours": 135,
    "eqf_level": 6,
    "isced_f": "0613",
    "participation_mode": "online",
    "assessment_type": "Assignments and a final project",
    "language": "en",
}
LEARNER = {
    "email": "aino.virtanen@example.fi",
    "given_name": "Aino",
    "family_name": "Virtanen",
    "student_number": "1234567",
}


@dataclass
class Output:
    file: str
    what: str
    verified: str


def run(out: Path, contexts: Path) -> list[Output]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from fastapi.testclient import TestClient

    from keys import x509
    from taito.app import create_app

    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="taito-demo-") as scratch:
        work = Path(scratch)
        ca_key = jwk.generate("p256")
        ca = x509.make_ca("Taito Demo Seal CA", ca_key, now=datetime.now(UTC), days=365)
        (work / "ca.pem").write_bytes(x509.dump_pem(ca))
        (work / "ca.jwk").write_text(json.dumps(ca_key.to_jwk()))
        operator = secrets.token_urlsafe(24)
        settings = Settings(
            database_url=f"sqlite:///{work / 'demo.db'}",
            master_key=KeyVault.new_master_key(),
            operator_token=operator,
            public_url="https://demo.taito.example",
            context_dir=contexts,
            seal_ca_cert_file=work / "ca.pem",
            seal_ca_key_file=work / "ca.jwk",
            trust_anchors_file=work / "ca.pem",
            # offline: the demo's status list URLs do not resolve, so the wallet warns on them
            verifier_unknown_status_is_warning=True,
            log_level="WARNING",
        )
        from taito.database import make_engine, upgrade

        engine = make_engine(settings.database_url)
        upgrade(engine)
        engine.dispose()
        with TestClient(create_app(settings)) as client:
            outputs = _issue_everything(client, operator, out, ca)
    # OpenID4VCI and OpenID4VP between issuer, wallet and verifier, over HTTP on loopback.
    return outputs + [Output(*row) for row in demo_openid.run(out, contexts, ACHIEVEMENT)]


def _issue_everything(client: Any, operator: str, out: Path, ca: Any) -> list[Output]:
    def call(method: str, path: str, headers: dict[str, str], **kwargs: Any) -> Any:
        response = client.request(method, path, headers=headers, **kwargs)
        if response.status_code >= 300:
            raise RuntimeError(f"{method} {path}: {response.status_code} {response.text}")
        return response

    root = {"Authorization": f"Bearer {operator}"}
    call(
        "POST",
        "/issuers",
        root,
        json={
            "slug": "demo-university",
            "did_method": "key",
            "key_types": ["ed25519", "p256"],
            "legal_name": {
                "en": "Demo University of Applied Sciences",
                "fi": "Demo-ammattikorkeakoulu",
            },
            "url": "https://demo.taito.example",
            "email": "registrar@demo.taito.example",
            "country": "FI",
            "legal_identifier": "0000000-0",
            "language": "en",
        },
    )
    key = call(
        "POST",
        "/issuers/demo-university/api-keys",
        root,
        json={"name": "demo", "scopes": ["issuer:admin"]},
    ).json()["key"]
    auth = {"Authorization": f"Bearer {key}"}
    achievement = call(
        "POST", "/issuers/demo-university/achievements", auth, json=ACHIEVEMENT
    ).json()
    learner = demo_wallet.register(call, LEARNER["email"])
    issued = call(
        "POST",
        "/issuers/demo-university/credentials",
        auth,
        json={
            "achievement_id": achievement["id"],
            "recipient": {**LEARNER, "did": learner.did},  # binds the learner's holder key
            "formats": ["ob3-di", "ob3-jwt", "elm", "sd-jwt-vc"],
            "results": [{"name": "Grade", "value": "5"}],
        },
    ).json()
    base = f"/issuers/demo-university/credentials/{issued['id'].removeprefix('urn:uuid:')}"
    files: dict[str, bytes] = {
        "ob3-di.json": call("GET", f"{base}/download/ob3-di", auth).content,
        "ob3-jwt.txt": call("GET", f"{base}/download/ob3-jwt", auth).content + b"\n",
        "sd-jwt-vc.txt": call("GET", f"{base}/download/sd-jwt-vc", auth).content + b"\n",
        "elm-sealed.jws": call("GET", f"{base}/download/elm", auth).content + b"\n",
        "issuer-did.json": json.dumps(
            call("GET", "/issuers/demo-university/did.json", {}).json(), indent=2
        ).encode(),
        "badge.png": call("GET", f"{base}/image.png", auth).content,
        "badge.svg": call("GET", f"{base}/image.svg", auth).content,
    }
    sealed = jades.verify_seal(
        files["elm-sealed.jws"].decode().strip(), anchors=[ca], now=datetime.now(UTC)
    )
    files["elm.json"] = json.dumps(
        json.loads(sealed.payload), indent=2, ensure_ascii=False
    ).encode()
    files["clr.json"] = json.dumps(
        call("POST", "/issuers/demo-university/clr", auth, json={"recipient": LEARNER}).json(),
        indent=2,
    ).encode()
    revoked = call(
        "POST",
        "/issuers/demo-university/credentials",
        auth,
        json={
            "achievement_id": achievement["id"],
            "formats": ["ob3-di"],
            "recipient": {
                **LEARNER,
                "email": "another.learner@example.fi",
                "student_number": "7654321",
            },
        },
    ).json()
    revoked_base = f"/issuers/demo-university/credentials/{revoked['id'].removeprefix('urn:uuid:')}"
    call("POST", f"{revoked_base}/revoke", auth, json={"reason": "demo: issued in error"})
    files["ob3-di-revoked.json"] = call("GET", f"{revoked_base}/download/ob3-di", auth).content
    status_url = revoked["formats"]["ob3-di"]["credentialStatus"]["statusListCredential"]
    status_path = status_url.removeprefix("https://demo.taito.example")
    files["status-list-revocation.json"] = json.dumps(
        call("GET", status_path, {}).json(), indent=2
    ).encode()
    wallet_files, shared = demo_wallet.hold_present_share(call, learner, files)
    files.update(wallet_files)
    for name, data in files.items():
        (out / name).write_bytes(
            data if data.endswith(b"\n") or name.endswith((".png", ".svg")) else data + b"\n"
        )
    return _describe(out, client, shared)


def _describe(out: Path, client: Any, shared: str) -> list[Output]:
    from verifier.credential import VerifyOptions, verify_credential

    loader = client.app.state.issuer.loader
    options = VerifyOptions(now=datetime.now(UTC), loader=loader)
    what = {
        "ob3-di.json": "Open Badges 3.0, Data Integrity eddsa-rdfc-2022",
        "ob3-jwt.txt": "Open Badges 3.0, VC-JWT",
        "sd-jwt-vc.txt": "SD-JWT VC (every achievement claim selectively disclosable)",
        "elm-sealed.jws": "Europass (ELM 3.2), JAdES baseline-B seal",
        "elm.json": "Europass (ELM 3.2) credential, the seal's payload",
        "clr.json": "CLR 2.0 learner record, signed",
        "issuer-did.json": "the issuer's DID document",
        "badge.png": "baked badge (PNG iTXt openbadgecredential)",
        "badge.svg": "baked badge (SVG openbadges:credential)",
        "ob3-di-revoked.json": "a second credential, revoked",
        "status-list-revocation.json": "published Bitstring Status List credential",
    }
    results = []
    for name, description in what.items():
        verdict = "-"
        if name in (
            "ob3-di.json",
            "ob3-jwt.txt",
            "sd-jwt-vc.txt",
            "clr.json",
            "ob3-di-revoked.json",
            "status-list-revocation.json",
        ):
            report = verify_credential((out / name).read_text(), options)
            verdict = "verified" if report.verified else "NOT verified"
            status = report.check("status")
            if report.verified and status is not None and status.status == "warning":
                verdict = "signature valid; status not checked offline"
        results.append(Output(name, description, verdict))
    return results + [Output(*row) for row in demo_wallet.describe(out, options, shared)]


def ensure_contexts(directory: Path, shared: Path | None) -> Path:
    cache = ContextCache(directory)
    if cache.missing() and shared is not None and (shared / "MANIFEST.json").is_file():
        cache.sync_from_dir(shared)
    return directory
