"""Revocation and suspension: status list entries, publishing, and status changes.

* W3C Bitstring Status List v1.0: every W3C credential gets a ``revocation`` and a ``suspension``
  ``BitstringStatusListEntry`` (§2.1), at a random unused index (§6.1 herd privacy) of a list of
  :data:`LIST_SIZE` entries; a new list starts when one is half full, so a random free index is
  found in two tries on average.
* IETF Token Status List: every SD-JWT VC gets ``status.status_list {idx, uri}`` in a 2-bit list
  (0 valid, 1 invalid, 2 suspended; draft-ietf-oauth-status-list §7.1).

Bits are rows of ``status_entry`` changed by single-row UPDATEs; a list's ``version`` moves with
each change and the signed list is rebuilt from the rows when read after a change.
"""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.dml import Insert
from sqlmodel import Session, SQLModel, col, select

from issuer import audit, institutions, metrics
from issuer.context import Caller, IssuerContext, aware
from issuer.errors import Conflict, NotFound
from issuer.tables import Institution, IssuedCredential, StatusEntry, StatusList
from keys import data_integrity, status_list, vc_jwt
from schemas.errors import ValidationFailed

LIST_SIZE = 131_072  # Bitstring Status List §6.1: at least 16 KB for herd privacy
FILL_LIMIT = 0.5
PUBLISHED_FOR = timedelta(hours=24)  # validUntil of a published list
MAX_AGE = 300  # Cache-Control max-age of a published list, seconds
TOKEN_VALUES = {"active": 0, "revoked": 1, "suspended": 2}


def list_url(context: IssuerContext, institution: Institution, list_id: str) -> str:
    return f"{context.public_url}/issuers/{institution.slug}/status/{list_id}"


def _current_list(
    session: Session, institution: Institution, kind: str, purpose: str, size: int
) -> StatusList:
    query = (
        select(StatusList)
        .where(
            StatusList.issuer_id == institution.id,
            StatusList.kind == kind,
            StatusList.purpose == purpose,
            col(StatusList.used) < StatusList.size * FILL_LIMIT,
        )
        .order_by(col(StatusList.created_at))
    )
    found = session.exec(query).first()
    if found is not None:
        return found
    assert institution.id is not None
    created = StatusList(
        issuer_id=institution.id,
        kind=kind,
        purpose=purpose,
        size=size,
        status_size=2 if kind == "token" or purpose == "message" else 1,
    )
    session.add(created)
    session.flush()
    return created


def _w3c_entry(
    context: IssuerContext, institution: Institution, lst: StatusList, position: int
) -> dict[str, Any]:
    """One BitstringStatusListEntry (§2.1) of ``lst``'s purpose at ``position``."""
    url = list_url(context, institution, lst.id)
    return {
        "id": f"{url}#{position}",
        "type": "BitstringStatusListEntry",
        "statusPurpose": lst.purpose,
        "statusListIndex": str(position),
        "statusListCredential": url,
    }


MESSAGE_STATUS_SIZE = 2  # up to four messages per credential


