"""What the verifier role needs from the composed app (``app.state.verifier``)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends, Request

from verifier.credential import VerifyOptions
from verifier.http import GuardedHttp
from verifier.resolver import DidResolver
from verifier.status import StatusChecker, StatusPolicy


@dataclass
class VerifierContext:
    loader: Any  # static JSON-LD document loader (local contexts only)
    http: GuardedHttp
    status_policy: StatusPolicy = field(default_factory=StatusPolicy)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    trusted_issuers: frozenset[str] | None = None
    untrusted_is_failure: bool = False
    trust_anchors: tuple[Any, ...] = ()

    def __post_init__(self) -> None:
        self.resolver = DidResolver(self.http)
        self.status = StatusChecker(
            self.http, loader=self.loader, resolve_method=self.resolver, policy=self.status_policy
        )

    def options(self, **overrides: Any) -> VerifyOptions:
        return VerifyOptions(
            now=self.clock(),
            loader=self.loader,
            resolve_method=self.resolver,
            jwt_key_resolver=self.resolver.jwt_issuer_key,
            status_checker=self.status,
            trusted_issuers=self.trusted_issuers,
            untrusted_is_failure=self.untrusted_is_failure,
            trust_anchors=self.trust_anchors,
            **overrides,
        )


def get_verifier(request: Request) -> VerifierContext:
    context: VerifierContext = request.app.state.verifier
    return context


VerifierDep = Annotated[VerifierContext, Depends(get_verifier)]
