"""Who is calling: bearer tokens turned into a principal, or a 401."""

from dataclasses import dataclass
from datetime import datetime, timedelta

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utc_now
from app.core.errors import NotAuthenticated
from app.core.security import hash_token, is_well_formed
from app.repositories import credentials

logger = structlog.get_logger(__name__)

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


def _is_stale(last_used_at: datetime | None, now: datetime) -> bool:
    return last_used_at is None or now - last_used_at >= timedelta(minutes=1)


async def authenticate(session: AsyncSession, authorization: str | None) -> Principal:
    token = bearer_token(authorization)
    found = await credentials.find_credentials(session, hash_token(token))
    now = utc_now()
    if (
        found is None
        or not found.is_active
        or found.revoked_at is not None
        or (found.expires_at is not None and found.expires_at <= now)
    ):
        logger.info("auth.token_rejected")
        raise _invalid_token()

    if _is_stale(found.last_used_at, now):
        await credentials.record_token_use(session, found.token_id)
    return Principal(
        user_id=found.user_id,
        username=found.username,
        email=found.email,
        is_staff=found.is_staff,
        fleet_ids=frozenset(found.fleet_ids or ()),
    )
