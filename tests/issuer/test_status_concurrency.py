"""No lost updates: 32 concurrent clients revoke 5,000 credentials through uvicorn on PostgreSQL.

Afterwards exactly those 5,000 bits are set in the published list and its proof verifies.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
from sqlmodel import Session, col, select

from issuer import status
from issuer.context import Caller, IssuerContext
from issuer.institutions import create, create_api_key
from issuer.models import ApiKeyCreate, InstitutionCreate
from issuer.tables import AchievementRow, IssuedCredential, StatusEntry
from keys import data_integrity, status_list
from keys.did import method_from_document
from keys.store import KeyStore, KeyVault
from schemas.contexts import ContextCache
from taito.database import make_engine, upgrade

CREDENTIALS = int(os.environ.get("TAITO_TEST_REVOCATIONS", "5000"))
CLIENTS = 32


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture
def server(
    database_url: str, shared: Path, tmp_path: Path
) -> Iterator[tuple[str, dict[str, str], list[str]]]:
    if not database_url.startswith("postgresql"):
        pytest.skip("the concurrency guarantee is tested on PostgreSQL")
    contexts = tmp_path / "contexts"
    ContextCache(contexts).sync_from_dir(shared / "contexts")
    master = KeyVault.new_master_key()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    engine = make_engine(database_url)
    upgrade(engine)
    context = IssuerContext(
        engine=engine,
        key_store=KeyStore(KeyVault(master)),
        loader=ContextCache(contexts).loader(),
        public_url=base,
    )
    operator = Caller("operator")
    with Session(engine) as session:
        institution = create(
            session,
            context,
            operator,
            InstitutionCreate(
                slug="concurrent",
                legal_name={"en": "Concurrent University"},
                url="https://c.example",
                country="FI",
                key_types=["ed25519"],
            ),
        )
        _, key = create_api_key(
            session,
            operator,
            institution,
            ApiKeyCreate(name="revoker", scopes=["credentials:revoke"]),
        )
        achievement = AchievementRow(issuer_id=institution.id, spec={})
        session.add(achievement)
        session.flush()
        rows = [  # real status entries; the documents are not the point here
            IssuedCredential(
                issuer_id=institution.id,
                achievement_id=achievement.id,
                recipient_key=f"student:{n}",
                award={},
                documents={},
            )
            for n in range(CREDENTIALS)
        ]
        session.add_all(rows)
        session.flush()
        ids = [row.id for row in rows]
        slots = status.choose(session, institution, [("bitstring", "revocation")] * CREDENTIALS)
        entries = [(lst, position, cid) for (lst, position), cid in zip(slots, ids, strict=True)]
        assert not status.record(session, entries)
        status.count_used(session, dict(Counter(lst.id for lst, _ in slots)))
        session.commit()
    engine.dispose()
    env = {
        **os.environ,
        "TAITO_DATABASE_URL": database_url,
        "TAITO_MASTER_KEY": master,
        "TAITO_CONTEXT_DIR": str(contexts),
        "TAITO_PUBLIC_URL": base,
        "TAITO_LOG_LEVEL": "WARNING",
    }
    log = (tmp_path / "uvicorn.log").open("wb")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "--factory",
            "taito.app:app_factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            "2",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
        else:
            pytest.fail("uvicorn did not start")
        yield base, {"Authorization": f"Bearer {key}"}, ids
    finally:
        process.terminate()
        process.wait(timeout=30)
        log.close()


def test_concurrent_revocations_lose_nothing(
    server: tuple[str, dict[str, str], list[str]], database_url: str, tmp_path: Path
) -> None:
    base, headers, ids = server
    chunks = [ids[i::CLIENTS] for i in range(CLIENTS)]
    limits = httpx.Limits(max_connections=CLIENTS)

    def revoke(chunk: list[str]) -> list[int]:
        with httpx.Client(base_url=base, headers=headers, timeout=60, limits=limits) as client:
            return [
                client.post(f"/issuers/concurrent/credentials/{cid}/revoke").status_code
                for cid in chunk
            ]

    with ThreadPoolExecutor(CLIENTS) as pool:
        codes = [code for result in pool.map(revoke, chunks) for code in result]
    assert codes == [200] * len(ids)

    engine = make_engine(database_url)
    with Session(engine) as session:
        entries = session.exec(
            select(StatusEntry).where(col(StatusEntry.credential_id).in_(ids))
        ).all()
    engine.dispose()
    expected: dict[str, set[int]] = {}
    for entry in entries:
        expected.setdefault(entry.list_id, set()).add(entry.position)
    with httpx.Client(base_url=base, timeout=60) as client:
        did_document = client.get("/issuers/concurrent/did.json").json()
        loader = ContextCache(tmp_path / "contexts").loader()
        for list_id, positions in expected.items():
            document = client.get(f"/issuers/concurrent/status/{list_id}").json()
            data_integrity.verify_proofs(
                document,
                resolve_key=lambda method: method_from_document(did_document, method),
                loader=loader,
                now=datetime.now(UTC),
            )
            bits = status_list.decode_bitstring(document["credentialSubject"]["encodedList"])
            assert set(bits.set_indices()) == positions
    assert sum(len(p) for p in expected.values()) == CREDENTIALS
