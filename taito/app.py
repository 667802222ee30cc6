"""``create_app(settings)``: the one composition root."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

from fastapi import FastAPI, Request, Response
from fastapi.responses import JSONResponse
from sqlalchemy.exc import SQLAlchemyError

from issuer import batch_routes, oid4vci_routes
from issuer import routes as issuer_routes
from issuer.context import CallerDep, IssuerContext
from issuer.errors import Forbidden
from issuer.worker import InProcessWorker
from keys import x509
from keys.data_integrity import CRYPTOSUITES
from keys.jose import ALGORITHM_KEY_TYPE
from keys.jwk import private_key_from_jwk
from keys.store import KeyStore
from schemas import strict_json
from schemas.contexts import ContextCache, StaticLoader
from schemas.credential_schemas import SchemaCache
from schemas.oauth import OAuthError
from taito import logs, metrics, problems
from taito.database import make_engine, ping
from taito.settings import ConfigurationError, Settings
from verifier import oid4vp_routes
from verifier import page as verifier_page
from verifier import routes as verifier_routes
from verifier.context import VerifierContext
from verifier.credential import FORMATS
from verifier.http import GuardedHttp, HttpPolicy
from verifier.oid4vp import OpenIdVerifier
from verifier.status import StatusPolicy
from wallet import openid_routes as wallet_openid_routes
from wallet import routes as wallet_routes
from wallet import share_page, share_routes
from wallet.context import WalletContext
from wallet.errors import RateLimited
from wallet.tokens import derive_secret

log = logging.getLogger("taito")


def _loader(settings: Settings) -> StaticLoader:
    """Contexts from the local cache only (never fetched while signing or verifying)."""
    cache = ContextCache(settings.context_dir)
    missing = cache.missing()
    if missing:
        log.warning(
            "%d JSON-LD contexts are not in %s: run 'taito contexts sync'.",
            len(missing),
            settings.context_dir,
        )
    return cache.loader(include_test_only=False)


def _seal_ca(settings: Settings) -> tuple[Any, Any] | None:
    if settings.seal_ca_cert_file is None or settings.seal_ca_key_file is None:
        return None
    certificate = x509.load_pem_chain(settings.seal_ca_cert_file.read_bytes())[0]
    key = private_key_from_jwk(strict_json.loads(settings.seal_ca_key_file.read_bytes()))
    return certificate, key


def _verifier_certificate(settings: Settings) -> tuple[list[Any], Any] | None:
    """OpenID4VP x509_san_dns: the request-signing chain (leaf first) and the leaf's key."""
    if settings.verifier_cert_file is None and settings.verifier_key_file is None:
        return None
    if settings.verifier_cert_file is None or settings.verifier_key_file is None:
        raise ConfigurationError("Set both TAITO_VERIFIER_CERT_FILE and TAITO_VERIFIER_KEY_FILE.")
    chain = x509.load_pem_chain(settings.verifier_cert_file.read_bytes())
    key = private_key_from_jwk(strict_json.loads(settings.verifier_key_file.read_bytes()))
    if not chain or x509.public_key_of(chain[0]) != key.public_key():
        raise ConfigurationError(
            "TAITO_VERIFIER_KEY_FILE does not hold the key of the first certificate in "
            "TAITO_VERIFIER_CERT_FILE."
        )
    return chain, key


def _verifier_policy(settings: Settings) -> dict[str, Any]:
    """The operator's verification policy, every name checked at start-up."""
    unknown = (
        set(settings.verifier_formats) - FORMATS
        | set(settings.verifier_algorithms) - set(ALGORITHM_KEY_TYPE)
        | set(settings.verifier_cryptosuites) - set(CRYPTOSUITES)
    )
    if unknown:
        raise ConfigurationError(
            f"Unknown names in the verifier policy: {', '.join(sorted(unknown))}."
        )
    return {
        "accepted_formats": frozenset(settings.verifier_formats) or None,
        "algorithms": tuple(settings.verifier_algorithms),
        "cryptosuites": tuple(settings.verifier_cryptosuites) or None,
        "clock_skew": timedelta(seconds=settings.verifier_clock_skew_seconds),
        "status_policy": StatusPolicy(
            unknown_status_is_warning=settings.verifier_unknown_status_is_warning,
            clock_skew=timedelta(seconds=settings.verifier_clock_skew_seconds),
        ),
    }


