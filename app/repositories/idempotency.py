"""Queries over idempotency_records: the stored answers to retried POSTs."""

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import IdempotencyRecord


@dataclass(frozen=True, slots=True)
class StoredAnswer:
    method: str
    path: str
    request_hash: bytes
    status_code: int
    body: bytes
    location: str | None


def _lock_id(user_id: int, key: str) -> int:
    """A 64-bit advisory lock number for one (user, key)."""
    digest = hashlib.sha256(f"{user_id}\x00{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big", signed=True)


async def try_lock_key(session: AsyncSession, user_id: int, key: str) -> bool:
    """Take the key for this transaction, without waiting; False if taken.

    The lock is PostgreSQL's, scoped to the transaction: it is released at
    commit or rollback, and by the server if the connection dies, so no
    crash can leave a key locked.
    """
    statement = select(func.pg_try_advisory_xact_lock(_lock_id(user_id, key)))
    locked: bool = (await session.execute(statement)).scalar_one()
    return locked


async def find_answer(
    session: AsyncSession, user_id: int, key: str
) -> StoredAnswer | None:
    """The stored answer for the key, unless it has expired."""
    record = IdempotencyRecord
    statement = select(
        record.method,
        record.path,
        record.request_hash,
        record.status_code,
        record.response_body,
        record.location,
    ).where(
        record.user_id == user_id,
        record.key == key,
        record.expires_at > func.now(),
    )
    row = (await session.execute(statement)).one_or_none()
    return StoredAnswer(*row) if row is not None else None


async def store_answer(
    session: AsyncSession,
    *,
    user_id: int,
    key: str,
    answer: StoredAnswer,
    keep_for: timedelta,
) -> None:
    """Store (or replace an expired record with) the answer to a request."""
    values = {
        "method": answer.method,
        "path": answer.path,
        "request_hash": answer.request_hash,
        "status_code": answer.status_code,
        "response_body": answer.body,
        "location": answer.location,
        "created_at": func.now(),
        "expires_at": func.now() + keep_for,
    }
    statement = insert(IdempotencyRecord).values(user_id=user_id, key=key, **values)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=[IdempotencyRecord.user_id, IdempotencyRecord.key],
            set_=values,
        )
    )
