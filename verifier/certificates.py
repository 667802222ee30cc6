"""Revocation of the certificates behind a seal: each certificate of a validated chain, the trust
anchor aside, checked against the CRL its issuer publishes (RFC 5280 §6.3) or, when it names no
CRL or none can be relied on, with its issuer's OCSP responder (RFC 6960, GET as RFC 5019 §5
describes). Both are fetched through :class:`~verifier.http.GuardedHttp`, plain ``http`` allowed:
CRLs and OCSP responses are signed (RFC 5280 §4.2.1.13, RFC 6960 Appendix A.1).

Results: one ``issuer_key`` check for the chain.

======================================================  ========  ==================================
outcome                                                 status    code
======================================================  ========  ==================================
each certificate on a current CRL, or "good" by OCSP    passed    ``certificate_not_revoked``
a certificate on its issuer's CRL or "revoked" by OCSP  failed    ``certificate_revoked``
no CRL or OCSP answer could be relied on                failed*   ``certificate_revocation_unknown``
a certificate names no CRL and no OCSP responder        warning   ``no_revocation_source``
======================================================  ========  ==================================

\\* a ``warning`` instead under :attr:`~verifier.status.StatusPolicy.unknown_status_is_warning`,
the operator's one switch for "status could not be determined".

A verified CRL is used again for :attr:`CertificateStatusChecker.max_age` (an hour by default),
never past its ``nextUpdate``: CAs publish revocations in new CRLs well before the old one's
``nextUpdate``, and "revoked" should not wait a day to show. After that the CRL is fetched again
(a conditional request when the server sent validators) and verified again. A "good" OCSP answer
is held the same way; "revoked" and unusable answers are never held.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from itertools import pairwise
from typing import Literal

from cryptography import x509 as pyca_x509

from keys import crl, ocsp
from keys.x509 import Certificate
from schemas.errors import TaitoError
from verifier.http import FetchError, GuardedHttp
from verifier.report import Check

log = logging.getLogger("taito.verifier.certificates")

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
        # OCSP request URL -> until when its "good" answer is held
        self._good: OrderedDict[str, datetime] = OrderedDict()

    def clear(self) -> None:
        """Forget the held CRLs and OCSP answers: the next check fetches afresh."""
        self._held.clear()
        self._good.clear()

    def check(self, path: Sequence[Certificate], *, now: datetime) -> Check:
        """One ``issuer_key`` check for the chain. Never raises for what the chain or a CRL
        server holds."""
        unchecked: list[str] = []
        try:
            for certificate, issuer in pairwise(path):
                urls = crl.distribution_points(certificate)
                responders = ocsp.responders(certificate)
                if not urls and not responders:
                    unchecked.append(_subject(certificate))
                    continue
                self._check_one(certificate, issuer, urls, responders, now)
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
                f"Revocation was not checked: {unchecked[0]!r} names no CRL distribution point "
                "and no OCSP responder.",
            )
        return Check(
            "issuer_key",
            "passed",
            "certificate_not_revoked",
            "No certificate of the seal's chain is revoked (its issuer's current CRL or OCSP).",
        )

    def _unknown(self, why: str) -> Check:
        status: Literal["failed", "warning"] = "warning" if self.unknown_is_warning else "failed"
        message = f"The seal certificate's revocation status is unknown: {why}"
        return Check("issuer_key", status, crl.RevocationUnknown.code, message)

    def _check_one(
        self,
        certificate: Certificate,
        issuer: Certificate,
        urls: list[str],
        responders: list[str],
        now: datetime,
    ) -> None:
        """The first CRL, then OCSP answer, that can be relied on decides (none: unknown)."""
        sources: list[tuple[str, Callable[[], None]]] = [
            (url[:200], functools.partial(self._check_crl, url, certificate, issuer, now))
            for url in urls[:MAX_POINTS]
        ]
        sources += [
            (
                f"OCSP {responder[:200]}",
                functools.partial(self._ask, responder, certificate, issuer, now),
            )
            for responder in responders[:MAX_POINTS]
        ]
        problems: list[str] = []
        for source, check in sources:
            try:
                check()
                return
            except crl.CertificateRevoked:
                raise
            except (FetchError, crl.RevocationUnknown) as exc:
                problems.append(f"{source}: {exc.detail}")
        raise crl.RevocationUnknown(
            f"Neither a CRL nor OCSP of {_subject(issuer)!r} could be relied on "
            f"({'; '.join(problems)})."
        )

    def _check_crl(
        self, url: str, certificate: Certificate, issuer: Certificate, now: datetime
    ) -> None:
        listed = self._current(url, issuer, now)
        crl.check_listed(listed, certificate, now=now, clock_skew=self.clock_skew)

    def _ask(
        self, responder: str, certificate: Certificate, issuer: Certificate, now: datetime
    ) -> None:
        # the request URL names the certificate (issuer name and key hashes, serial)
        url = ocsp.request_url(responder, certificate, issuer)
        held = self._good.get(url)
        if held is not None and now < held:
            self._good.move_to_end(url)
            return
        data = self.http.get(url, accept=ocsp.RESPONSE_MEDIA_TYPE, now=now, signed=True).content
        good = ocsp.check_response(
            data, certificate, issuer, now=now, clock_skew=self.clock_skew, max_age=self.max_age
        )
        until = now + self.max_age
        if good.next_update is not None:
            until = min(until, good.next_update)
        self._good[url] = until
        while len(self._good) > MAX_HELD:
            self._good.popitem(last=False)

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
        data = self.http.get(url, accept=crl.MEDIA_TYPE, now=now, signed=True).content
        listed = crl.verified(data, issuer)
        self._held[url] = (issuer, listed, now)
        while len(self._held) > MAX_HELD:
            self._held.popitem(last=False)
        return listed
