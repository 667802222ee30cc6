"""Wallet mail: the outbox, an SMTP delivery to a real (loopback) SMTP listener, and logs that
never carry a password, a token or a mailed link."""

from __future__ import annotations

import email
import logging
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from fastapi.testclient import TestClient
from sqlmodel import select

from tests.wallet.conftest import PASSWORD, register, session_of, wallet_of
from wallet import mail
from wallet.tables import OutboxMail


@dataclass
class Inbox:
    port: int
    messages: list[str] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)


def _serve(listener: socket.socket, inbox: Inbox) -> None:
    """Just enough of an SMTP server (RFC 5321 §4.1) for one plain session per connection."""
    while True:
        try:
            connection, _ = listener.accept()
        except OSError:
            return
        with connection, connection.makefile("rwb") as stream:
            stream.write(b"220 test ESMTP\r\n")
            stream.flush()
            while line := stream.readline():
                command = line.decode().strip()
                inbox.commands.append(command.split(" ")[0].upper())
                verb = command.upper()
                if verb.startswith("EHLO"):
                    stream.write(b"250-test\r\n250 8BITMIME\r\n")
                elif verb == "DATA":
                    stream.write(b"354 go ahead\r\n")
                    stream.flush()
                    body = b""
                    while (chunk := stream.readline()) not in (b".\r\n", b""):
                        body += chunk
                    inbox.messages.append(body.decode())
                    stream.write(b"250 queued\r\n")
                elif verb == "QUIT":
                    stream.write(b"221 bye\r\n")
                    stream.flush()
                    break
                else:
                    stream.write(b"250 ok\r\n")
                stream.flush()


@pytest.fixture
def inbox() -> Iterator[Inbox]:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    box = Inbox(listener.getsockname()[1])
    thread = threading.Thread(target=_serve, args=(listener, box), daemon=True)
    thread.start()
    yield box
    listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() of the serving thread
    listener.close()
    thread.join(timeout=5)


def test_verification_mail_is_sent_over_smtp(client: TestClient, inbox: Inbox) -> None:
    wallet_of(client).smtp_url = f"smtp://127.0.0.1:{inbox.port}"
    account = register(client, "aino@example.fi")
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    assert "To: aino@example.fi" in message and "/wallet/verify-email?token=" in message
    assert inbox.commands[:3] == ["EHLO", "MAIL", "RCPT"]
    with session_of(client) as session:
        row = session.exec(select(OutboxMail)).one()
        assert row.sent_at is not None and row.learner_id == account.id
    body = email.message_from_string(message).get_payload(decode=True)
    assert isinstance(body, bytes)
    token = body.decode().split("token=")[1].split()[0]
    verified = client.post("/wallet/auth/verify-email", json={"token": token})
    assert verified.status_code == 200 and verified.json()["email_verified"] is True


def test_unreachable_smtp_keeps_the_mail_for_a_retry(client: TestClient) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        closed_port = probe.getsockname()[1]
    wallet_of(client).smtp_url = f"smtp://127.0.0.1:{closed_port}"
    register(client)
    with session_of(client) as session:
        row = session.exec(select(OutboxMail)).one()
        assert row.sent_at is None and row.attempts == 1
        assert mail.deliver_pending(session, wallet_of(client)) == 0
        session.refresh(row)
        assert row.attempts == 2


def test_logs_carry_no_secret(client: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    account = register(client)
    client.post("/wallet/auth/login", json={"email": account.email, "password": "wrong guess"})
    tokens = client.post(
        "/wallet/auth/login", json={"email": account.email, "password": PASSWORD}
    ).json()
    client.post("/wallet/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    with session_of(client) as session:
        body = session.exec(select(OutboxMail)).one().body
    link_token = body.split("token=")[1].split()[0]
    logged = caplog.text
    assert "kept in the outbox" in logged  # development: the mail is named in the log
    for secret in (
        PASSWORD,
        "wrong guess",
        link_token,
        tokens["refresh_token"],
        tokens["access_token"],
        account.refresh_token,
    ):
        assert secret not in logged
