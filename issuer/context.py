"""What the issuer role needs from the composed app, and its FastAPI dependencies.

``taito.app.create_app`` builds one :class:`IssuerContext` and puts it on ``app.state.issuer``;
the role never reads settings or the environment itself, so it can be mounted alone.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request
from sqlalchemy import Engine
from sqlmodel import Session, select

from issuer.errors import SigningUnavailable, Unauthorized
from issuer.tables import ApiKey
from keys.store import KeyStore

SCOPES = ("achievements:write", "credentials:issue", "credentials:revoke", "issuer:admin")


def aware(moment: datetime) -> datetime:
    """A stored datetime as UTC: SQLite hands them back naive, and every one stored is UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class IssuerContext:
    engine: Engine
    key_store: KeyStore | None
    loader: Any  # keys.data_integrity DocumentLoader (static, local contexts)
    public_url: str
    operator_token: str | None = None
    clock: Callable[[], datetime] = field(default=utc_now)
    seal_ca: tuple[Any, Any] | None = None  # (CA certificate, CA PrivateKey) that certifies seals

    def keys(self) -> KeyStore:
        if self.key_store is None:
            raise SigningUnavailable("No master key is configured, so this server cannot sign.")
        return self.key_store


def get_context(request: Request) -> IssuerContext:
    context: IssuerContext = request.app.state.issuer
    return context


ContextDep = Annotated[IssuerContext, Depends(get_context)]


def get_session(context: ContextDep) -> Iterator[Session]:
    with Session(context.engine) as session:
        yield session


SessionDep = Annotated[Session, Depends(get_session)]


async def raw_body(request: Request) -> bytes:
    """The request body, read on the event loop: a route that takes it stays a plain ``def``,
    which FastAPI runs in its thread pool, so its database work never blocks the loop."""
    return await request.body()


BodyDep = Annotated[bytes, Depends(raw_body)]


@dataclass(frozen=True)
class Caller:
    """Who is calling: the operator, or an API key of one institution with its scopes."""

    actor: str
    issuer_id: int | None = None  # None for the operator
    scopes: frozenset[str] = frozenset()
    request_id: str | None = None

    @property
    def is_operator(self) -> bool:
        return self.actor == "operator"


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def _bearer(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


def get_caller(request: Request, context: ContextDep, session: SessionDep) -> Caller:
    token = _bearer(request)
    request_id = getattr(request.state, "request_id", None)
    if token is None:
        raise Unauthorized("Send an API key as 'Authorization: Bearer <key>'.")
    if context.operator_token and hmac.compare_digest(
        token.encode(), context.operator_token.encode()
    ):
        return Caller("operator", request_id=request_id)
    # "taito_<prefix>_<secret>": the prefix is hex, the secret base64url (it may contain "_").
    prefix, _, secret = token.removeprefix("taito_").partition("_")
    if token.startswith("taito_") and prefix and secret:
        row = session.exec(select(ApiKey).where(ApiKey.prefix == prefix)).first()
        # Compare even when no row matched, so timing does not tell which prefixes exist.
        expected = row.secret_hash if row is not None else "0" * 64
        if (
            hmac.compare_digest(expected, hash_secret(secret))
            and row is not None
            and row.revoked_at is None
        ):
            return Caller(f"api_key:{row.prefix}", row.issuer_id, frozenset(row.scopes), request_id)
    raise Unauthorized("The API key is not valid or has been revoked.")


CallerDep = Annotated[Caller, Depends(get_caller)]