def _trusted_issuers(settings: Settings) -> frozenset[str] | None:
    if settings.trusted_issuers_file is None:
        return None
    listed = strict_json.loads(settings.trusted_issuers_file.read_bytes())
    if not isinstance(listed, list) or not all(isinstance(i, str) for i in listed):
        raise ConfigurationError("TAITO_TRUSTED_ISSUERS_FILE must hold a JSON list of strings.")
    return frozenset(listed)


async def _oauth_error(_request: Request, exc: Exception) -> JSONResponse:
    """OpenID / OAuth endpoints answer {error, error_description} (RFC 6749 §5.2), not problems."""
    assert isinstance(exc, OAuthError)
    headers = {"Cache-Control": "no-store", **exc.headers}
    return JSONResponse(exc.body(), status_code=exc.http_status, headers=headers)


async def _rate_limited(request: Request, exc: Exception) -> JSONResponse:
    """A 429 problem with ``Retry-After`` (RFC 6585 §4, RFC 9110 §10.2.3)."""
    assert isinstance(exc, RateLimited)
    response = problems.problem(
        exc.status,
        exc.code,
        exc.title,
        exc.detail,
        request_id=getattr(request.state, "request_id", None),
        **exc.extra,
    )
    response.headers["Retry-After"] = str(exc.retry_after)
    return response


