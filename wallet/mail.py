"""Mail of the wallet through an outbox: a mail is a row written in the transaction that causes
it (``outbox_mail``), delivered after the commit.

Without ``TAITO_SMTP_URL`` (development) nothing leaves the server: the mail stays in the outbox
and a log line names it (recipient, subject and outbox id; the body may hold a one-time link and
is read from the table). With ``smtp://user:pass@host:587`` the sender uses STARTTLS
(RFC 3207); ``smtps://`` speaks TLS from the start (RFC 8314 §3.3).
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlmodel import Session, col, select

from wallet.context import WalletContext
from wallet.tables import OutboxMail

log = logging.getLogger("taito.wallet")
MAX_ATTEMPTS = 5


def queue_mail(
    session: Session, learner_id: str | None, to_address: str, subject: str, body: str
) -> OutboxMail:
    row = OutboxMail(learner_id=learner_id, to_address=to_address, subject=subject, body=body)
    session.add(row)
    session.flush()
    return row


def _smtp_send(smtp_url: str, message: EmailMessage, timeout: float = 10.0) -> None:
    url = urlsplit(smtp_url)
    if url.scheme not in ("smtp", "smtps") or not url.hostname:
        raise ValueError("TAITO_SMTP_URL must be smtp://host[:port] or smtps://host[:port]")
    port = url.port or (465 if url.scheme == "smtps" else 587)
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if url.scheme == "smtps":
        client = smtplib.SMTP_SSL(url.hostname, port, timeout=timeout, context=context)
    else:
        client = smtplib.SMTP(url.hostname, port, timeout=timeout)
    with client:
        if url.scheme == "smtp" and client.has_extn("starttls"):
            client.starttls(context=context)
        if url.username:
            client.login(unquote(url.username), unquote(url.password or ""))
        client.send_message(message)


def deliver_pending(session: Session, context: WalletContext, *, limit: int = 50) -> int:
    """Send (or, without SMTP, log) the outbox mail not yet sent; returns how many were sent."""
    rows = list(
        session.exec(
            select(OutboxMail)
            .where(col(OutboxMail.sent_at).is_(None), OutboxMail.attempts < MAX_ATTEMPTS)
            .order_by(col(OutboxMail.created_at))
            .limit(limit)
        )
    )
    sent = 0
    for row in rows:
        if context.smtp_url is None:
            log.info(
                "mail %s to %s (%s) kept in the outbox: no TAITO_SMTP_URL is set",
                row.id,
                row.to_address,
                row.subject,
            )
            row.attempts = MAX_ATTEMPTS  # development: the outbox table is the mailbox
            session.add(row)
            continue
        message = EmailMessage()
        message["From"] = context.mail_from
        message["To"] = row.to_address
        message["Subject"] = row.subject
        # 7bit keeps one-time links intact for any reader (RFC 5322 §2.1.1 allows 998 octets).
        message.set_content(row.body, cte="7bit" if row.body.isascii() else "quoted-printable")
        row.attempts += 1
        try:
            _smtp_send(context.smtp_url, message)
        except (OSError, smtplib.SMTPException, ValueError) as exc:
            log.warning("mail %s could not be sent: %s", row.id, type(exc).__name__)
        else:
            row.sent_at = context.clock()
            sent += 1
        session.add(row)
    session.commit()
    return sent
