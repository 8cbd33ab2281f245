"""Queries behind bearer authentication."""

from datetime import timedelta
from functools import lru_cache

from sqlalchemy import (
    BigInteger,
    LargeBinary,
    Select,
    bindparam,
    func,
    or_,
    select,
    update,
)
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.queries import (
    CompiledQuery,
    ResultRow,
    compile_query,
    fetch_row,
    fetch_row_on,
)
from app.models import ApiToken, FleetMembership, TicketListVersion, User

# Recording every use would turn each read into a write; a minute is precise
# enough to tell a token that is in use from one that is not.
LAST_USED_RESOLUTION = timedelta(minutes=1)


def _credentials_select() -> Select[tuple[object, ...]]:
    fleet_ids = (
        select(func.array_agg(FleetMembership.fleet_id))
        .where(FleetMembership.user_id == User.id)
        .scalar_subquery()
    )
    return (
        select(
            ApiToken.id.label("token_id"),
            ApiToken.expires_at,
            ApiToken.revoked_at,
            ApiToken.last_used_at,
            User.id.label("user_id"),
            User.username,
            User.email,
            User.is_staff,
            User.is_active,
            fleet_ids.label("fleet_ids"),
        )
        .join(User, User.id == ApiToken.user_id)
        .where(ApiToken.token_hash == bindparam("token_hash", type_=LargeBinary))
    )


@lru_cache(maxsize=1)
def _credentials_query() -> CompiledQuery:
    return compile_query(_credentials_select())


@lru_cache(maxsize=2)
def _credentials_with_list_version_query(one_fleet: bool) -> CompiledQuery:
    counted = (
        TicketListVersion.fleet_id == bindparam("fleet_id", type_=BigInteger)
        if one_fleet
        else or_(
            User.is_staff,
            TicketListVersion.fleet_id.in_(
                select(FleetMembership.fleet_id)
                .where(FleetMembership.user_id == User.id)
                .correlate(User)
            ),
        )
    )
    list_version = (
        select(func.coalesce(func.sum(TicketListVersion.version), 0))
        .where(counted)
        .scalar_subquery()
    )
    return compile_query(
        _credentials_select().add_columns(list_version.label("list_version"))
    )


async def find_credentials(
    session: AsyncSession, token_hash: bytes
) -> ResultRow | None:
    """The token and its user, with the user's fleet ids, in one statement.

    Every request runs it, so it takes the compiled read path.
    """
    return await fetch_row(session, _credentials_query(), {"token_hash": token_hash})


async def find_credentials_with_list_version(
    connection: AsyncConnection, token_hash: bytes, fleet_id: int | None
) -> ResultRow | None:
    """`find_credentials`, plus the summed list version of what a list shows.

    The sum covers the one fleet a list is filtered to (`fleet_id`), else
    what the user sees: every fleet for staff, the user's fleets otherwise
    (see TicketListVersion). Read in the same statement as the credentials,
    so that checking a kept list answer costs no statement of its own.
    """
    query = _credentials_with_list_version_query(one_fleet=fleet_id is not None)
    values = {"token_hash": token_hash, "fleet_id": fleet_id}
    return await fetch_row_on(connection, query, values)


async def record_token_use(
    executor: AsyncSession | AsyncConnection, token_id: int
) -> None:
    """Stamp `last_used_at`, unless another request did so within the minute.

    The stamp's row lock lasts until the transaction ends (at once on a
    connection in autocommit mode); a concurrent request with the same token
    skips the row instead of waiting for it (SKIP LOCKED): the other one is
    stamping it.
    """
    stale = (
        select(ApiToken.id)
        .where(
            ApiToken.id == token_id,
            (ApiToken.last_used_at.is_(None))
            | (ApiToken.last_used_at < func.now() - LAST_USED_RESOLUTION),
        )
        .with_for_update(skip_locked=True)
    )
    await executor.execute(
        update(ApiToken)
        .where(ApiToken.id.in_(stale.scalar_subquery()))
        .values(last_used_at=func.now())
    )
