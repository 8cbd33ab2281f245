"""Who is calling: bearer tokens turned into a principal, or a 401."""

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utc_now
from app.core.errors import NotAuthenticated
from app.core.queries import ResultRow
from app.core.security import hash_token, is_well_formed
from app.repositories import credentials

logger = structlog.get_logger(__name__)

# Where a layer that read the token's row (and stamped its use) before the
# app ran leaves it, in the request's state, for `authenticate`.
LOOKED_UP_CREDENTIALS = "looked_up_credentials"

_CHALLENGE = "Bearer"
_INVALID_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'  # noqa: S105


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated user, with the fleets whose tickets they may see."""

    user_id: int
    username: str
    email: str
    is_staff: bool
    fleet_ids: frozenset[int]

    def may_act_for(self, fleet_id: int) -> bool:
        return self.is_staff or fleet_id in self.fleet_ids


def _missing_credentials() -> NotAuthenticated:
    return NotAuthenticated(
        "Authentication credentials were not provided.",
        headers={"WWW-Authenticate": _CHALLENGE},
    )


def _invalid_token() -> NotAuthenticated:
    # One answer for every kind of bad token: it must not help guessing.
    return NotAuthenticated(
        "The bearer token is invalid, expired or revoked.",
        headers={"WWW-Authenticate": _INVALID_TOKEN_CHALLENGE},
    )


def bearer_token(authorization: str | None) -> str:
    """The token of an `Authorization: Bearer <token>` header."""
    if authorization is None:
        raise _missing_credentials()

    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not is_well_formed(token.strip()):
        raise _invalid_token()
    return token.strip()


def is_use_stamp_stale(last_used_at: datetime | None, now: datetime) -> bool:
    return (
        last_used_at is None or now - last_used_at >= credentials.LAST_USED_RESOLUTION
    )


def accepted_principal(found: ResultRow | None, now: datetime) -> Principal | None:
    """The principal of a looked-up token, or None if it may not be used."""
    if (
        found is None
        or not found.is_active
        or found.revoked_at is not None
        or (found.expires_at is not None and found.expires_at <= now)
    ):
        return None
    return Principal(
        user_id=found.user_id,
        username=found.username,
        email=found.email,
        is_staff=found.is_staff,
        fleet_ids=frozenset(found.fleet_ids or ()),
    )


async def authenticate(
    session: AsyncSession,
    authorization: str | None,
    looked_up: ResultRow | None = None,
) -> Principal:
    """The caller, or a 401.

    `looked_up` is the token's row when the list cache read it (and stamped
    the token's use) before the app ran (app/api/list_cache.py): reading it
    again would cost the request a statement.
    """
    token = bearer_token(authorization)
    found = looked_up or await credentials.find_credentials(session, hash_token(token))
    now = utc_now()
    principal = accepted_principal(found, now)
    if found is None or principal is None:
        logger.info("auth.token_rejected")
        raise _invalid_token()

    if looked_up is None and is_use_stamp_stale(found.last_used_at, now):
        await credentials.record_token_use(session, found.token_id)
    return principal
