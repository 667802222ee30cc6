"""``taito worker`` and ``taito issue batch``: bulk issuance from the command line.

``taito worker`` runs the batch worker loop against the configured database until SIGTERM or
SIGINT; start as many as you like, on as many machines (PostgreSQL): they share the rows.
``taito issue batch FILE`` creates a batch as the operator and issues it in this process with a
progress bar (other running workers may help), then prints a summary table.

Standalone: ``python -m taito.batch_cli worker`` / ``python -m taito.batch_cli issue batch FILE``.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from types import FrameType
from typing import Annotated, NoReturn

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text
from sqlmodel import Session

from issuer import batches, institutions, worker
from issuer.context import Caller, IssuerContext
from keys.store import KeyStore
from schemas.contexts import ContextCache
from schemas.errors import TaitoError
from taito import database, logs
from taito.settings import Settings

app = typer.Typer(
    no_args_is_help=True, pretty_exceptions_enable=False, add_completion=False, help=__doc__
)
issue_app = typer.Typer(no_args_is_help=True, help="Issue credentials from the command line.")
app.add_typer(issue_app, name="issue")

err = Console(stderr=True, emoji=False)
out = Console(emoji=False)

FORMATS = ("ob3-di", "ob3-jwt", "sd-jwt-vc", "elm")


def fail(message: str, code: int = 2) -> NoReturn:
    """One line on stderr (``taito: error: ...``) and the exit code: every CLI command's errors."""
    err.print(f"taito: error: {message}", highlight=False, markup=False, soft_wrap=True)
    raise typer.Exit(code)


def load_settings() -> Settings:
    """The ``TAITO_*`` settings, or a one-line error naming the first bad one."""
    try:
        return Settings()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "settings"
        fail(f"bad TAITO_* configuration: {where}: {first['msg']}")


def issuer_context(settings: Settings | None = None) -> IssuerContext:
    """What ``taito.app.create_app`` builds for the issuer role, without the web app."""
    settings = settings or load_settings()
    try:
        store = KeyStore(settings.key_vault())
    except TaitoError as exc:
        fail(f"{exc.detail} (workers sign, so they need the master key)")
    return IssuerContext(
        engine=database.make_engine(settings.database_url),
        key_store=store,
        loader=ContextCache(settings.context_dir).loader(include_test_only=False),
        public_url=settings.public_url.rstrip("/"),
    )


