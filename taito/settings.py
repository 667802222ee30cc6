"""Settings: one object, read from ``TAITO_*`` environment variables when the app is built.

Nothing reads the environment at import time: :func:`taito.app.create_app` takes a
:class:`Settings` (tests build their own) or builds one from the environment when called.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from keys.store import KeyVault
from schemas.errors import TaitoError


class ConfigurationError(TaitoError):
    code = "configuration_error"
    status = 500
    title = "Server configuration problem"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="TAITO_", extra="ignore", frozen=True)

    database_url: str = Field(
        default="sqlite:///var/taito.db",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    master_key: SecretStr | None = Field(
        default=None, description="base64url, >= 32 bytes: wraps every private key at rest"
    )
    master_key_file: Path | None = Field(
        default=None, description="file holding the master key (alternative to TAITO_MASTER_KEY)"
    )
    master_key_previous: SecretStr | None = Field(
        default=None,
        description="while rotating the master key: the one before, which still opens what it "
        "sealed (taito keys rewrap moves everything to TAITO_MASTER_KEY)",
    )
    master_key_previous_file: Path | None = Field(
        default=None, description="file holding the previous master key"
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="external base URL (DIDs, status lists, offers)",
    )
    context_dir: Path = Field(
        default=Path("var/contexts"), description="local JSON-LD context cache"
    )
    schema_dir: Path = Field(
        default=Path("var/schemas"), description="local cache of pinned credentialSchema files"
    )
    fetch_credential_schemas: bool = Field(
        default=False,
        description="verifier policy: fetch credentialSchema URLs that are not in the cache",
    )
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024, description="larger requests get 413")
    operator_token: SecretStr | None = Field(
        default=None, description="bootstrap token of the operator (creates institutions)"
    )
    allow_private_network: bool = Field(
        default=False,
        description="let remote fetches reach loopback/private addresses (dev, tests)",
    )
    seal_ca_cert_file: Path | None = Field(
        default=None, description="PEM CA that certifies institutions' seal keys (ELM / JAdES)"
    )
    seal_ca_key_file: Path | None = Field(
        default=None, description="that CA's private JWK (development; production installs chains)"
    )
    trusted_issuers_file: Path | None = Field(
        default=None, description="JSON list of trusted issuer DIDs / https origins (verifier)"
    )
    trust_anchors_file: Path | None = Field(
        default=None, description="PEM certificates trusted for JAdES seals (verifier)"
    )
    verifier_cert_file: Path | None = Field(
        default=None,
        description="PEM chain (leaf first) of the verifier's request-signing key: OpenID4VP "
        "x509_san_dns (the leaf's dNSName is the host of TAITO_PUBLIC_URL) and x509_hash",
    )
    verifier_key_file: Path | None = Field(
        default=None, description="that leaf certificate's private JWK (P-256 or RSA)"
    )
    untrusted_issuer_fails: bool = Field(
        default=False, description="verifier policy: an issuer outside the trusted list fails"
    )
    verifier_formats: list[str] = Field(
        default_factory=list,
        description='verifier policy: formats accepted, e.g. ["ldp_vc","dc+sd-jwt"]; empty: all',
    )
    verifier_algorithms: list[str] = Field(
        default_factory=lambda: ["EdDSA", "ES256", "RS256"],
        description="verifier policy: JOSE algorithms accepted",
    )
    verifier_cryptosuites: list[str] = Field(
        default_factory=list,
        description="verifier policy: Data Integrity cryptosuites accepted; empty: all known",
    )
    verifier_clock_skew_seconds: int = Field(
        default=60, ge=0, le=3600, description="verifier policy: tolerance on validity times"
    )
    verifier_unknown_status_is_warning: bool = Field(
        default=False,
        description="verifier policy: a status that cannot be checked warns instead of failing",
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        default="INFO", description="Python logging level (any case)"
    )
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="text, or json: one JSON object a line for a log collector (taito/logs.py)",
    )
    trust_request_id: bool = Field(
        default=False,
        description="take the X-Request-ID a proxy in front sets (1-64 of A-Z a-z 0-9 . _ -) as "
        "the request id; only behind a proxy that drops the client's own",
    )
    access_log: bool = Field(
        default=True,
        description="one line per request: method, route template, status, time, request id "
        "(never the path, the query or the client's address)",
    )
    wallet_access_token_minutes: int = Field(
        default=15, ge=1, le=1440, description="wallet: lifetime of access tokens"
    )
    wallet_refresh_token_days: int = Field(
        default=30, ge=1, le=365, description="wallet: lifetime of a refresh token family member"
    )
    wallet_login_max_failures: int = Field(
        default=5,
        ge=1,
        description="wallet: failed logins per account from one client address in the window "
        "before 429",
    )
    wallet_login_max_failures_account: int = Field(
        default=20,
        ge=1,
        description="wallet: failed logins per account from all client addresses in the window "
        "before 429 (what locking a learner out takes)",
    )
    wallet_login_window_minutes: int = Field(
        default=15, ge=1, description="wallet: the login rate-limit window"
    )
    wallet_verifiers: Literal["any", "signed", "x509"] = Field(
        default="any",
        description="wallet: the verifiers it answers over OpenID4VP: any; signed (request "
        "objects signed by a DID's or a certified key, no redirect_uri:); x509 (certified keys "
        "chained to TAITO_TRUST_ANCHORS_FILE only)",
    )
    wallet_status_recheck_hours: int = Field(
        default=24, ge=1, description="wallet: re-check credential status after this many hours"
    )
    retention_days: int = Field(
        default=30,
        ge=1,
        description="taito housekeeping: days expired one-time records are kept (OpenID4VCI "
        "offers, tokens and nonces; wallet refresh and mailed tokens; sent mail)",
    )
    presentation_retention_hours: int = Field(
        default=24,
        ge=1,
        description="taito housekeeping: hours an OpenID4VP request and its result (the claims "
        "a learner disclosed) are kept after the request expired",
    )
    smtp_url: SecretStr | None = Field(
        default=None,
        description="wallet mail: smtp://user:pass@host:587 (STARTTLS) or smtps://...; "
        "unset: mail stays in the outbox table and is logged",
    )
    mail_from: str = Field(default="wallet@taito.invalid", description="wallet mail sender")

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @model_validator(mode="after")
    def _one_master_key(self) -> Settings:
        if self.master_key is not None and self.master_key_file is not None:
            raise ValueError("set TAITO_MASTER_KEY or TAITO_MASTER_KEY_FILE, not both")
        if self.master_key_previous is not None and self.master_key_previous_file is not None:
            raise ValueError(
                "set TAITO_MASTER_KEY_PREVIOUS or TAITO_MASTER_KEY_PREVIOUS_FILE, not both"
            )
        return self

    def key_vault(self) -> KeyVault:
        """The vault of the master key, opening also what the previous one sealed (if set)."""
        previous = self.previous_master_key_value()
        return KeyVault(self.master_key_value(), [previous] if previous else [])

    def previous_master_key_value(self) -> str | None:
        """The master key being rotated out (TAITO_MASTER_KEY_PREVIOUS), if any."""
        return self._secret(
            self.master_key_previous, self.master_key_previous_file, "TAITO_MASTER_KEY_PREVIOUS"
        )

    @staticmethod
    def _secret(value: SecretStr | None, path: Path | None, name: str) -> str | None:
        if value is not None:
            return value.get_secret_value()
        if path is None:
            return None
        try:
            return path.read_text().strip()
        except OSError as exc:
            raise ConfigurationError(f"{name}_FILE cannot be read: {exc.strerror}.") from exc

    def master_key_value(self) -> str:
        """The master key, from the variable or the file. Raises if neither is set."""
        value = self._secret(self.master_key, self.master_key_file, "TAITO_MASTER_KEY")
        if value is None:
            raise ConfigurationError(
                "No master key: set TAITO_MASTER_KEY or TAITO_MASTER_KEY_FILE."
            )
        return value
