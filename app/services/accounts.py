"""Rules for administering accounts: fleets, users and their API tokens.

The admin command line calls these inside one transaction per command, so a
refusal raised here leaves nothing behind. Input is checked here, not only
by the database, so that each refusal names what was wrong.
"""

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from email_validator import EmailNotValidError, validate_email
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utc_now
from app.core.errors import Conflict, InvalidInput, NotFound
from app.core.security import issue_token, prefix_of
from app.models import ApiToken, User
from app.models.user import USERNAME_PATTERN
from app.repositories import accounts as account_repository

MAX_FLEET_NAME_LENGTH = 200
MAX_EMAIL_LENGTH = 254
MAX_TOKEN_NAME_LENGTH = 100
MAX_TOKEN_LIFETIME_DAYS = 3650

_USERNAME = re.compile(USERNAME_PATTERN)


class TokenState(StrEnum):
    ACTIVE = "active"
    EXPIRED = "expired"
    REVOKED = "revoked"


@dataclass(frozen=True, slots=True)
class CreatedToken:
    """A new token: the secret is here once and never stored."""

    token: str
    prefix: str
    username: str
    expires_at: datetime | None


@dataclass(frozen=True, slots=True)
class TokenListing:
    prefix: str
    name: str
    created_at: datetime
    last_used_at: datetime | None
    expires_at: datetime | None
    state: TokenState


@dataclass(frozen=True, slots=True)
class RevokedToken:
    prefix: str
    username: str
    was_already_revoked: bool


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput.of_field("argument", field, message)


def _has_control_characters(text: str) -> bool:
    return any(not character.isprintable() for character in text)


def checked_username(username: str) -> str:
    if not _USERNAME.fullmatch(username):
        raise _invalid(
            "username",
            f"invalid username {username!r}: use 1-150 letters, digits "
            "and . @ + _ - only",
        )
    return username


def checked_email(email: str) -> str:
    """The normalized address, or a refusal saying what is wrong with it."""
    try:
        valid = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise _invalid("email", f"invalid email address {email!r}: {error}") from None
    if len(valid.normalized) > MAX_EMAIL_LENGTH:
        raise _invalid("email", f"email address longer than {MAX_EMAIL_LENGTH}")
    return valid.normalized


def checked_fleet_name(name: str) -> str:
    name = name.strip()
    if not name or len(name) > MAX_FLEET_NAME_LENGTH:
        raise _invalid(
            "name", f"a fleet name has 1 to {MAX_FLEET_NAME_LENGTH} characters"
        )
    if _has_control_characters(name):
        raise _invalid("name", "a fleet name cannot contain control characters")
    return name


def checked_token_name(name: str) -> str:
    name = name.strip()
    if len(name) > MAX_TOKEN_NAME_LENGTH or _has_control_characters(name):
        raise _invalid(
            "name",
            f"a token name has at most {MAX_TOKEN_NAME_LENGTH} printable characters",
        )
    return name


async def _user_named(session: AsyncSession, username: str) -> User:
    user = await account_repository.find_user(session, username)
    if user is None:
        raise NotFound(f"no user named {username!r}")
    return user


async def create_fleet(session: AsyncSession, name: str) -> int:
    name = checked_fleet_name(name)
    fleet_id = await account_repository.insert_fleet(session, name)
    if fleet_id is None:
        existing = await account_repository.fleet_id_named(session, name)
        raise Conflict(f"a fleet named {name!r} already exists (id {existing})")
    return fleet_id


async def create_user(
    session: AsyncSession,
    username: str,
    email: str,
    *,
    is_staff: bool,
    fleet_ids: Sequence[int],
) -> int:
    """A new active user, a member of each given fleet."""
    username = checked_username(username)
    email = checked_email(email)
    wanted_fleets = sorted(set(fleet_ids))
    known = await account_repository.existing_fleet_ids(session, wanted_fleets)
    unknown = [fleet_id for fleet_id in wanted_fleets if fleet_id not in known]
    if unknown:
        listed = ", ".join(str(fleet_id) for fleet_id in unknown)
        raise NotFound(f"no fleet with id {listed}")

    user_id = await account_repository.insert_user(
        session, username=username, email=email, is_staff=is_staff
    )
    if user_id is None:
        raise Conflict(f"a user named {username!r} already exists")

    await account_repository.add_memberships(session, user_id, wanted_fleets)
    return user_id


async def deactivate_user(session: AsyncSession, username: str) -> bool:
    """Stop the user from signing in; False when they already were inactive."""
    user = await _user_named(session, username)
    if not user.is_active:
        return False

    await account_repository.set_user_inactive(session, user.id)
    return True


async def create_token(
    session: AsyncSession,
    username: str,
    *,
    name: str = "",
    expires_in_days: int | None = None,
) -> CreatedToken:
    name = checked_token_name(name)
    if expires_in_days is not None and not (
        1 <= expires_in_days <= MAX_TOKEN_LIFETIME_DAYS
    ):
        raise _invalid(
            "expires_in",
            f"a token expires in 1 to {MAX_TOKEN_LIFETIME_DAYS} days",
        )
    user = await _user_named(session, username)
    if not user.is_active:
        raise Conflict(f"user {username!r} is deactivated")

    expires_at = (
        None if expires_in_days is None else utc_now() + timedelta(days=expires_in_days)
    )
    issued = issue_token()
    await account_repository.insert_token(
        session, user_id=user.id, issued=issued, name=name, expires_at=expires_at
    )
    return CreatedToken(
        token=issued.token,
        prefix=issued.prefix,
        username=user.username,
        expires_at=expires_at,
    )


def token_state(token: ApiToken, now: datetime) -> TokenState:
    if token.revoked_at is not None:
        return TokenState.REVOKED
    if token.expires_at is not None and token.expires_at <= now:
        return TokenState.EXPIRED
    return TokenState.ACTIVE


async def list_tokens(session: AsyncSession, username: str) -> list[TokenListing]:
    """The user's tokens, oldest first, without anything secret."""
    user = await _user_named(session, username)
    now = utc_now()
    return [
        TokenListing(
            prefix=token.prefix,
            name=token.name,
            created_at=token.created_at,
            last_used_at=token.last_used_at,
            expires_at=token.expires_at,
            state=token_state(token, now),
        )
        for token in await account_repository.tokens_of_user(session, user.id)
    ]


async def revoke_token(session: AsyncSession, prefix_or_token: str) -> RevokedToken:
    """Revoke exactly the token with this public prefix (or this whole token)."""
    prefix = prefix_of(prefix_or_token.strip())
    if prefix is None:
        raise _invalid(
            "prefix",
            "expected a token prefix (stk_ and 8 hex digits) or a whole token",
        )
    found = await account_repository.find_token(session, prefix)
    if found is None:
        raise NotFound(f"no token with prefix {prefix}")

    token, username = found
    if token.revoked_at is not None:
        return RevokedToken(prefix=prefix, username=username, was_already_revoked=True)

    await account_repository.revoke_token(session, token.id)
    return RevokedToken(prefix=prefix, username=username, was_already_revoked=False)