@contextmanager
def _stop_on_signals() -> Iterator[threading.Event]:
    """An event SIGTERM / SIGINT set (finish the current chunk of rows, then stop); handlers restored after."""
    stop = threading.Event()

    def handle(signum: int, _frame: FrameType | None) -> None:
        err.print(
            f"signal {signum}: finishing the current chunk of rows, then stopping", highlight=False
        )
        stop.set()

    previous = {sig: signal.signal(sig, handle) for sig in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield stop
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@app.command("worker")
def worker_command(
    chunk: Annotated[
        int, typer.Option(min=1, max=1000, help="rows claimed at a time")
    ] = worker.CHUNK,
    lease_seconds: Annotated[
        float, typer.Option(min=1, help="how long a claim lasts before others may take it over")
    ] = worker.LEASE.total_seconds(),
    poll_interval: Annotated[
        float, typer.Option(min=0.01, help="seconds to sleep when idle")
    ] = 1.0,
    name: Annotated[str | None, typer.Option(help="worker name (default: host:pid:random)")] = None,
    metrics_port: Annotated[
        int | None,
        typer.Option(
            min=1,
            max=65535,
            help="serve this worker's Prometheus metrics (taito_credentials_issued_total, "
            "process_*) on this port, without authentication: keep it on a private address",
        ),
    ] = None,
    metrics_host: Annotated[str, typer.Option(help="address of --metrics-port")] = "127.0.0.1",
) -> None:
    """Issue batch rows until stopped (SIGTERM / Ctrl-C finish the current chunk of rows and exit 0)."""
    settings = load_settings()
    # the worker's own records (started, stopped, database errors): TAITO_LOG_LEVEL / _FORMAT
    logs.configure(settings.log_level, settings.log_format, access_log=False)
    context = issuer_context(settings)
    owner = name or worker.worker_id()
    err.print(f"batch worker {owner} on {context.engine.url.render_as_string()}", highlight=False)
    if metrics_port is not None:
        from prometheus_client import start_http_server

        try:
            start_http_server(metrics_port, addr=metrics_host)
        except OSError as exc:
            fail(f"cannot serve metrics on {metrics_host}:{metrics_port}: {exc.strerror}")
    try:
        with _stop_on_signals() as stop:
            worker.run(
                context,
                stop,
                owner=owner,
                limit=chunk,
                lease=timedelta(seconds=lease_seconds),
                poll_interval=poll_interval,
            )
    finally:
        context.engine.dispose()


def _kind(path: Path) -> str:
    return "application/x-ndjson" if path.suffix.lower() in (".jsonl", ".ndjson") else "text/csv"


@issue_app.command("batch")
def issue_batch(
    file: Annotated[Path, typer.Argument(help="CSV, or JSON Lines (.jsonl / .ndjson)")],
    issuer: Annotated[str, typer.Option("--issuer", help="institution slug")],
    achievement: Annotated[str, typer.Option("--achievement", help="achievement id")],
    formats: Annotated[
        list[str] | None, typer.Option("--format", help=" | ".join(FORMATS) + " (repeatable)")
    ] = None,
    name: Annotated[str | None, typer.Option(help="batch name")] = None,
    chunk: Annotated[
        int, typer.Option(min=1, max=1000, help="rows claimed at a time")
    ] = worker.CHUNK,
) -> None:
    """Create a batch as the operator and issue it here, with a progress bar and a summary."""
    chosen = formats or ["ob3-di"]
    unknown = [f for f in chosen if f not in FORMATS]
    if unknown:
        fail(f"--format must be one of {', '.join(FORMATS)}, not {unknown[0]!r}")
    if not file.is_file():
        fail(f"{file}: no such file")
    context = issuer_context()
    caller = Caller("operator", request_id="cli")
    try:
        with Session(context.engine) as session:
            batch, _ = batches.create(
                session,
                context,
                caller,
                institutions.get(session, issuer),
                data=file.read_bytes(),
                content_type=_kind(file),
                achievement_id=achievement,
                formats=chosen,
                name=name or file.name,
            )
            counts = batches.counts(session, batch)
        with (
            _stop_on_signals() as stop,
            Progress(
                TextColumn("[bold]issuing"),
                BarColumn(),
                MofNCompleteColumn(),
                TextColumn("{task.fields[failed]} failed"),
                TimeRemainingColumn(),
                console=err,
            ) as progress,
        ):
            task = progress.add_task("issue", total=counts.pending, failed=0)
            failed = 0

            def advance(state: str) -> None:
                nonlocal failed
                failed += state == "failed"
                progress.update(task, advance=1, failed=failed)

            worker.drain(context, limit=chunk, batch_id=batch.id, stop=stop, on_row=advance)
        with Session(context.engine) as session:
            counts = batches.counts(session, batch)
            problems = batches.rows(session, batch, limit=20, state="invalid") + batches.rows(
                session, batch, limit=20, state="failed"
            )
    except TaitoError as exc:
        fail(exc.detail)
    finally:
        context.engine.dispose()
    summary = Table(title=f"batch {batch.id}")
    for column in ("total", "issued", "failed", "invalid", "pending"):
        summary.add_column(column, justify="right")
    figures = [counts.total, counts.issued, counts.failed, counts.invalid]
    summary.add_row(*(str(n) for n in [*figures, counts.pending + counts.running]))
    out.print(summary)
    if problems:
        details = Table(title="rows not issued (first 20 of each kind)")
        for column in ("row", "row_key", "state", "problem"):
            details.add_column(column)
        for r in problems:
            problem = r.error or "; ".join(f"{e['field']}: {e['message']}" for e in r.errors)
            details.add_row(str(r.row), Text(r.row_key or ""), r.state, Text(problem))
        out.print(details)
    if counts.failed or counts.pending + counts.running:
        raise typer.Exit(1)


if __name__ == "__main__":
    app()
