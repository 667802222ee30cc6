"""Typed errors of presentations and share links (under the wallet's ``WalletError``).

::

    WalletError (wallet.errors)
    └── ShareError                 share_error
        ├── NotPresentable         not_presentable        422  a format the chosen presentation cannot carry
        ├── HolderKeyMissing       holder_key_missing     422  bound to a key that is not in this wallet
        ├── MixedHolderKeys        mixed_holder_keys      422  credentials bound to different holder keys
        └── InvalidShare           invalid_share          422  an expiry in the past, nothing to share, ...

The public page ``/s/{token}`` does not raise these: an unknown, revoked, expired or used-up link
is one fixed 404 answer (``wallet/share_page.py``), so a link never reveals that it existed.
"""

from __future__ import annotations

from wallet.errors import WalletError


class ShareError(WalletError):
    code = "share_error"


class NotPresentable(ShareError):
    code = "not_presentable"
    status = 422
    title = "This credential cannot go into this presentation"


class HolderKeyMissing(ShareError):
    code = "holder_key_missing"
    status = 422
    title = "The credential is bound to a key this wallet does not hold"


class MixedHolderKeys(ShareError):
    code = "mixed_holder_keys"
    status = 422
    title = "The credentials are bound to different holder keys"


class InvalidShare(ShareError):
    code = "invalid_share"
    status = 422
    title = "The share link is not valid"
