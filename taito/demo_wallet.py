"""The wallet part of ``taito demo``: the demo learner holds, presents and shares.

Driven through the same in-process HTTP client as the issuance (``taito/demo.py``): the learner
registers, the institution issues to the learner's holder DID (``did:key`` of their P-256 key, so
``credentialSubject.id`` and the SD-JWT VC's ``cnf`` name it), the learner imports what was
issued, makes a selective SD-JWT presentation and a Data Integrity presentation for an employer,
and a share link. Written to the demo folder:

- ``sd-jwt-presentation.txt``: the SD-JWT VC with only the chosen claims and a KB-JWT
- ``vp-di.json``: a Verifiable Presentation with an ``authentication`` Data Integrity proof
- ``presentation-params.json``: the ``nonce`` / ``aud`` and ``challenge`` / ``domain`` they answer
- ``share-link.txt``: the share link (its database is thrown away with the demo, so it is an
  example of the form; the demo opens it in-process before that)
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from verifier.credential import VerifyOptions, verify_credential

AUDIENCE = "https://employer.example/verifier"
DOMAIN = "employer.example"
# The claims of the SD-JWT VC the learner chooses to show (JSON Pointers, RFC 6901).
REVEAL = ["/achievement/name", "/achievement/ects_credits", "/given_name", "/family_name"]
# What the learner imports: file name -> media type.
IMPORTS = {
    "ob3-di.json": "application/json",
    "ob3-jwt.txt": "application/jwt",
    "sd-jwt-vc.txt": "application/dc+sd-jwt",
    "elm-sealed.jws": "application/jwt",
    "clr.json": "application/json",
}
DESCRIPTIONS = {
    "sd-jwt-presentation.txt": "SD-JWT VC presentation: 4 chosen claims and a KB-JWT",
    "vp-di.json": "Verifiable Presentation, Data Integrity (ecdsa-rdfc-2019, authentication)",
    "presentation-params.json": "the nonce / aud and challenge / domain of both presentations",
    "share-link.txt": "a share link to the badge and the chosen SD-JWT claims",
}
Call = Callable[..., Any]


@dataclass
class DemoLearner:
    headers: dict[str, str]
    did: str  # the holder DID the institution issues to


def register(call: Call, email: str) -> DemoLearner:
    """A wallet account for the demo learner, and the DID of their P-256 holder key."""
    body = call(
        "POST",
        "/wallet/auth/register",
        {},
        json={"email": email, "password": secrets.token_urlsafe(18), "display_name": "Aino"},
    ).json()
    headers = {"Authorization": f"Bearer {body['tokens']['access_token']}"}
    keys = call("GET", "/wallet/keys", headers).json()
    did = next(k["did_key"] for k in keys if k["algorithm"] == "ES256")
    return DemoLearner(headers, did)


def hold_present_share(
    call: Call, learner: DemoLearner, files: dict[str, bytes]
) -> tuple[dict[str, bytes], str]:
    """Import what was issued, present it twice and share it; the files to write and a line
    about the share link opened in-process."""
    ids = {}
    for name, media_type in IMPORTS.items():
        imported = call(
            "POST",
            "/wallet/credentials",
            {**learner.headers, "content-type": media_type},
            content=files[name].strip(),
        )
        ids[name] = imported.json()["id"]
    nonce, challenge = secrets.token_urlsafe(16), secrets.token_urlsafe(16)
    sd_jwt = call(
        "POST",
        "/wallet/presentations",
        learner.headers,
        json={
            "format": "dc+sd-jwt",
            "credentials": [{"id": ids["sd-jwt-vc.txt"], "reveal": REVEAL}],
            "nonce": nonce,
            "audience": AUDIENCE,
        },
    ).json()["presentation"]
    vp = call(
        "POST",
        "/wallet/presentations",
        learner.headers,
        json={
            "format": "ldp_vp",
            "credentials": [{"id": ids["ob3-di.json"]}],
            "challenge": challenge,
            "domain": DOMAIN,
        },
    ).json()["presentation"]
    share = call(
        "POST",
        "/wallet/shares",
        learner.headers,
        json={
            "credentials": [
                {"id": ids["ob3-di.json"]},
                {"id": ids["sd-jwt-vc.txt"], "reveal": REVEAL},
            ],
            "label": "Demo: for an employer",
            "expires_at": (datetime.now(UTC) + timedelta(days=30)).isoformat(),
        },
    ).json()
    opened = call("GET", "/s/" + share["token"], {"Accept": "application/json"}).json()
    verified = sum(c["verification"]["verified"] for c in opened["credentials"])
    seen = f"opened in-process: {verified} of {len(opened['credentials'])} verified"
    params = {"nonce": nonce, "aud": AUDIENCE, "challenge": challenge, "domain": DOMAIN}
    written = {
        "sd-jwt-presentation.txt": sd_jwt.encode() + b"\n",
        "vp-di.json": json.dumps(vp, indent=2).encode() + b"\n",
        "presentation-params.json": json.dumps(params, indent=2).encode() + b"\n",
        "share-link.txt": share["url"].encode() + b"\n",
    }
    return written, seen


def describe(out: Path, options: VerifyOptions, shared: str) -> list[tuple[str, str, str]]:
    """(file, what, verdict) rows: each presentation verified offline with its parameters."""
    params = json.loads((out / "presentation-params.json").read_text())
    checks = {
        "sd-jwt-presentation.txt": VerifyOptions(
            now=options.now,
            loader=options.loader,
            nonce=params["nonce"],
            audience=params["aud"],
            require_key_binding=True,
        ),
        "vp-di.json": VerifyOptions(
            now=options.now,
            loader=options.loader,
            challenge=params["challenge"],
            domain=params["domain"],
        ),
    }
    rows = []
    for name, what in DESCRIPTIONS.items():
        verdict = "-"
        if name in checks:
            report = verify_credential((out / name).read_text(), checks[name])
            holder = report.check("holder_binding")
            bound = holder is not None and holder.status == "passed"
            verdict = "verified, holder-bound" if report.verified and bound else "NOT verified"
        elif name == "share-link.txt":
            verdict = shared
        rows.append((name, what, verdict))
    return rows
