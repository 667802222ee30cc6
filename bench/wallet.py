"""Wallet list and search latency: one learner with N credentials, ``GET /wallet/credentials``.

    python -m bench.wallet [--credentials 5000] [--requests 200] [--database-url URL]

Fills a throw-away database (SQLite by default; a PostgreSQL URL gets its own schema) with one
learner holding N distinct VC-JWT Open Badges (signed by a did:key issuer, verified and stored
encrypted through the wallet's own ``store_credential``), then sends requests through the ASGI
app (``create_app``, real routing, authentication and serialisation): pages of the plain list at
random offsets and searches (``q``) for words that match from one in ten to one in a hundred
credentials, 50 per page. Planner statistics are refreshed after filling (``ANALYZE``, as
autovacuum does). Prints p50 / p95 / max in milliseconds; the target is p95 < 50 ms.
"""

from __future__ import annotations

import argparse
import random
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlmodel import Session

from bench.inputs import open_badge
from keys import jwk, vc_jwt
from keys.did import did_key
from keys.signing import KeySigner
from keys.store import KeyVault
from schemas.contexts import ContextCache
from taito.app import create_app
from taito.database import make_engine, upgrade
from taito.settings import Settings
from verifier.credential import VerifyOptions, verify_credential
from wallet import accounts, storage
from wallet.tables import Learner

ROOT = Path(__file__).resolve().parents[1]
# Words that are not in the shared description of ``bench.inputs.open_badge``: each one matches
# one credential in ten.
SUBJECTS = [
    "econometrics", "databases", "robotics", "ethics", "cloud computing", "finnish",
    "project management", "cyber security", "linear algebra", "graph theory",
]  # fmt: skip


def _fill(app: object, count: int, loader: object) -> tuple[str, float]:
    context = app.state.wallet  # type: ignore[attr-defined]
    issuer = jwk.generate("ed25519")
    signer = KeySigner.for_key(issuer)
    issuer_did = did_key(issuer.public_key())
    options = VerifyOptions(now=datetime.now(UTC), loader=loader)
    started = time.perf_counter()
    with Session(context.engine) as session:
        learner = accounts.register(session, context, "bench@example.fi", "bench password 123")
        learner_id = learner.id
        for i in range(count):
            credential = open_badge(issuer_did, alignments=2)
            subject = SUBJECTS[i % len(SUBJECTS)]
            credential["id"] = f"urn:uuid:{uuid.uuid4()}"
            credential["credentialSubject"]["achievement"]["name"] = f"{subject.title()} {i}"
            if i % 100 == 0:
                credential["credentialSubject"]["achievement"]["name"] += " honours"
            token = vc_jwt.sign_credential_jwt(credential, signer=signer, profile="ob3")
            received = storage.receive(token)
            report = verify_credential(token, options)
            assert report.verified, report.to_json()
            storage.store_credential(session, context, learner, received, report)
            if i % 500 == 499:
                session.commit()
        session.commit()
        assert session.get(Learner, learner_id) is not None
    return learner_id, time.perf_counter() - started


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--credentials", type=int, default=5000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    parser.add_argument("--contexts", type=Path, default=ROOT.parent / "shared" / "contexts")
    args = parser.parse_args()
    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        database_url = args.database_url or f"sqlite:///{tmp}/bench-wallet.db"
        schema = None
        if database_url.startswith("postgresql"):
            schema = f"bench_{uuid.uuid4().hex[:10]}"
            admin = make_engine(database_url)
            with admin.begin() as connection:
                connection.execute(text(f'CREATE SCHEMA "{schema}"'))
            admin.dispose()
            database_url = (
                make_url(database_url)
                .update_query_dict({"options": f"-csearch_path={schema}"})
                .render_as_string(hide_password=False)
            )
        try:
            cache = ContextCache(Path(tmp) / "contexts")
            cache.sync_from_dir(args.contexts)
            engine = make_engine(database_url)
            upgrade(engine)
            engine.dispose()
            app = create_app(
                Settings(
                    database_url=database_url,
                    master_key=KeyVault.new_master_key(),
                    context_dir=Path(tmp) / "contexts",
                    log_level="WARNING",
                )
            )
            _learner_id, fill_seconds = _fill(
                app, args.credentials, cache.loader(include_test_only=False)
            )
            # Planner statistics as autovacuum (PostgreSQL) keeps them in steady state.
            with app.state.engine.connect().execution_options(
                isolation_level="AUTOCOMMIT"
            ) as connection:
                postgres = connection.dialect.name == "postgresql"
                connection.execute(text("VACUUM ANALYZE" if postgres else "ANALYZE"))
            print(
                f"stored {args.credentials} credentials (signed, verified, encrypted) "
                f"in {fill_seconds:.1f} s on {make_url(database_url).get_backend_name()}"
            )
            with TestClient(app) as client:
                login = client.post(
                    "/wallet/auth/login",
                    json={"email": "bench@example.fi", "password": "bench password 123"},
                )
                headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
                pages = max(1, args.credentials // 50)

                def one(record: list[float] | None) -> int:
                    kind = rng.random()
                    if kind < 0.4:
                        params = {"limit": "50", "offset": str(rng.randrange(pages) * 50)}
                    elif kind < 0.8:
                        params = {"q": rng.choice(SUBJECTS), "limit": "50"}
                    else:
                        params = {"q": "honours", "limit": "50"}
                    started = time.perf_counter()
                    response = client.get("/wallet/credentials", params=params, headers=headers)
                    elapsed = (time.perf_counter() - started) * 1000
                    assert response.status_code == 200, response.text
                    if record is not None:
                        record.append(elapsed)
                    return int(response.json()["total"])

                for _ in range(20):
                    one(None)
                timings: list[float] = []
                for _ in range(args.requests):
                    one(timings)
        finally:
            if schema is not None:
                admin = make_engine(args.database_url)
                with admin.begin() as connection:
                    connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
                admin.dispose()
    p50, p95 = statistics.median(timings), _percentile(timings, 0.95)
    print(
        f"GET /wallet/credentials (list pages and searches, 50 per page) over {args.requests} "
        f"requests: p50 {p50:.1f} ms, p95 {p95:.1f} ms, max {max(timings):.1f} ms "
        f"(target p95 < 50 ms: {'met' if p95 < 50 else 'NOT met'})"
    )


if __name__ == "__main__":
    main()
