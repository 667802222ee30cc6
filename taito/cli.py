"""The ``taito`` command line (typer + rich).

Usage errors print one line and exit 2; typed errors print one line and exit 2 as well (the
arguments or inputs were wrong). ``taito verify`` exits 0 when verified and 1 when not.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Annotated, Any, Literal

import typer
from rich.console import Console
from rich.table import Table

from keys import jwk
from keys.did import default_method_id
from keys.store import KeyStore, KeyVault
from schemas.contexts import StaticLoader
from schemas.errors import TaitoError
from taito import batch_cli, database, logs
from taito.batch_cli import fail, load_settings
from taito.settings import Settings

app = typer.Typer(
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    help="Taito: verifiable learning credentials.",
)
db_app = typer.Typer(no_args_is_help=True, help="Database migrations.")
keys_app = typer.Typer(no_args_is_help=True, help="Key material.")
contexts_app = typer.Typer(no_args_is_help=True, help="The local JSON-LD context cache.")
schemas_app = typer.Typer(no_args_is_help=True, help="The local credentialSchema cache.")
dev_app = typer.Typer(no_args_is_help=True, help="Development set-up.")
wallet_app = typer.Typer(no_args_is_help=True, help="The learners' wallets.")
app.add_typer(db_app, name="db")
app.add_typer(keys_app, name="keys")
app.add_typer(contexts_app, name="contexts")
app.add_typer(schemas_app, name="schemas")
app.add_typer(dev_app, name="dev")
app.add_typer(wallet_app, name="wallet")
app.command("worker")(batch_cli.worker_command)
app.add_typer(batch_cli.issue_app, name="issue")

err = Console(stderr=True, emoji=False)
out = Console(emoji=False)


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(min=1, help="worker processes")] = 1,
    access_log: Annotated[
        bool | None,
        typer.Option(help="Taito's access log (default: TAITO_ACCESS_LOG, on)", show_default=False),
    ] = None,
) -> None:
    """Serve the API with uvicorn. Taito writes the access log (taito/logs.py: the route template,
    never the path, which may carry a share-link token); uvicorn's own is off."""
    import uvicorn

    if access_log is not None:
        os.environ["TAITO_ACCESS_LOG"] = "true" if access_log else "false"
    configured = load_settings()  # fail early, in one line, on bad configuration
    # this process's logging (uvicorn's own configuration is off: log_config=None); each worker
    # sets up its own the same way (taito.app.app_factory)
    logs.configure(configured.log_level, configured.log_format, configured.access_log)
    from taito import metrics

    directory = os.environ.get(metrics.MULTIPROCESS_ENV)
    if workers > 1 and not directory:
        directory = tempfile.mkdtemp(prefix="taito-metrics-")
    if directory:
        # the workers count into files here, so a scrape answered by any of them adds up all of
        # them; emptied first, so the counts of an earlier run are not added in
        metrics.prepare_multiprocess(directory)
    if workers == 1 or not hasattr(socket, "SO_REUSEPORT"):
        uvicorn.run(
            "taito.app:app_factory",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            access_log=False,
            log_config=None,
        )
        return
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        "taito.app:app_factory",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=None,
    )
    address = WorkerAddress(socket.AF_INET6 if ":" in host else socket.AF_INET)
    try:
        address.bind((host, port))
    except OSError as exc:
        fail(f"cannot bind {host}:{port}: {exc.strerror}")
    logging.getLogger("uvicorn.error").info(
        "Uvicorn running on http://%s:%d (Press CTRL+C to quit)", host, address.getsockname()[1]
    )
    try:
        Multiprocess(config, sockets=[address]).run()
    except KeyboardInterrupt:
        pass
    finally:
        address.close()


class WorkerAddress(socket.socket):
    """``taito serve --workers N``: the address every worker listens on with its *own* socket
    (``SO_REUSEPORT``), so the kernel spreads new connections over the workers' accept queues.
    With one shared listening socket, whichever worker wakes first accepts every pending
    connection: 16 keep-alive clients connecting together all landed on one worker. This socket
    is bound (it holds the port) but never listens; a worker receives the address, not a copy of
    the descriptor, and binds a socket of its own to it."""

    def __init__(self, family: int) -> None:
        super().__init__(family, socket.SOCK_STREAM)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)

    def __reduce__(self) -> tuple[Any, ...]:
        return worker_socket, (self.family, self.getsockname()[:2])


