"""Revocation of the certificates behind a seal: each certificate of a validated chain, the trust
anchor aside, checked against the CRL its issuer publishes (RFC 5280 §6.3), fetched through
:class:`~verifier.http.GuardedHttp` (plain ``http`` allowed: a CRL is signed, §4.2.1.13).

Results: one ``issuer_key`` check for the chain.

=============================================  ========  ======================================
outcome                                        status    code
=============================================  ========  ======================================
every certificate on a current CRL, none       passed    ``certificate_not_revoked``
revoked
a certificate is on its issuer's CRL           failed    ``certificate_revoked``
a CRL could not be fetched or relied on        failed*   ``certificate_revocation_unknown``
a certificate names no CRL distribution point  warning   ``no_revocation_source``
=============================================  ========  ======================================

\\* a ``warning`` instead under :attr:`~verifier.status.StatusPolicy.unknown_status_is_warning`,
the operator's one switch for "status could not be determined". OCSP is not spoken: a certificate
that names only an OCSP responder is reported as ``no_revocation_source``.

A verified CRL is used again for :attr:`CertificateStatusChecker.max_age` (an hour by default),
never past its ``nextUpdate``: CAs publish revocations in new CRLs well before the old one's
``nextUpdate``, and "revoked" should not wait a day to show. After that the CRL is fetched again
(a conditional request when the server sent validators) and verified again.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from cryptography import x509 as pyca_x509

from keys import crl
from keys.x509 import Certificate
from schemas.errors import TaitoError
from verifier.http import FetchError, GuardedHttp
from verifier.report import Check

log = logging.getLogger("taito.verifier.certificates")

ACCEPT_CRL = "application/pkix-crl"  # RFC 5280 §4.2.1.13 / RFC 2585 §4.1
MAX_POINTS = 3  # distribution points tried per certificate
MAX_HELD = 64  # CRLs kept
CRL = pyca_x509.CertificateRevocationList


def _subject(certificate: Certificate) -> str:
    return certificate.subject.rfc4514_string()[:200]


class CertificateStatusChecker:
    """Checks a validated certificate path (leaf first, anchor last) against its issuers' CRLs."""

    def __init__(
        self,
        http: GuardedHttp,
        *,
        unknown_is_warning: bool = False,
        clock_skew: timedelta = timedelta(minutes=5),
        max_age: timedelta = timedelta(hours=1),
    ) -> None:
        self.http = http
        self.unknown_is_warning = unknown_is_warning
        self.clock_skew = clock_skew
        self.max_age = max_age
        # URL -> (issuer, verified CRL, when it was fetched)
        self._held: OrderedDict[str, tuple[Certificate, CRL, datetime]] = OrderedDict()

    def check(self, path: Sequence[Certificate], *, now: datetime) -> Check:
        """One ``issuer_key`` check for the chain. Never raises for what the chain or a CRL
        server holds."""
        unchecked: list[str] = []
        try:
            for certificate, issuer in pairwise(path):
                urls = crl.distribution_points(certificate)
                if not urls:
                    unchecked.append(_subject(certificate))
                    continue
                self._check_one(certificate, issuer, urls, now)
        except crl.CertificateRevoked as exc:
            return Check("issuer_key", "failed", exc.code, exc.detail)
        except TaitoError as exc:
            return self._unknown(exc.detail)
        except Exception as exc:  # noqa: BLE001 - what a CA server sends never escapes as a crash
            log.warning("certificate revocation check failed with %s", type(exc).__name__)
            return self._unknown(f"the check failed ({type(exc).__name__})")
        if unchecked:
            return Check(
                "issuer_key",
                "warning",
                "no_revocation_source",
                f"Revocation was not checked: {unchecked[0]!r} names no CRL distribution point.",
            )
        return Check(
            "issuer_key",
            "passed",
            "certificate_not_revoked",
            "No certificate of the seal's chain is on its issuer's current revocation list.",
        )

    def _unknown(self, why: str) -> Check:
        status: Literal["failed", "warning"] = "warning" if self.unknown_is_warning else "failed"
        message = f"The seal certificate's revocation status is unknown: {why}"
        return Check("issuer_key", status, crl.RevocationUnknown.code, message)

    def _check_one(
        self, certificate: Certificate, issuer: Certificate, urls: list[str], now: datetime
    ) -> None:
        problems: list[str] = []
        for url in urls[:MAX_POINTS]:
            try:
                listed = self._current(url, issuer, now)
                crl.check_listed(listed, certificate, now=now, clock_skew=self.clock_skew)
                return
            except crl.CertificateRevoked:
                raise
            except (FetchError, crl.RevocationUnknown) as exc:
                problems.append(f"{url[:200]}: {exc.detail}")
        raise crl.RevocationUnknown(
            f"No CRL of {_subject(issuer)!r} could be relied on ({'; '.join(problems)})."
        )

    def _current(self, url: str, issuer: Certificate, now: datetime) -> CRL:
        held = self._held.get(url)
        if held is not None:
            holder, listed, fetched = held
            next_update = listed.next_update_utc
            if (
                holder == issuer
                and now < fetched + self.max_age
                and (next_update is None or now <= next_update)
            ):
                self._held.move_to_end(url)
                return listed
        data = self.http.get(url, accept=ACCEPT_CRL, now=now, signed=True).content
        listed = crl.verified(data, issuer)
        self._held[url] = (issuer, listed, now)
        while len(self._held) > MAX_HELD:
            self._held.popitem(last=False)
        return listed
