"""The Python comparators ``make bench`` times beside Taito, on the same inputs.

* **pyld + cryptography**: Taito's own Data Integrity code with its reference canonicaliser
  (pyld's JSON-LD expansion and URDNA2015 on every call) - what a pyld-based Python verifier does;
* **pyld RDFC-1.0**: plain ``jsonld.normalize(..., algorithm="URDNA2015")``;
* **PyPI sd-jwt** 0.10.4 (the OpenWallet Foundation's reference, jwcrypto inside): issue with 12
  selectively disclosable claims, verify a presentation with key binding (ES256).

The JavaScript comparators run in ``bench/node/bench.mjs``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pyld import jsonld

from keys.jwk import PrivateKey
from schemas.contexts import DocumentLoader, StaticLoader


def reference_loader(documents: StaticLoader) -> DocumentLoader:
    """The same contexts behind a plain function: Taito then takes its reference (pyld) path."""

    def load(url: str, options: Any = None, /) -> dict[str, Any]:
        return documents(url, options)

    return load


def pyld_rdfc(document: dict[str, Any], documents: StaticLoader) -> Callable[[], Any]:
    options = {
        "algorithm": "URDNA2015",
        "format": "application/n-quads",
        "documentLoader": documents,
    }
    return lambda: jsonld.normalize(document, options)


def pypi_sd_jwt(
    claims: dict[str, Any],
    disclosable: list[str],
    issuer: PrivateKey,
    holder: PrivateKey,
    *,
    nonce: str,
    audience: str,
) -> tuple[Callable[[], Any], Callable[[], Any]] | None:
    """(issue, verify) with PyPI ``sd-jwt``, or ``None`` when it is not installed."""
    try:
        from jwcrypto.jwk import JWK
        from sd_jwt.common import SDObj
        from sd_jwt.holder import SDJWTHolder
        from sd_jwt.issuer import SDJWTIssuer
        from sd_jwt.verifier import SDJWTVerifier
    except ImportError:
        return None
    names = {pointer[1:] for pointer in disclosable}
    user_claims = {(SDObj(k) if k in names else k): v for k, v in claims.items()}
    issuer_jwk = JWK(**issuer.to_jwk())
    holder_jwk = JWK(**holder.to_jwk())
    public_jwk = JWK(**issuer.public_key().to_jwk())

    def issue() -> str:
        tool = SDJWTIssuer(
            user_claims,
            issuer_jwk,
            holder_key=holder_jwk,
            sign_alg="ES256",
            extra_header_parameters={"typ": "dc+sd-jwt"},
        )
        return str(tool.sd_jwt_issuance)

    holder_tool = SDJWTHolder(issue())
    holder_tool.create_presentation(
        {name: True for name in names},
        nonce=nonce,
        aud=audience,
        holder_key=holder_jwk,
        sign_alg="ES256",
    )
    presentation = holder_tool.sd_jwt_presentation

    def verify() -> Any:
        checker = SDJWTVerifier(
            presentation,
            lambda iss, header: public_jwk,
            expected_aud=audience,
            expected_nonce=nonce,
        )
        return checker.get_verified_payload()

    payload = verify()
    if set(payload) < names:
        raise AssertionError("PyPI sd-jwt did not disclose every claim")
    return issue, verify