def worker_socket(family: int, address: tuple[str, int]) -> socket.socket:
    """In a worker process: a socket of its own bound to the API's address (uvicorn listens)."""
    # proto named: asyncio sets TCP_NODELAY only on connections whose socket says IPPROTO_TCP,
    # and without it the response's body waits on the client's delayed ACK (40 ms) behind its
    # headers (uvicorn's own bind_socket leaves proto 0)
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    return sock


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument(help="target revision")] = "head") -> None:
    """Apply database migrations."""
    config = load_settings()
    engine = database.make_engine(config.database_url)
    database.upgrade(engine, revision)
    out.print(f"database at revision {revision}: {engine.url.render_as_string(hide_password=True)}")


@keys_app.command("new")
def keys_new(
    type_: Annotated[str, typer.Option("--type", help="ed25519, p256 or rsa")],
    out_file: Annotated[Path, typer.Option("--out", help="file to write the private JWK to")],
    force: Annotated[bool, typer.Option(help="overwrite an existing file")] = False,
) -> None:
    """Write a new private JWK whose kid is its did:key (or did:jwk for RSA) method id."""
    if type_ not in jwk.KEY_TYPES:
        fail(f"--type must be one of {', '.join(jwk.KEY_TYPES)}, not {type_!r}")
    if out_file.exists() and not force:
        fail(f"{out_file} exists (use --force to overwrite)")
    key = jwk.generate(type_)
    private = key.to_jwk()
    kid = default_method_id(key.public_key())
    document = {**private, "kid": kid, "alg": key.algorithm}
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(document, handle, indent=2)
        handle.write("\n")
    out.print(kid, highlight=False, soft_wrap=True)


