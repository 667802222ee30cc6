"""Typed errors of the wallet role.

::

    TaitoError
    └── WalletError
        ├── NotFound              not_found             404  (also for another learner's data)
        ├── Unauthorized          unauthorized          401  no, unknown or expired access token
        ├── InvalidLogin          invalid_login         401  wrong email or password
        ├── InvalidRefreshToken   invalid_refresh_token 401  unknown, expired, revoked or reused
        ├── InvalidEmailToken     invalid_email_token   400  unknown, used or expired
        ├── AccountExists         account_exists        409
        ├── DuplicateCredential   duplicate_credential  409  ``extra.existing`` names the stored one
        ├── RateLimited           rate_limited          429  ``retry_after`` seconds
        ├── CredentialRejected    credential_rejected   422  ``extra.report`` is the verification
        ├── UnsupportedInput      unsupported_input     422  a presentation, an empty body, ...
        ├── WrongPassphrase       wrong_passphrase      400  an archive that does not open
        ├── InvalidArchive        invalid_archive       422  an archive that is not Taito's
        ├── CorruptCredential     corrupt_credential    500  a stored blob that does not open
        └── WalletUnavailable     wallet_unavailable    503  no master key configured
"""

from __future__ import annotations

from typing import Any

from schemas.errors import TaitoError


class WalletError(TaitoError):
    code = "wallet_error"


class NotFound(WalletError):
    code = "not_found"
    status = 404
    title = "Not found"


class Unauthorized(WalletError):
    code = "unauthorized"
    status = 401
    title = "Authentication required"


class InvalidLogin(WalletError):
    code = "invalid_login"
    status = 401
    title = "Wrong email or password"


class InvalidRefreshToken(WalletError):
    code = "invalid_refresh_token"
    status = 401
    title = "The refresh token is not valid"


class InvalidEmailToken(WalletError):
    code = "invalid_email_token"
    status = 400
    title = "The verification link is not valid"


class AccountExists(WalletError):
    code = "account_exists"
    status = 409
    title = "An account with this email exists"


class DuplicateCredential(WalletError):
    code = "duplicate_credential"
    status = 409
    title = "This credential is already in the wallet"


class RateLimited(WalletError):
    code = "rate_limited"
    status = 429
    title = "Too many attempts"

    def __init__(self, detail: str, *, retry_after: int, extra: dict[str, Any] | None = None):
        super().__init__(detail, extra={"retry_after": retry_after, **(extra or {})})
        self.retry_after = retry_after


class CredentialRejected(WalletError):
    code = "credential_rejected"
    status = 422
    title = "The credential did not verify"


class UnsupportedInput(WalletError):
    code = "unsupported_input"
    status = 422
    title = "Not a credential the wallet can keep"


class WrongPassphrase(WalletError):
    code = "wrong_passphrase"
    status = 400
    title = "The archive does not open with this passphrase"


class InvalidArchive(WalletError):
    code = "invalid_archive"
    status = 422
    title = "Not a Taito wallet archive"


class CorruptCredential(WalletError):
    code = "corrupt_credential"
    status = 500
    title = "A stored credential cannot be opened"


class WalletUnavailable(WalletError):
    code = "wallet_unavailable"
    status = 503
    title = "The wallet is not available"
