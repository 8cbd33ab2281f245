"""Every query behind account administration: fleets, users and their tokens."""

from collections.abc import Collection, Sequence
from datetime import datetime

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import IssuedToken
from app.models import ApiToken, Fleet, FleetMembership, User


async def insert_fleet(session: AsyncSession, name: str) -> int | None:
    """The new fleet's id, or None when the name is taken."""
    statement = (
        insert(Fleet)
        .values(name=name)
        .on_conflict_do_nothing(index_elements=[Fleet.name])
        .returning(Fleet.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def fleet_id_named(session: AsyncSession, name: str) -> int | None:
    return await session.scalar(select(Fleet.id).where(Fleet.name == name))


async def existing_fleet_ids(
    session: AsyncSession, fleet_ids: Collection[int]
) -> set[int]:
    found = await session.scalars(select(Fleet.id).where(Fleet.id.in_(fleet_ids)))
    return set(found)


async def insert_user(
    session: AsyncSession, *, username: str, email: str, is_staff: bool
) -> int | None:
    """The new user's id, or None when the username is taken."""
    statement = (
        insert(User)
        .values(username=username, email=email, is_staff=is_staff)
        .on_conflict_do_nothing(index_elements=[User.username])
        .returning(User.id)
    )
    return (await session.execute(statement)).scalar_one_or_none()


async def add_memberships(
    session: AsyncSession, user_id: int, fleet_ids: Collection[int]
) -> None:
    if not fleet_ids:
        return
    await session.execute(
        insert(FleetMembership),
        [{"user_id": user_id, "fleet_id": fleet_id} for fleet_id in fleet_ids],
    )


async def find_user(session: AsyncSession, username: str) -> User | None:
    return await session.scalar(select(User).where(User.username == username))


async def set_user_inactive(session: AsyncSession, user_id: int) -> None:
    await session.execute(
        update(User).where(User.id == user_id).values(is_active=False)
    )


async def insert_token(
    session: AsyncSession,
    *,
    user_id: int,
    issued: IssuedToken,
    name: str,
    expires_at: datetime | None,
) -> ApiToken:
    token = ApiToken(
        user_id=user_id,
        prefix=issued.prefix,
        token_hash=issued.token_hash,
        name=name,
        expires_at=expires_at,
    )
    session.add(token)
    await session.flush()
    return token


async def tokens_of_user(session: AsyncSession, user_id: int) -> Sequence[ApiToken]:
    statement = (
        select(ApiToken)
        .where(ApiToken.user_id == user_id)
        .order_by(ApiToken.created_at, ApiToken.id)
    )
    return (await session.scalars(statement)).all()


async def find_token(session: AsyncSession, prefix: str) -> tuple[ApiToken, str] | None:
    """The token with this public prefix and its owner's username."""
    statement = (
        select(ApiToken, User.username)
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.prefix == prefix)
    )
    row = (await session.execute(statement)).one_or_none()
    return None if row is None else (row[0], row[1])


async def revoke_token(session: AsyncSession, token_id: int) -> None:
    await session.execute(
        update(ApiToken)
        .where(ApiToken.id == token_id, ApiToken.revoked_at.is_(None))
        .values(revoked_at=func.now())
    )


async def revoke_tokens_named(session: AsyncSession, user_id: int, name: str) -> int:
    """Revoke the user's live tokens with this name; how many there were."""
    result = await session.execute(
        update(ApiToken)
        .where(
            ApiToken.user_id == user_id,
            ApiToken.name == name,
            ApiToken.revoked_at.is_(None),
        )
        .values(revoked_at=func.now())
        .returning(ApiToken.id)
    )
    return len(result.all())
