"""``taito housekeeping``: what has outlived its use goes, on a real server's database (SQLite and
PostgreSQL), and nothing else; the service goes on with what stays.

The records are made by the real flows (an OpenID4VCI issuance, a learner's registration and
sign-in, an OpenID4VP request), then aged in the database, then the real command runs.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, func, select, update
from sqlmodel import Session, col

from issuer.batch_tables import DONE, FAILED, Batch, BatchRow
from issuer.oid4vci_tables import AccessToken, CredentialOffer, Nonce, Notification, Transaction
from issuer.tables import Institution
from taito import housekeeping
from taito.database import make_engine
from tests.openid.conftest import RECIPIENT, SLUG, Server
from tests.openid.holder import Wallet, holder_key, resolve_offer
from tests.openid.test_oid4vp import create, query_for
from tests.taito.test_cli import taito
from tests.wallet.conftest import PASSWORD
from verifier.oid4vp_tables import PresentationRequest
from wallet.tables import EmailToken, OutboxMail, RefreshToken

LONG_AGO = datetime(2020, 1, 1, tzinfo=UTC)
TABLES = (
    AccessToken,
    Nonce,
    Transaction,
    Notification,
    CredentialOffer,
    RefreshToken,
    EmailToken,
    OutboxMail,
    PresentationRequest,
)


def _counts(engine: Engine) -> dict[str, int]:
    with Session(engine) as session:
        return {
            t.__tablename__: int(session.execute(select(func.count()).select_from(t)).scalar_one())  # type: ignore[attr-defined]
            for t in TABLES
        }


def _age(engine: Engine, table: Any, column: str, where: Any, to: datetime = LONG_AGO) -> None:
    with Session(engine) as session:
        done = session.execute(update(table).where(where).values({column: to}))
        assert done.rowcount >= 1  # type: ignore[attr-defined]
        session.commit()


def _offer_id(engine: Engine, offer: dict[str, Any]) -> str:
    code = offer["grants"]["urn:ietf:params:oauth:grant-type:pre-authorized_code"]
    digest = hashlib.sha256(code["pre-authorized_code"].encode()).hexdigest()
    with Session(engine) as session:
        query = select(CredentialOffer.id).where(col(CredentialOffer.code_hash) == digest)
        return str(session.execute(query).scalar_one())


def _table_counts(output: str) -> dict[str, int]:
    return {m[1].strip(): int(m[2]) for m in re.finditer(r"│ ([a-z].*?)\s*│ (\d+)\s*│", output)}


def _run(database_url: str, tmp_path: Path, *args: str) -> dict[str, int]:
    result = taito("housekeeping", *args, cwd=tmp_path, env={"TAITO_DATABASE_URL": database_url})
    assert result.returncode == 0, result.stderr
    return _table_counts(result.stdout)


def test_housekeeping_deletes_what_outlived_its_use_and_nothing_else(
    server: Server, database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    http = server.http
    # OpenID4VCI: an offer redeemed and issued (token, notification), one never redeemed, one
    # waiting for a deferred issuance, one fresh
    issued = server.offer()
    wallet = Wallet(http, resolve_offer(http, issued["offer_uri"]))
    assert wallet.token(issued["tx_code"]).status_code == 200
    response = wallet.request("LearningCredential_dc+sd-jwt", [holder_key("p256")])
    assert response.status_code == 200, response.text
    unredeemed, waiting, fresh = server.offer(), server.offer(), server.offer()
    ids = {
        name: _offer_id(engine, resolve_offer(http, made["offer_uri"]))
        for name, made in (
            ("issued", issued),
            ("unredeemed", unredeemed),
            ("waiting", waiting),
            ("fresh", fresh),
        )
    }
    with Session(engine) as session:
        for id_hash, state in (("a" * 64, "pending"), ("b" * 64, "issued")):
            session.add(
                Transaction(
                    id_hash=id_hash,
                    offer_id=ids["waiting"],
                    configuration_id="LearningCredential_dc+sd-jwt",
                    holder_jwks=[],
                    state=state,
                )
            )
        session.commit()
    for name in ("issued", "unredeemed", "waiting"):
        _age(engine, CredentialOffer, "expires_at", col(CredentialOffer.id) == ids[name])
    _age(engine, AccessToken, "expires_at", col(AccessToken.offer_id) == ids["issued"])
    # the wallet: a learner registers (refresh token, mailed token, a mail) and signs in again
    email = "housekeeping@example.fi"
    registered = http.post(
        "/wallet/auth/register",
        json={"email": email, "password": PASSWORD, "display_name": "Aino"},
    )
    assert registered.status_code == 201, registered.text
    old_refresh = registered.json()["tokens"]["refresh_token"]
    signed_in = http.post("/wallet/auth/login", json={"email": email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    new_refresh = signed_in.json()["refresh_token"]
    old_hash = hashlib.sha256(old_refresh.encode()).hexdigest()
    _age(engine, RefreshToken, "expires_at", col(RefreshToken.token_hash) == old_hash)
    _age(engine, EmailToken, "expires_at", col(EmailToken.email) == email)
    _age(engine, OutboxMail, "sent_at", col(OutboxMail.to_address) == email)
    forgot = http.post("/wallet/auth/forgot-password", json={"email": email})
    assert forgot.status_code == 202, forgot.text  # a second mail, not sent yet: it stays
    # the verifier: two requests, one expired long ago
    old_request = create(server, [query_for(server, "dc+sd-jwt")])
    new_request = create(server, [query_for(server, "dc+sd-jwt")])
    _age(
        engine, PresentationRequest, "expires_at", col(PresentationRequest.id) == old_request["id"]
    )

    before = _counts(engine)
    planned = _run(database_url, tmp_path, "--dry-run")
    assert _counts(engine) == before  # a dry run deletes nothing
    expected = {
        "issuer: OpenID4VCI access tokens": 1,
        "issuer: OpenID4VCI deferred issuances": 0,
        "issuer: OpenID4VCI notifications": 1,
        "issuer: OpenID4VCI credential offers": 2,
        "wallet: refresh tokens": 1,
        "wallet: mailed one-time tokens": 1,
        "wallet: sent mail": 1,
        "verifier: OpenID4VP requests and their results": 1,
    }
    assert {k: v for k, v in planned.items() if k in expected} == expected
    assert _run(database_url, tmp_path) == planned
    after = _counts(engine)
    for table, gone in (
        ("oid4vci_token", 1),
        ("oid4vci_notification", 1),
        ("credential_offer", 2),
        ("oid4vci_transaction", 0),
        ("refresh_token", 1),
        ("email_token", 1),
        ("outbox_mail", 1),
        ("presentation_request", 1),
    ):
        assert before[table] - after[table] == gone, table
    assert set(_run(database_url, tmp_path).values()) == {0}  # nothing left to do

    with Session(engine) as session:
        offers = set(session.execute(select(CredentialOffer.id)).scalars())
        assert offers == {ids["waiting"], ids["fresh"]}  # the deferred issuance keeps its offer
        # both of its transactions stay, the pending one and the one already issued
        assert session.get(Transaction, "a" * 64) is not None
        assert session.get(Transaction, "b" * 64) is not None
    # what stays still works; what went is unknown
    assert (
        Wallet(http, resolve_offer(http, fresh["offer_uri"])).token(fresh["tx_code"]).status_code
        == 200
    )
    assert http.post("/wallet/auth/refresh", json={"refresh_token": new_refresh}).status_code == 200
    assert http.post("/wallet/auth/refresh", json={"refresh_token": old_refresh}).status_code == 401
    for made, status in ((old_request, 404), (new_request, 200)):
        read = http.get(
            f"/verifier/requests/{made['id']}",
            headers={"Authorization": f"Bearer {made['read_token']}"},
        )
        assert read.status_code == status, read.text
    engine.dispose()


def test_housekeeping_deletes_page_by_page(engine: Engine) -> None:
    now = datetime.now(UTC)
    with Session(engine) as session:
        for i in range(5):
            session.add(
                PresentationRequest(
                    client_id="redirect_uri:https://rp.example/cb",
                    client_id_prefix="redirect_uri",
                    nonce=f"n{i}",
                    state=f"s{i}",
                    response_uri="https://taito.example/response",
                    dcql_query={"credentials": []},
                    read_token_hash=f"{i}" * 64,
                    expires_at=now - timedelta(hours=25 if i < 3 else 23),
                )
            )
        session.commit()
    counts = housekeeping.run(
        engine,
        now,
        retention=timedelta(days=30),
        presentation_retention=timedelta(hours=24),
        page=2,
    )
    assert counts["verifier: OpenID4VP requests and their results"] == 3  # two pages and one row
    with Session(engine) as session:
        left = session.execute(select(PresentationRequest.nonce)).scalars()
        assert sorted(left) == ["n3", "n4"]


def test_housekeeping_bad_settings_and_an_unmigrated_database(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    for env, message in (
        ({"TAITO_RETENTION_DAYS": "0"}, "retention_days"),
        ({"TAITO_PRESENTATION_RETENTION_HOURS": "soon"}, "presentation_retention_hours"),
    ):
        result = taito("housekeeping", cwd=tmp_path, env={"TAITO_DATABASE_URL": url, **env})
        assert result.returncode == 2
        assert result.stderr.startswith("taito: error: bad TAITO_* configuration")
        assert message in result.stderr
    result = taito("housekeeping", cwd=tmp_path, env={"TAITO_DATABASE_URL": url})
    assert result.returncode == 1
    assert "taito db upgrade" in result.stderr
    assert "Traceback" not in result.stderr


def test_housekeeping_clears_the_awards_of_batch_rows_issued_long_ago(
    server: Server, database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    award = {"achievement_id": server.achievement_id, "recipient": RECIPIENT}
    with Session(engine) as session:
        institution = session.execute(select(Institution).where(col(Institution.slug) == SLUG))
        issuer_id = institution.scalar_one().id
        batch = Batch(
            issuer_id=issuer_id,
            achievement_id=server.achievement_id,
            formats=["ob3-di"],
            actor="registrar",
            scopes=["issuer:admin"],
            request_hash="0" * 64,
            total=3,
            invalid=0,
        )
        session.add(batch)
        session.flush()
        for row, state, finished in (
            (2, DONE, LONG_AGO),  # issued long ago: its award goes
            (3, DONE, datetime.now(UTC)),  # issued today: it stays
            (4, FAILED, LONG_AGO),  # failed: kept to be retried
        ):
            session.add(
                BatchRow(
                    batch_id=batch.id,
                    row=row,
                    request=award,
                    state=state,
                    finished_at=finished,
                    error_code="internal" if state == FAILED else None,
                )
            )
        session.commit()
        batch_id = batch.id
    name = "issuer: awards in issued batch rows"
    assert _run(database_url, tmp_path, "--dry-run")[name] == 1
    assert _run(database_url, tmp_path)[name] == 1
    assert _run(database_url, tmp_path)[name] == 0
    with Session(engine) as session:
        requests = dict(
            session.execute(
                select(BatchRow.row, BatchRow.request).where(col(BatchRow.batch_id) == batch_id)
            ).all()
        )
        is_null = session.execute(
            select(func.count())
            .select_from(BatchRow)
            .where(col(BatchRow.batch_id) == batch_id, col(BatchRow.request).is_(None))
        )
        assert is_null.scalar_one() == 1  # SQL NULL, not the JSON null
    assert requests == {2: None, 3: award, 4: award}
    report = server.http.get(f"/issuers/{SLUG}/batches/{batch_id}", headers=server.admin)
    assert report.status_code == 200, report.text
    assert [(r["row"], r["state"]) for r in report.json()["rows"]] == [
        (2, DONE),
        (3, DONE),
        (4, FAILED),
    ]
    engine.dispose()