@keys_app.command("new-master")
def keys_new_master(
    out_file: Annotated[Path, typer.Option("--out", help="file to write the master key to")],
) -> None:
    """Write a new master key (32 random bytes, base64url) to a new file only its owner reads."""
    if out_file.exists():
        fail(f"{out_file} exists: a master key is never overwritten")
    out_file.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(out_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(KeyVault.new_master_key() + "\n")
    out.print(f"new master key in {out_file}", highlight=False, soft_wrap=True)


@keys_app.command("rewrap")
def keys_rewrap() -> None:
    """Master-key rotation: seal every private key and learner data key under TAITO_MASTER_KEY
    that is still sealed under TAITO_MASTER_KEY_PREVIOUS. Every blob is opened first: one that
    neither key opens stops it with nothing changed. Then page by page, each committed."""
    config = load_settings()
    if config.master_key_previous is None and config.master_key_previous_file is None:
        fail("set TAITO_MASTER_KEY_PREVIOUS (or _FILE) to the master key being replaced")
    try:
        vault = config.key_vault()
    except TaitoError as exc:
        fail(exc.detail)
    from sqlmodel import Session

    from wallet.envelope import reseal_data_keys

    engine = database.make_engine(config.database_url)
    with Session(engine) as session:
        try:  # a first pass opens every blob and changes nothing
            KeyStore(vault).reseal_all(session, check_only=True)
            reseal_data_keys(session, vault, check_only=True)
        except TaitoError as exc:
            fail(f"nothing was changed: {exc.detail}", code=1)
        keys = KeyStore(vault).reseal_all(session)
        data_keys = reseal_data_keys(session, vault)
    table = Table("sealed", "re-sealed now", "already under the new key")
    table.add_row("private keys", str(keys[0]), str(keys[1]))
    table.add_row("learner data keys", str(data_keys[0]), str(data_keys[1]))
    out.print(table)
    out.print("Everything is sealed under TAITO_MASTER_KEY: TAITO_MASTER_KEY_PREVIOUS can go.")


@contexts_app.command("sync")
def contexts_sync(
    source: Annotated[Path | None, typer.Option("--from", help="folder with MANIFEST.json")] = None,
) -> None:
    """Fill the context cache from a local folder, or from the canonical HTTPS URLs."""
    from schemas.contexts import REGISTRY, ContextCache

    config = load_settings()
    cache = ContextCache(config.context_dir)
    if source is not None:
        if not (source / "MANIFEST.json").is_file():
            fail(f"{source} has no MANIFEST.json")
        stored = cache.sync_from_dir(source)
    else:
        import httpx

        stored = []
        with httpx.Client(timeout=20, follow_redirects=True) as http:
            for url in cache.missing():
                if REGISTRY[url].test_only:
                    continue
                response = http.get(
                    url, headers={"Accept": "application/ld+json, application/json"}
                )
                response.raise_for_status()
                cache.store(url, response.content)
                stored.append(url)
    missing = cache.missing()
    out.print(f"{len(stored)} context(s) stored in {config.context_dir}; {len(missing)} missing")
    for url in missing:
        err.print(f"  missing: {url}", highlight=False)


@schemas_app.command("sync")
def schemas_sync(
    source: Annotated[Path, typer.Option("--from", help="folder with the schema files")],
) -> None:
    """Fill the credentialSchema cache from a local folder (files checked against pinned digests)."""
    from schemas.credential_schemas import SchemaCache

    config = load_settings()
    if not source.is_dir():
        fail(f"{source} is not a folder")
    cache = SchemaCache(config.schema_dir)
    stored = cache.sync_from_dir(source)
    missing = cache.missing()
    out.print(f"{len(stored)} schema(s) stored in {config.schema_dir}; {len(missing)} missing")
    for url in missing:
        err.print(f"  missing: {url}", highlight=False)


SIGN_FORMATS = (
    "eddsa-rdfc-2022",
    "eddsa-jcs-2022",
    "ecdsa-rdfc-2019",
    "vc-jwt",
    "vc+jwt",
    "sd-jwt",
)


def _read_input(source: str) -> str:
    if source == "-":
        return sys.stdin.read()
    path = Path(source)
    if not path.is_file():
        fail(f"{source}: no such file")
    return path.read_text(encoding="utf-8")


def _read_json_file(path: Path, what: str) -> dict[str, object]:
    from schemas import strict_json

    if not path.is_file():
        fail(f"{path}: no such {what} file")
    value = strict_json.loads(path.read_bytes())
    if not isinstance(value, dict):
        fail(f"{path}: the {what} must be a JSON object")
    return value


def _loader() -> StaticLoader:
    """The production loader: contexts from the local cache, never the examples contexts."""
    from schemas.contexts import ContextCache

    return ContextCache(load_settings().context_dir).loader(include_test_only=False)


@app.command()
def sign(
    source: Annotated[
        str, typer.Argument(metavar="IN", help="unsigned credential (JSON), or - for stdin")
    ],
    key_file: Annotated[Path, typer.Option("--key", help="private JWK (from taito keys new)")],
    as_: Annotated[str, typer.Option("--as", help=" | ".join(SIGN_FORMATS))],
    sd: Annotated[
        list[str] | None,
        typer.Option("--sd", help="JSON Pointer of a selectively disclosable claim (sd-jwt)"),
    ] = None,
    holder_jwk: Annotated[
        Path | None, typer.Option(help="holder public JWK to bind (sd-jwt cnf)")
    ] = None,
) -> None:
    """Secure a credential and print it."""
    from datetime import UTC, datetime

    from keys import data_integrity, sd_jwt, vc_jwt
    from keys.signing import KeySigner
    from schemas import strict_json

    if as_ not in SIGN_FORMATS:
        fail(f"--as must be one of {', '.join(SIGN_FORMATS)}, not {as_!r}")
    if sd and as_ != "sd-jwt":
        fail("--sd is only for --as sd-jwt")
    key_document = _read_json_file(key_file, "key")
    private = jwk.private_key_from_jwk(key_document)
    kid = key_document.get("kid")
    signer = KeySigner.for_key(private, kid if isinstance(kid, str) else None)
    issuer_did = signer.key_id.split("#", 1)[0]
    credential = strict_json.loads(_read_input(source))
    if not isinstance(credential, dict):
        fail("the input must be a JSON object")
    now = datetime.now(UTC).replace(microsecond=0)
    if as_ == "sd-jwt":
        credential.setdefault("iss", issuer_did)
        credential.setdefault("iat", int(now.timestamp()))
        holder = (
            jwk.public_key_from_jwk(_read_json_file(holder_jwk, "holder JWK"))
            if holder_jwk
            else None
        )
        out.print(
            sd_jwt.issue(credential, signer=signer, disclosable=sd or [], holder_key=holder),
            highlight=False,
            soft_wrap=True,
        )
        return
    issuer = credential.get("issuer")
    if issuer is None:
        credential["issuer"] = issuer_did
    elif isinstance(issuer, dict) and "id" not in issuer:
        issuer["id"] = issuer_did
    if as_ in ("vc-jwt", "vc+jwt"):
        profile: Literal["ob3", "vc+jwt"] = "ob3" if as_ == "vc-jwt" else "vc+jwt"
        out.print(
            vc_jwt.sign_credential_jwt(credential, signer=signer, profile=profile, now=now),
            highlight=False,
            soft_wrap=True,
        )
        return
    signed = data_integrity.add_proof(
        credential, signer=signer, cryptosuite=as_, loader=_loader(), created=now
    )
    sys.stdout.write(json.dumps(signed, indent=2, ensure_ascii=False) + "\n")


@app.command()
def verify(
    source: Annotated[
        str, typer.Argument(metavar="IN", help="credential or presentation, or - for stdin")
    ],
    nonce: Annotated[str | None, typer.Option(help="expected KB-JWT / VP nonce")] = None,
    aud: Annotated[str | None, typer.Option(help="expected audience")] = None,
    challenge: Annotated[str | None, typer.Option(help="expected Data Integrity challenge")] = None,
    domain: Annotated[str | None, typer.Option(help="expected Data Integrity domain")] = None,
    issuer_jwk: Annotated[
        Path | None, typer.Option(help="issuer public JWK (JWT / SD-JWT)")
    ] = None,
) -> None:
    """Verify and print a JSON report; exit 0 when verified, 1 when not."""
    from verifier.credential import VerifyOptions, now_utc, verify_credential

    data = _read_input(source)
    issuer_key = (
        jwk.public_key_from_jwk(_read_json_file(issuer_jwk, "issuer JWK")) if issuer_jwk else None
    )
    options = VerifyOptions(
        now=now_utc(),
        loader=_loader(),
        issuer_key=issuer_key,
        challenge=challenge,
        domain=domain,
        nonce=nonce,
        audience=aud,
        require_key_binding=nonce is not None or aud is not None,
    )
    report = verify_credential(data, options)
    sys.stdout.write(json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n")
    raise typer.Exit(0 if report.verified else 1)


@app.command()
def demo(
    out_dir: Annotated[Path, typer.Option("--out", help="folder to write the demo outputs to")],
    contexts_from: Annotated[
        Path | None, typer.Option(help="context folder (MANIFEST.json) if the cache is empty")
    ] = None,
) -> None:
    """Issue, bake, assemble, revoke and publish, in-process, and write every output to --out."""
    from rich.table import Table

    from taito import demo as demo_run

    config = load_settings()
    shared = contexts_from or Path(os.environ.get("TAITO_SHARED_DIR", "../shared")) / "contexts"
    contexts = demo_run.ensure_contexts(config.context_dir, shared)
    results = demo_run.run(out_dir, contexts)
    table = Table(title=f"Taito demo: {out_dir}")
    for column in ("file", "what", "verify"):
        table.add_column(column)
    for result in results:
        table.add_row(result.file, result.what, result.verified)
    out.print(table)


DEV_ISSUER_OWNER = "issuer:dev"


@wallet_app.command("recheck")
def wallet_recheck(
    limit: Annotated[int, typer.Option(min=1, help="credentials per run")] = 500,
) -> None:
    """Re-check wallet credentials not checked for TAITO_WALLET_STATUS_RECHECK_HOURS (run it
    periodically, e.g. hourly from cron or a systemd timer)."""
    from sqlmodel import Session

    from taito.app import create_app
    from wallet.storage import recheck_due

    application = create_app(load_settings())
    context = application.state.wallet
    try:
        with Session(context.engine) as session:
            count = recheck_due(session, context, limit=limit)
    finally:
        application.state.verifier.http.close()
        context.engine.dispose()
    out.print(f"{count} wallet credential(s) re-checked")


@app.command()
def housekeeping(
    dry_run: Annotated[bool, typer.Option(help="count what would go, delete nothing")] = False,
) -> None:
    """Delete what has outlived its use: expired OpenID4VCI offers, tokens and nonces, wallet
    refresh and mailed tokens, sent mail (TAITO_RETENTION_DAYS after they expired or were sent),
    and OpenID4VP requests with their results (TAITO_PRESENTATION_RETENTION_HOURS after they
    expired); clear the awards of batch rows issued TAITO_RETENTION_DAYS ago. Run it
    periodically, e.g. daily from cron or a systemd timer."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy.exc import SQLAlchemyError

    from taito import housekeeping as chores

    config = load_settings()
    engine = database.make_engine(config.database_url)
    try:
        counts = chores.run(
            engine,
            datetime.now(UTC),
            retention=timedelta(days=config.retention_days),
            presentation_retention=timedelta(hours=config.presentation_retention_hours),
            dry_run=dry_run,
        )
    except SQLAlchemyError as exc:
        fail(f"the database refused: {type(exc).__name__} (is it upgraded? taito db upgrade)", 1)
    finally:
        engine.dispose()
    table = Table("records", "would be deleted / cleared" if dry_run else "deleted / cleared")
    for name, count in counts.items():
        table.add_row(name, str(count))
    out.print(table)


@dev_app.command("setup")
def dev_setup(
    master_key_file: Annotated[
        Path, typer.Option(help="where the development master key lives")
    ] = Path("var/dev-master.key"),
) -> None:
    """Create a development master key and issuer key if none exist. NOT for production."""
    config = load_settings()
    if config.master_key is None and config.master_key_file is None:
        if not master_key_file.exists():
            master_key_file.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(master_key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as handle:
                handle.write(KeyVault.new_master_key() + "\n")
            err.print(
                f"[bold red]WARNING[/]: created a DEVELOPMENT master key in {master_key_file}. "
                "Never use it in production: set TAITO_MASTER_KEY from a secret store."
            )
        config = Settings(master_key_file=master_key_file)
    engine = database.make_engine(config.database_url)
    database.upgrade(engine)
    from sqlmodel import Session

    store = KeyStore(config.key_vault())
    with Session(engine) as session:
        row = store.active(session, DEV_ISSUER_OWNER)
        if row is None:
            row = store.create(session, DEV_ISSUER_OWNER, "ed25519")
            session.commit()
            err.print("[bold red]WARNING[/]: created a DEVELOPMENT issuer key. Not for production.")
        store.private_key(row)  # proves the master key opens it
        out.print(f"development issuer key: {row.kid}", highlight=False, soft_wrap=True)
    _dev_seal_ca(Path("var"))
    _dev_verifier_certificate(Path("var"), config.public_url)


def _dev_verifier_certificate(folder: Path, public_url: str) -> None:
    """A request-signing certificate for OpenID4VP x509_san_dns, issued by the development CA
    for the host of TAITO_PUBLIC_URL (its dNSName). NOT for production."""
    import urllib.parse
    from datetime import UTC, datetime

    from keys import x509

    host = urllib.parse.urlsplit(public_url).hostname or "localhost"
    cert_file, key_file = folder / "dev-verifier.pem", folder / "dev-verifier.jwk"
    if (
        cert_file.exists()
        and key_file.exists()
        and host in x509.dns_names(x509.load_pem_chain(cert_file.read_bytes())[0])
    ):
        return
    ca = x509.load_pem_chain((folder / "dev-seal-ca.pem").read_bytes())[0]
    ca_key = jwk.private_key_from_jwk(json.loads((folder / "dev-seal-ca.jwk").read_text()))
    key = jwk.generate("p256")
    certificate = x509.make_request_signing_certificate(
        ca, ca_key, key.public_key(), dns_name=host, now=datetime.now(UTC), days=365
    )
    _write_key_and_certificate(key_file, key, cert_file, x509.dump_pem(certificate))
    err.print(
        f"[bold red]WARNING[/]: created a DEVELOPMENT verifier certificate for {host} in "
        f"{cert_file}. Not for production."
    )


def _write_key_and_certificate(
    key_file: Path, key: jwk.PrivateKey, cert_file: Path, pem: bytes
) -> None:
    """The private JWK readable by its owner only, then the PEM certificate."""
    fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        json.dump(key.to_jwk(), handle)
    cert_file.write_bytes(pem)


def _dev_seal_ca(folder: Path) -> None:
    """A development CA that certifies institutions' seal keys (ELM / JAdES). NOT for production."""
    from datetime import UTC, datetime

    from keys import x509

    cert_file, key_file = folder / "dev-seal-ca.pem", folder / "dev-seal-ca.jwk"
    if cert_file.exists() and key_file.exists():
        return
    key = jwk.generate("p256")
    certificate = x509.make_ca("Taito DEVELOPMENT Seal CA", key, now=datetime.now(UTC), days=3650)
    _write_key_and_certificate(key_file, key, cert_file, x509.dump_pem(certificate))
    err.print(
        f"[bold red]WARNING[/]: created a DEVELOPMENT seal CA in {cert_file}. Not for production."
    )


def main(argv: list[str] | None = None) -> None:
    """Console entry point: one-line errors, exit code 2 for usage and input errors."""
    # warnings only, in the operator's format, no access lines (taito demo serves in-process);
    # taito serve sets up logging again from the settings
    log_format: logs.LogFormat = "json" if os.environ.get("TAITO_LOG_FORMAT") == "json" else "text"
    logs.configure("WARNING", log_format, access_log=False)
    try:
        result = app(args=argv, standalone_mode=False)
    except typer.Abort:
        sys.exit(130)
    except TaitoError as exc:
        err.print(f"taito: error: {exc.detail}", highlight=False, markup=False, soft_wrap=True)
        sys.exit(2)
    except Exception as exc:
        # click's UsageError/ClickException (typer vendors its own click): duck-typed.
        if hasattr(exc, "format_message") and hasattr(exc, "exit_code"):
            err.print(
                f"taito: error: {exc.format_message()}",
                highlight=False,
                markup=False,
                soft_wrap=True,
            )
            sys.exit(2 if exc.exit_code == 2 else 1)
        raise
    sys.exit(result if isinstance(result, int) else 0)
