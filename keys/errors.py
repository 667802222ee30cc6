"""Typed errors of the ``keys`` package.

::

    TaitoError (schemas.errors)
    └── KeysError
        ├── InvalidKey            invalid_key           malformed or wrong-length key material
        ├── UnsupportedKeyType    unsupported_key_type  a key type / curve / codec we do not do
        ├── InvalidMultibase      invalid_multibase     not z-base58btc, bad characters
        ├── DidError              did_resolution        a DID we cannot resolve offline or that is malformed
        ├── InvalidSignature      invalid_signature     the signature does not verify
        └── KeyStoreError         key_store             sealed key cannot be opened (wrong master key)
"""

from __future__ import annotations

from schemas.errors import TaitoError


class KeysError(TaitoError):
    code = "keys_error"
    status = 400
    title = "Key or signature problem"


class InvalidKey(KeysError):
    code = "invalid_key"
    title = "Invalid key material"


class UnsupportedKeyType(KeysError):
    code = "unsupported_key_type"
    title = "Unsupported key type"


class InvalidMultibase(KeysError):
    code = "invalid_multibase"
    title = "Invalid multibase value"


class DidError(KeysError):
    code = "did_resolution"
    title = "DID cannot be resolved"


class InvalidSignature(KeysError):
    code = "invalid_signature"
    title = "Signature does not verify"


class KeyStoreError(KeysError):
    code = "key_store"
    status = 500
    title = "Key store cannot open a key"