def create_app(settings: Settings | None = None, **engine_kwargs: Any) -> FastAPI:
    settings = settings or Settings()
    engine = make_engine(settings.database_url, **engine_kwargs)

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        # SQLite has no SKIP LOCKED: one in-process worker drains batches; on PostgreSQL run
        # any number of `taito worker` processes instead.
        batch_worker = (
            InProcessWorker(_app.state.issuer) if engine.dialect.name == "sqlite" else None
        )
        _app.state.batch_worker = batch_worker
        if batch_worker is not None:
            batch_worker.start()
        yield
        if batch_worker is not None:
            batch_worker.stop()
        engine.dispose()
        _app.state.verifier.http.close()

    app = FastAPI(
        lifespan=lifespan,
        title="Taito",
        version="0.1.0",
        summary="Verifiable learning credentials: issue, hold and verify.",
        docs_url="/docs",
    )
    app.state.settings = settings
    app.state.engine = engine
    if settings.master_key is not None or settings.master_key_file is not None:
        app.state.key_store = KeyStore(settings.key_vault())
    else:
        log.warning("No master key configured: endpoints that sign will answer 503.")
        app.state.key_store = None
    problems.install(app)
    app.add_exception_handler(OAuthError, _oauth_error)
    app.state.issuer = IssuerContext(
        engine=engine,
        key_store=app.state.key_store,
        loader=_loader(settings),
        public_url=settings.public_url.rstrip("/"),
        operator_token=settings.operator_token.get_secret_value()
        if settings.operator_token
        else None,
        seal_ca=_seal_ca(settings),
    )
    app.include_router(issuer_routes.router)
    app.include_router(batch_routes.router)
    app.include_router(oid4vci_routes.router)  # also /.well-known/... at the root
    app.state.verifier = VerifierContext(
        loader=app.state.issuer.loader,
        http=GuardedHttp(HttpPolicy.from_settings(settings)),
        trusted_issuers=_trusted_issuers(settings),
        untrusted_is_failure=settings.untrusted_issuer_fails,
        trust_anchors=tuple(x509.load_pem_chain(settings.trust_anchors_file.read_bytes()))
        if settings.trust_anchors_file
        else (),
        schema_cache=SchemaCache(settings.schema_dir),
        fetch_schemas=settings.fetch_credential_schemas,
        **_verifier_policy(settings),
    )
    app.include_router(verifier_routes.router)
    app.include_router(verifier_page.router)
    app.state.oid4vp = OpenIdVerifier(
        engine=engine,
        verifier=app.state.verifier,
        public_url=settings.public_url.rstrip("/"),
        key_store=app.state.key_store,
        certificate=_verifier_certificate(settings),
    )
    app.include_router(oid4vp_routes.router)
    app.state.wallet = WalletContext(
        engine=engine,
        key_store=app.state.key_store,
        verifier=app.state.verifier,
        token_secret=derive_secret(settings.master_key_value(), "wallet access-token")
        if app.state.key_store is not None
        else None,
        previous_token_secrets=tuple(
            derive_secret(previous, "wallet access-token")
            for previous in [settings.previous_master_key_value()]
            if previous and app.state.key_store is not None
        ),
        public_url=settings.public_url.rstrip("/"),
        access_token_ttl=timedelta(minutes=settings.wallet_access_token_minutes),
        refresh_token_ttl=timedelta(days=settings.wallet_refresh_token_days),
        login_max_failures_account_client=settings.wallet_login_max_failures,
        login_max_failures_account=settings.wallet_login_max_failures_account,
        login_window=timedelta(minutes=settings.wallet_login_window_minutes),
        status_recheck_interval=timedelta(hours=settings.wallet_status_recheck_hours),
        verifiers=settings.wallet_verifiers,
        smtp_url=settings.smtp_url.get_secret_value() if settings.smtp_url else None,
        mail_from=settings.mail_from,
    )
    app.include_router(wallet_routes.router)
    app.include_router(share_routes.router)
    app.include_router(wallet_openid_routes.router)  # /wallet/offers, /wallet/requests
    app.include_router(share_page.router)  # /s/{token}
    app.add_exception_handler(RateLimited, _rate_limited)

    @app.get("/healthz", tags=["operations"], summary="The process is up")
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    @app.get(
        "/readyz",
        tags=["operations"],
        summary="The database answers",
        responses={503: {"description": "Not ready (problem+json)"}},
    )
    def readyz(request: Request) -> JSONResponse:
        try:
            ping(request.app.state.engine)
        except SQLAlchemyError as exc:
            return problems.database_unavailable(getattr(request.state, "request_id", None), exc)
        return JSONResponse({"status": "ready", "database": engine.dialect.name})

    @app.get(
        "/metrics",
        tags=["operations"],
        summary="Prometheus metrics (the operator token): requests by route and status, "
        "latency, the batch queue",
        responses={
            200: {"content": {metrics.MEDIA_TYPE: {}}, "description": "text exposition format"},
            401: {"description": "No or a wrong token (problem+json)"},
            403: {"description": "Not the operator (problem+json)"},
        },
    )
    def metrics_endpoint(caller: CallerDep) -> Response:
        if not caller.is_operator:
            raise Forbidden("Only the operator reads the metrics.")
        return Response(metrics.render(engine), media_type=metrics.MEDIA_TYPE)

    # Request id, body limit, last-resort 500 as problem+json; outside it, the metrics, which
    # then count those answers too.
    app.add_middleware(
        problems.RequestGuard,
        max_body_bytes=settings.max_body_bytes,
        trust_request_id=settings.trust_request_id,
    )
    app.add_middleware(metrics.Metrics)
    return app


def app_factory() -> FastAPI:
    """Entry point for ``uvicorn --factory taito.app:app_factory`` (reads TAITO_* then): the
    served app, which also sets up the process's logging (``taito/logs.py``). An app made by
    ``create_app`` alone (tests, ``taito demo``) leaves logging as it finds it."""
    settings = Settings()
    logs.configure(settings.log_level, settings.log_format, settings.access_log)
    return create_app(settings)
