"""What the verifier role needs from the composed app (``app.state.verifier``)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import Depends, Request

from schemas import strict_json
from schemas.credential_schemas import SchemaCache
from schemas.errors import TaitoError
from verifier import metrics
from verifier.certificates import CertificateStatusChecker
from verifier.credential import VerifyOptions, verify_credential
from verifier.http import GuardedHttp, NetworkNeeded, offline_only
from verifier.report import VerificationReport
from verifier.resolver import DidResolver
from verifier.status import StatusChecker, StatusPolicy

log = logging.getLogger("taito.verifier")
MAX_FETCHED_SCHEMAS = 64


@dataclass
class VerifierContext:
    loader: Any  # static JSON-LD document loader (local contexts only)
    http: GuardedHttp
    status_policy: StatusPolicy = field(default_factory=StatusPolicy)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now(UTC))
    trusted_issuers: frozenset[str] | None = None
    untrusted_is_failure: bool = False
    trust_anchors: tuple[Any, ...] = ()
    schema_cache: SchemaCache | None = None  # pinned credentialSchema documents (local)
    fetch_schemas: bool = False  # policy: fetch other credentialSchema URLs (SSRF-guarded)
    clock_skew: timedelta = timedelta(seconds=60)  # tolerance on validity periods and JWT times
    accepted_formats: frozenset[str] | None = None  # None: every format Taito reads
    algorithms: tuple[str, ...] = ("EdDSA", "ES256", "RS256")  # JOSE algorithms accepted
    cryptosuites: tuple[str, ...] | None = None  # Data Integrity suites accepted; None: all known

    def __post_init__(self) -> None:
        self.resolver = DidResolver(self.http)
        self._fetched_schemas: dict[str, Mapping[str, Any] | None] = {}
        self.status = StatusChecker(
            self.http, loader=self.loader, resolve_method=self.resolver, policy=self.status_policy
        )
        self.certificates = CertificateStatusChecker(
            self.http, unknown_is_warning=self.status_policy.unknown_status_is_warning
        )

    def options(self, **overrides: Any) -> VerifyOptions:
        return VerifyOptions(
            now=self.clock(),
            loader=self.loader,
            resolve_method=self.resolver,
            jwt_key_resolver=self.resolver.jwt_issuer_key,
            status_checker=self.status,
            certificate_status=self.certificates,
            trusted_issuers=self.trusted_issuers,
            untrusted_is_failure=self.untrusted_is_failure,
            trust_anchors=self.trust_anchors,
            credential_schemas=self.credential_schema,
            clock_skew=self.clock_skew,
            accepted_formats=self.accepted_formats,
            algorithms=self.algorithms,
            cryptosuites=self.cryptosuites,
            **overrides,
        )

    def verify_submitted(self, data: Any, submitted: Mapping[str, Any]) -> VerificationReport:
        """Verify what a person or client sent, with the challenge / domain / nonce / audience
        they sent beside it (a nonce or audience demands key binding). Counted for the metrics."""
        report = verify_credential(
            data,
            self.options(
                challenge=submitted.get("challenge"),
                domain=submitted.get("domain"),
                nonce=submitted.get("nonce"),
                audience=submitted.get("audience"),
                require_key_binding=bool(submitted.get("nonce") or submitted.get("audience")),
            ),
        )
        metrics.count(report)
        return report

    def verify_submitted_offline(
        self, data: Any, submitted: Mapping[str, Any]
    ) -> VerificationReport | None:
        """:meth:`verify_submitted` when it needs no network (no fetch, or only fresh cached
        ones), else ``None``: then nothing was fetched and the caller runs
        :meth:`verify_submitted` where blocking is allowed. Lets the API verify on the event loop
        instead of handing every request to a thread."""
        with offline_only():
            try:
                return self.verify_submitted(data, submitted)
            except NetworkNeeded:
                return None

    def credential_schema(self, url: str) -> Mapping[str, Any] | None:
        """The JSON Schema a credential names: from the pinned cache, else fetched if the policy
        allows (through the guarded client); ``None`` when it is neither."""
        if self.schema_cache is not None:
            try:
                schema = self.schema_cache.get(url)
            except TaitoError as exc:  # a cache file changed on disk: refuse it, loudly
                log.error("credentialSchema cache: %s", exc.detail)
                return None
            if schema is not None:
                return schema
        if not self.fetch_schemas:
            return None
        if url not in self._fetched_schemas:
            if len(self._fetched_schemas) >= MAX_FETCHED_SCHEMAS:
                self._fetched_schemas.clear()
            try:
                document = strict_json.loads(
                    self.http.get(url, accept="application/schema+json, application/json").content
                )
            except TaitoError as exc:
                log.info("credentialSchema %s not fetched: %s", url[:200], exc.code)
                document = None
            self._fetched_schemas[url] = document if isinstance(document, dict) else None
        return self._fetched_schemas[url]


async def get_verifier(request: Request) -> VerifierContext:
    # async: FastAPI runs a plain ``def`` dependency in a worker thread, a hand-off per request
    context: VerifierContext = request.app.state.verifier
    return context


VerifierDep = Annotated[VerifierContext, Depends(get_verifier)]