def claims(
    context: IssuerContext,
    institution: Institution,
    slots: Sequence[tuple[StatusList, int]],
    messages: list[str],
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """What allocated ``(list, index)`` slots put in the credentials: the W3C
    ``credentialStatus`` entries, and the SD-JWT VC ``status`` claim (or ``None``)."""
    w3c: list[dict[str, Any]] = []
    token: dict[str, Any] | None = None
    for lst, position in slots:
        if lst.kind == "token":
            # Token Status List §6.1 ``status_list``
            token = {
                "status_list": {"idx": position, "uri": list_url(context, institution, lst.id)}
            }
        elif lst.purpose == "message":
            # §2.1: statusSize > 1 needs statusMessage
            w3c.append(
                {
                    **_w3c_entry(context, institution, lst, position),
                    "statusSize": MESSAGE_STATUS_SIZE,
                    "statusMessage": [
                        {"status": hex(i), "message": m} for i, m in enumerate(messages)
                    ],
                }
            )
        else:
            w3c.append(_w3c_entry(context, institution, lst, position))
    return w3c, token


def set_message(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    credential_id: str,
    value: int,
) -> IssuedCredential:
    """Point a credential's ``message`` entry at one of the messages it was issued with."""
    institutions.authorize(caller, institution, "credentials:revoke")
    assert institution.id is not None
    row = _credential(session, institution, credential_id)
    if row.status == "revoked":
        raise Conflict(f"Credential urn:uuid:{row.id} is revoked; revocation is final.")
    purposes = session.exec(
        select(StatusList.purpose)
        .join(StatusEntry, col(StatusEntry.list_id) == col(StatusList.id))
        .where(StatusEntry.credential_id == row.id)
    ).all()
    if "message" not in purposes:
        raise Conflict(f"Credential urn:uuid:{row.id} was issued without status messages.")
    declared = len(row.award.get("status_messages") or [])
    if not 0 <= value < declared:
        raise ValidationFailed(
            f"The credential was issued with {declared} status messages (0..{declared - 1}).",
            extra={"errors": [{"path": "body.value", "message": "out of range"}]},
        )
    _set(session, row.id, {"message": value})
    audit.record(
        session,
        caller,
        institution.id,
        "credential.status_message",
        f"urn:uuid:{row.id}",
        value=value,
    )
    session.commit()
    session.refresh(row)
    return row


# --- many at once (bulk issuance) -------------------------------------------------------------


def insert_skipping_duplicates(session: Session, model: type[SQLModel], *unique: str) -> Insert:
    """``INSERT ... ON CONFLICT (unique) DO NOTHING``: a row a concurrent writer holds is skipped
    (PostgreSQL waits for that writer's outcome first), so a unique key arbitrates without errors."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model).on_conflict_do_nothing(index_elements=list(unique))
    return sqlite.insert(model).on_conflict_do_nothing(index_elements=list(unique))


def choose(
    session: Session,
    institution: Institution,
    needs: Sequence[tuple[str, str]],
    *,
    rng: random.Random | None = None,
    size: int = LIST_SIZE,
    lists: dict[tuple[str, str], StatusList] | None = None,
) -> list[tuple[StatusList, int]]:
    """A random index unused when looked at, all distinct, for each ``(kind, purpose)`` of
    ``needs`` (§6.1 herd privacy: uniform among the unused ones). Nothing is reserved yet:
    :func:`record` writes them and says which a concurrent writer took meanwhile."""
    chooser = rng or random.SystemRandom()
    lists = {} if lists is None else lists
    chosen: list[tuple[StatusList, int] | None] = [None] * len(needs)
    by_list: dict[str, list[int]] = {}
    for index, need in enumerate(needs):
        if need not in lists:
            lists[need] = _current_list(session, institution, *need, size)
        by_list.setdefault(lists[need].id, []).append(index)
    for indexes in by_list.values():
        lst = lists[needs[indexes[0]]]
        held: set[int] = set()
        todo = list(indexes)
        for _ in range(64):
            if not todo:
                break
            candidates: dict[int, int] = {}
            for index in todo:
                position = chooser.randrange(lst.size)
                while position in held or position in candidates:
                    position = chooser.randrange(lst.size)
                candidates[position] = index
            taken = set(
                session.exec(
                    select(StatusEntry.position).where(
                        StatusEntry.list_id == lst.id,
                        col(StatusEntry.position).in_(list(candidates)),
                    )
                ).all()
            )
            todo = []
            for position, index in candidates.items():
                if position in taken:
                    todo.append(index)
                else:
                    chosen[index] = (lst, position)
                    held.add(position)
        if todo:
            raise Conflict("No free status list index was found; try again.")
    return [c for c in chosen if c is not None]


def record(session: Session, entries: Sequence[tuple[StatusList, int, str]]) -> set[int]:
    """Write ``(list, position, credential_id)`` entries; returns the indexes (into ``entries``)
    of positions a concurrent writer took meanwhile, which are not written. Inserted in one order
    (list, position), so two writers waiting on each other's positions cannot deadlock."""
    if not entries:
        return set()
    order = sorted(range(len(entries)), key=lambda i: (entries[i][0].id, entries[i][1]))
    statement = insert_skipping_duplicates(session, StatusEntry, "list_id", "position").returning(
        col(StatusEntry.list_id), col(StatusEntry.position), col(StatusEntry.credential_id)
    )
    written = (
        session.connection()
        .execute(
            statement,
            [
                {
                    "list_id": entries[i][0].id,
                    "position": entries[i][1],
                    "credential_id": entries[i][2],
                    "value": 0,
                }
                for i in order
            ],
        )
        .all()
    )
    stored = {tuple(row) for row in written}
    return {
        i for i, (lst, position, cid) in enumerate(entries) if (lst.id, position, cid) not in stored
    }


def count_used(session: Session, added: dict[str, int]) -> None:
    """Move each list's ``used`` by the entries added to it (lists in id order: no deadlock)."""
    for list_id in sorted(added):
        session.execute(
            update(StatusList)
            .where(col(StatusList.id) == list_id)
            .values(used=StatusList.used + added[list_id])
        )


# --- status changes ---------------------------------------------------------------------------


def _credential(session: Session, institution: Institution, credential_id: str) -> IssuedCredential:
    row = session.get(IssuedCredential, credential_id.removeprefix("urn:uuid:"))
    if row is None or row.issuer_id != institution.id:
        raise NotFound("The institution has no such credential.")
    return row


def _set(session: Session, credential_id: str, values: dict[str, int]) -> None:
    """Set the entry of each list purpose to its value and move those lists' versions."""
    lists = session.exec(
        select(StatusList.id, StatusList.purpose)
        .join(StatusEntry, col(StatusEntry.list_id) == col(StatusList.id))
        .where(StatusEntry.credential_id == credential_id)
    ).all()
    for list_id, purpose in lists:
        if purpose not in values:
            continue
        changed = session.execute(
            update(StatusEntry)
            .where(
                col(StatusEntry.list_id) == list_id,
                col(StatusEntry.credential_id) == credential_id,
                col(StatusEntry.value) != values[purpose],
            )
            .values(value=values[purpose])
        )
        if changed.rowcount:  # type: ignore[attr-defined]
            session.execute(
                update(StatusList)
                .where(col(StatusList.id) == list_id)
                .values(version=StatusList.version + 1)
            )


def _can_suspend(session: Session, credential_id: str) -> bool:
    purposes = session.exec(
        select(StatusList.purpose)
        .join(StatusEntry, col(StatusEntry.list_id) == col(StatusList.id))
        .where(StatusEntry.credential_id == credential_id)
    ).all()
    return bool({"suspension", "status"} & set(purposes))


def change(
    session: Session,
    context: IssuerContext,
    caller: Caller,
    institution: Institution,
    credential_ids: Iterable[str],
    action: str,
    reason: str | None,
) -> list[IssuedCredential]:
    """``revoke`` (final), ``suspend`` or ``unsuspend`` credentials, all or none."""
    institutions.authorize(caller, institution, "credentials:revoke")
    assert institution.id is not None
    rows = [_credential(session, institution, cid) for cid in dict.fromkeys(credential_ids)]
    for row in rows:
        if row.status == "revoked" and action != "revoke":
            raise Conflict(f"Credential urn:uuid:{row.id} is revoked; revocation is final.")
        if action == "suspend" and not _can_suspend(session, row.id):
            raise Conflict(f"Credential urn:uuid:{row.id} was issued without a suspension entry.")
    now = context.clock()
    changed = 0
    for row in rows:
        if action == "revoke":
            new_status, values = "revoked", {"revocation": 1, "status": TOKEN_VALUES["revoked"]}
        elif action == "suspend":
            new_status, values = "suspended", {"suspension": 1, "status": TOKEN_VALUES["suspended"]}
        else:
            new_status, values = "active", {"suspension": 0, "status": TOKEN_VALUES["active"]}
        if row.status == new_status:
            continue
        changed += 1
        _set(session, row.id, values)
        row.status = new_status
        if action == "revoke":
            row.revoked_at = now
        session.add(row)
        audit.record(
            session,
            caller,
            institution.id,
            f"credential.{action}",
            f"urn:uuid:{row.id}",
            reason=reason,
        )
    session.commit()
    metrics.status_changed(action, changed)
    for row in rows:
        session.refresh(row)
    return rows


# --- publishing -------------------------------------------------------------------------------


def _values(session: Session, lst: StatusList) -> dict[int, int]:
    rows = session.exec(
        select(StatusEntry.position, StatusEntry.value).where(
            StatusEntry.list_id == lst.id, col(StatusEntry.value) != 0
        )
    ).all()
    return {position: value for position, value in rows}


def _publish(
    session: Session, context: IssuerContext, institution: Institution, lst: StatusList
) -> StatusList:
    version = lst.version
    now = context.clock().replace(microsecond=0)
    url = list_url(context, institution, lst.id)
    values = _values(session, lst)
    document_jwt: str | None
    if lst.kind == "token":
        signer = institutions.signer(session, context, institution, "p256", "ed25519")
        document = status_list.sign_status_list_token(
            values,
            size=lst.size,
            bits=lst.status_size,
            uri=url,
            signer=signer,
            now=now,
            ttl=MAX_AGE,
            expires=now + PUBLISHED_FOR,
        )
        document_jwt = None
    else:
        encoded = status_list.encode_bitstring_values(
            values, size=lst.size, status_size=lst.status_size
        )
        credential = {
            "@context": ["https://www.w3.org/ns/credentials/v2"],
            "id": url,
            "type": ["VerifiableCredential", "BitstringStatusListCredential"],
            "issuer": institution.did,
            "validFrom": now.isoformat().replace("+00:00", "Z"),
            "validUntil": (now + PUBLISHED_FOR).isoformat().replace("+00:00", "Z"),
            "credentialSubject": {
                "id": f"{url}#list",
                "type": "BitstringStatusList",
                "statusPurpose": lst.purpose,
                "encodedList": encoded,
            },
        }
        signer = institutions.signer(session, context, institution, "ed25519", "p256")
        suite = "eddsa-rdfc-2022" if signer.algorithm == "EdDSA" else "ecdsa-rdfc-2019"
        signed = data_integrity.add_proof(
            credential, signer=signer, cryptosuite=suite, loader=context.loader, created=now
        )
        document = json.dumps(signed, ensure_ascii=False)
        document_jwt = vc_jwt.sign_credential_jwt(
            credential, signer=signer, profile="vc+jwt", now=now
        )
    # Optimistic: only the first publisher of this version writes; the others re-read.
    session.execute(
        update(StatusList)
        .where(col(StatusList.id) == lst.id, col(StatusList.published_version) < version)
        .values(
            document=document,
            document_jwt=document_jwt,
            published_version=version,
            valid_until=now + PUBLISHED_FOR,
        )
    )
    session.commit()
    session.refresh(lst)
    return lst


def published(session: Session, context: IssuerContext, slug: str, list_id: str) -> StatusList:
    """The list as it is published now, re-signed only when it changed or nears ``validUntil``."""
    institution = institutions.get(session, slug)
    lst = session.get(StatusList, list_id)
    if lst is None or lst.issuer_id != institution.id:
        raise NotFound("There is no such status list.")
    stale = lst.valid_until is None or aware(lst.valid_until) - context.clock() < PUBLISHED_FOR / 2
    if lst.document is None or lst.published_version < lst.version or stale:
        lst = _publish(session, context, institution, lst)
    return lst


def etag(data: str | bytes) -> str:
    raw = data.encode() if isinstance(data, str) else data
    return '"' + hashlib.sha256(raw).hexdigest()[:32] + '"'
