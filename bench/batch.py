"""Bulk issuance throughput: N rows drained by W ``taito worker`` processes on PostgreSQL.

    python -m bench.batch --database-url postgresql+psycopg://postgres@127.0.0.1:5432/test \\
        --rows 10000 --workers 2 [--chunk 100] [--format ob3-di] [--kill-one]

Creates a throw-away schema, an institution, an achievement and a batch (through the use cases,
no HTTP), starts the workers, waits until every row is done, and prints credentials/s (rows over
the wall time from the first worker's start to the last row done). ``--kill-one`` SIGKILLs the
first worker a third of the way through and checks nothing was lost or issued twice.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

from sqlalchemy import func, text
from sqlalchemy.engine import make_url
from sqlmodel import Session, col, select

from issuer import achievements, batches, institutions, worker
from issuer.batch_tables import BatchRow
from issuer.context import Caller, IssuerContext
from issuer.models import InstitutionCreate
from issuer.tables import IssuedCredential
from keys.store import KeyStore, KeyVault
from schemas.contexts import ContextCache
from schemas.learning import AchievementSpec
from taito.database import make_engine, upgrade

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--database-url", default=os.environ.get("TAITO_TEST_DATABASE_URL"))
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--chunk", type=int, default=worker.CHUNK)
    parser.add_argument("--format", action="append", dest="formats")
    parser.add_argument("--contexts", type=Path, default=ROOT.parent / "shared" / "contexts")
    parser.add_argument("--kill-one", action="store_true")
    args = parser.parse_args()
    if not args.database_url or not args.database_url.startswith("postgresql"):
        parser.error("--database-url must be PostgreSQL (SQLite runs one in-process worker)")
    formats = args.formats or ["ob3-di"]

    schema = f"bench_{uuid.uuid4().hex[:10]}"
    admin = make_engine(args.database_url)
    with admin.begin() as connection:
        connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    url = make_url(args.database_url).update_query_dict({"options": f"-csearch_path={schema}"})
    database_url = url.render_as_string(hide_password=False)
    workers: list[subprocess.Popen[bytes]] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cache = ContextCache(Path(tmp) / "contexts")
            cache.sync_from_dir(args.contexts)
            master = KeyVault.new_master_key()
            engine = make_engine(database_url)
            upgrade(engine)
            context = IssuerContext(
                engine=engine,
                key_store=KeyStore(KeyVault(master)),
                loader=cache.loader(include_test_only=False),
                public_url="https://uni.example.test",
            )
            operator = Caller("operator")
            with Session(engine) as session:
                institution = institutions.create(
                    session,
                    context,
                    operator,
                    InstitutionCreate(
                        slug="bench",
                        legal_name={"en": "Bench University"},
                        url="https://bench.example.test",
                        country="FI",
                        key_types=["ed25519", "p256"],
                    ),
                )
                achievement = achievements.create(
                    session,
                    operator,
                    institution,
                    AchievementSpec.model_validate(
                        {
                            "name": {"en": "Introduction to Data Science"},
                            "description": {"en": "Statistics and visualisation with Python."},
                            "criteria": {"en": "Passed the final project."},
                            "achievement_type": "Course",
                            "ects_credits": 5,
                        }
                    ),
                )
                body = "row_key,email,given_name,family_name,results\n" + "".join(
                    f"s-{i:06d},student{i}@example.fi,Student,{i},Grade={i % 5 + 1}\n"
                    for i in range(args.rows)
                )
                started = time.perf_counter()
                batches.create(
                    session,
                    context,
                    operator,
                    institution,
                    data=body.encode(),
                    content_type="text/csv",
                    achievement_id=achievement.id,
                    formats=formats,
                )
                print(f"batch of {args.rows} rows stored in {time.perf_counter() - started:.2f} s")
            environment = {
                **os.environ,
                "TAITO_DATABASE_URL": database_url,
                "TAITO_MASTER_KEY": master,
                "TAITO_CONTEXT_DIR": str(Path(tmp) / "contexts"),
                "TAITO_PUBLIC_URL": context.public_url,
            }
            started = time.perf_counter()
            for n in range(args.workers):
                workers.append(
                    subprocess.Popen(
                        [
                            sys.executable,
                            "-m",
                            "taito.batch_cli",
                            "worker",
                            "--chunk",
                            str(args.chunk),
                            "--lease-seconds",
                            "5",
                            "--poll-interval",
                            "0.2",
                            "--name",
                            f"bench-{n}",
                        ],
                        env=environment,
                        stderr=subprocess.DEVNULL,
                    )
                )
            killed = False
            last_report, last_left = started, args.rows
            while True:
                with Session(engine) as session:
                    left = session.exec(
                        select(func.count())
                        .select_from(BatchRow)
                        .where(col(BatchRow.state).in_(["pending", "running"]))
                    ).one()
                if args.kill_one and not killed and left < args.rows * 2 / 3:
                    workers[0].send_signal(signal.SIGKILL)
                    killed = True
                    print(f"SIGKILL worker 0 with {left} rows left")
                if left == 0:
                    break
                if time.perf_counter() - last_report >= 10:
                    # the rate of the last interval: shows whether it falls as the tables grow
                    moment = time.perf_counter()
                    rate = (last_left - left) / (moment - last_report)
                    print(f"  {moment - started:5.0f} s: {args.rows - left} done, {rate:.0f}/s")
                    last_report, last_left = moment, left
                time.sleep(0.25)  # counting open rows costs the database too
            elapsed = time.perf_counter() - started
            with Session(engine) as session:
                issued = session.exec(select(func.count()).select_from(IssuedCredential)).one()
                keys = session.exec(
                    select(func.count(func.distinct(IssuedCredential.idempotency_key)))
                ).one()
                done = session.exec(
                    select(func.count()).select_from(BatchRow).where(BatchRow.state == "done")
                ).one()
            print(
                f"{args.rows} rows, {args.workers} workers, formats {','.join(formats)}: "
                f"{elapsed:.1f} s, {args.rows / elapsed:.0f} credentials/s "
                f"(issued {issued}, distinct keys {keys}, rows done {done})"
            )
            peaks = [_peak_rss_mb(process.pid) for process in workers if process.poll() is None]
            if peaks and all(peak is not None for peak in peaks):
                print("peak memory per worker: " + ", ".join(f"{peak:.0f} MB" for peak in peaks))
            engine.dispose()
    finally:
        for process in workers:
            if process.poll() is None:
                process.terminate()
                process.wait(30)
        with admin.begin() as connection:
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


def _peak_rss_mb(pid: int) -> float | None:
    """A live process's peak resident set (Linux ``VmHWM``), or None where /proc cannot say."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        return None
    return None


if __name__ == "__main__":
    main()
