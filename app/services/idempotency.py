"""`Idempotency-Key`: a retried POST gets the first answer, and nothing is done twice.

How a key is claimed, without ever leaving a key stuck "in flight":

1. The request's own transaction takes a PostgreSQL advisory lock named by
   (user, key) with `pg_try_advisory_xact_lock`, which never waits. If
   another transaction holds it, that duplicate is still running: 409, retry
   later. The lock is the in-flight marker: PostgreSQL releases it when the
   transaction commits or rolls back, or when its connection dies, so a
   crash cannot leave it behind (no `status_code IS NULL` row is written).
2. Under the lock, a stored, unexpired answer for the key is looked up. Its
   method, path and body hash must match this request's (else 422); then
   it is replayed as it was.
3. Otherwise the work runs inside a savepoint. Its answer is stored in the
   same transaction: a success is committed together with what it created,
   so no retry can see the ticket without its answer or the reverse. A 4xx
   error rolls back to the savepoint, and the error's answer is stored and
   committed. A 5xx or any unexpected failure rolls the whole transaction
   back: nothing is stored, and a retry runs afresh.

The lock is held until the request's commit, and a waiting duplicate's
lookup is a new statement with a new snapshot, so it always sees the answer
of the request that held the key before it.

Requests refused before the work starts (401, a malformed body or key) are
not stored: sending them again gives the same answer anyway. Answers are
kept 24 hours; an expired record is replaced by the next use of its key.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import Conflict, FieldProblem, InvalidInput
from app.repositories import idempotency as idempotency_repository
from app.repositories.idempotency import StoredAnswer

logger = structlog.get_logger(__name__)

KEEP_ANSWERS_FOR = timedelta(hours=24)
RETRY_IN_FLIGHT_AFTER_SECONDS = 1


class RequestInFlight(Conflict):
    slug = "request-in-flight"
    title = "Request in flight"

    def __init__(self) -> None:
        super().__init__(
            "A request with this Idempotency-Key is still being processed; "
            "retry shortly to get its answer.",
            headers={"Retry-After": str(RETRY_IN_FLIGHT_AFTER_SECONDS)},
        )


class KeyReused(InvalidInput):
    def __init__(self) -> None:
        message = "already used for a different request (path or body)"
        super().__init__(
            "The Idempotency-Key was already used for a different request.",
            errors=[
                FieldProblem(
                    location="header", field="Idempotency-Key", message=message
                )
            ],
        )


@dataclass(frozen=True, slots=True)
class Fingerprint:
    """What makes two requests "the same" for a key: method, path and body."""

    method: str
    path: str
    body_hash: bytes

    @classmethod
    def of(cls, method: str, path: str, body: bytes) -> "Fingerprint":
        """Paths compare without their trailing slash, bodies as JSON values
        (key order and spacing do not matter)."""
        try:
            canonical = json.dumps(
                json.loads(body),
                sort_keys=True,
                separators=(",", ":"),
                ensure_ascii=False,
            ).encode()
        except ValueError:
            canonical = body
        return cls(
            method=method,
            path=path.rstrip("/") or "/",
            body_hash=hashlib.sha256(canonical).digest(),
        )


async def claim_key(
    session: AsyncSession, user_id: int, key: str, fingerprint: Fingerprint
) -> StoredAnswer | None:
    """Hold the key for this transaction; the stored answer if this is a retry."""
    if not await idempotency_repository.try_lock_key(session, user_id, key):
        logger.info("idempotency.in_flight", user_id=user_id)
        raise RequestInFlight()

    stored = await idempotency_repository.find_answer(session, user_id, key)
    if stored is None:
        return None
    if (stored.method, stored.path, stored.request_hash) != (
        fingerprint.method,
        fingerprint.path,
        fingerprint.body_hash,
    ):
        logger.info("idempotency.key_reused", user_id=user_id)
        raise KeyReused()
    logger.info("idempotency.replayed", user_id=user_id, status=stored.status_code)
    return stored


async def remember_answer(
    session: AsyncSession,
    user_id: int,
    key: str,
    fingerprint: Fingerprint,
    *,
    status_code: int,
    body: bytes,
    location: str | None,
) -> None:
    await idempotency_repository.store_answer(
        session,
        user_id=user_id,
        key=key,
        answer=StoredAnswer(
            method=fingerprint.method,
            path=fingerprint.path,
            request_hash=fingerprint.body_hash,
            status_code=status_code,
            body=body,
            location=location,
        ),
        keep_for=KEEP_ANSWERS_FOR,
    )
