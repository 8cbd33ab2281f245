"""create-fleet, create-user, deactivate-user, create/list/revoke-token.

Each test arranges its rows directly (committed, so that the child process
sees them) and runs only the command under test.
"""

import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession

from app.core.security import TOKEN_PATTERN, hash_token, prefix_of
from tests import factories
from tests.cli.conftest import CliResult, assert_refused, run_cli

Cli = Callable[..., Awaitable[CliResult]]
Query = Callable[..., Awaitable[Any]]
Committed = Callable[[], AbstractAsyncContextManager[AsyncSession]]


def unique(name: str) -> str:
    return f"{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def cli(shared_database: URL, tmp_path: Path) -> Cli:
    async def run(*args: str) -> CliResult:
        return await run_cli(*args, database_url=shared_database, cwd=tmp_path)

    return run


@pytest.fixture
def query(shared_engine: AsyncEngine) -> Query:
    async def scalar(sql: str, **params: object) -> Any:
        async with shared_engine.connect() as connection:
            return await connection.scalar(text(sql), params)

    return scalar


@pytest.fixture
def committed(shared_engine: AsyncEngine) -> Committed:
    @asynccontextmanager
    async def session() -> AsyncIterator[AsyncSession]:
        async with (
            AsyncSession(shared_engine, expire_on_commit=False) as session,
            session.begin(),
        ):
            yield session

    return session


async def a_fleet(committed: Committed, name: str | None = None) -> int:
    async with committed() as session:
        return (await factories.make_fleet(session, name or unique("Fleet"))).id


async def a_user(committed: Committed, *, active: bool = True) -> str:
    async with committed() as session:
        user = await factories.make_user(session, unique("user"), active=active)
        return user.username


async def test_create_fleet_prints_the_new_id_alone_on_the_last_line(
    cli: Cli, query: Query
) -> None:
    name = unique("Northwind Haulage")

    result = await cli("create-fleet", name)

    assert result.returncode == 0, result
    assert result.last_line.isdigit()
    stored = await query("SELECT id FROM fleets WHERE name = :name", name=name)
    assert int(result.last_line) == stored


async def test_create_fleet_refuses_a_name_already_taken(
    cli: Cli, query: Query, committed: Committed
) -> None:
    name = unique("Taken")
    await a_fleet(committed, name)

    result = await cli("create-fleet", name)

    assert_refused(result, says="already exists")
    assert await query("SELECT count(*) FROM fleets WHERE name = :n", n=name) == 1


@pytest.mark.parametrize("name", ["", "   ", "x" * 201, "tab\there"])
async def test_create_fleet_refuses_a_malformed_name(
    cli: Cli, query: Query, name: str
) -> None:
    before = await query("SELECT count(*) FROM fleets")

    result = await cli("create-fleet", name)

    assert_refused(result, says="fleet name")
    assert await query("SELECT count(*) FROM fleets") == before


async def test_create_user_makes_a_member_of_each_fleet_given(
    cli: Cli, query: Query, committed: Committed
) -> None:
    first, second = await a_fleet(committed), await a_fleet(committed)
    username = unique("maria")

    result = await cli(
        "create-user",
        username,
        f"{username}@Example.COM",
        "--fleet",
        str(first),
        "--fleet",
        str(second),
    )

    assert result.returncode == 0, result
    user_id = int(result.last_line)
    fleets = await query(
        "SELECT array_agg(fleet_id ORDER BY fleet_id) FROM fleet_memberships"
        " WHERE user_id = :id",
        id=user_id,
    )
    assert fleets == [first, second]
    email = await query("SELECT email FROM users WHERE id = :id", id=user_id)
    assert email == f"{username}@example.com"
    staff = await query("SELECT is_staff FROM users WHERE id = :id", id=user_id)
    assert staff is False


async def test_create_user_with_staff_flag_makes_staff(cli: Cli, query: Query) -> None:
    username = unique("agent")

    result = await cli("create-user", username, "agent@example.com", "--staff")

    assert result.returncode == 0, result
    staff = await query(
        "SELECT is_staff FROM users WHERE id = :id", id=int(result.last_line)
    )
    assert staff is True


async def test_create_user_refuses_a_username_already_taken(
    cli: Cli, query: Query, committed: Committed
) -> None:
    fleet = await a_fleet(committed)
    username = await a_user(committed)

    result = await cli(
        "create-user", username, "other@example.com", "--fleet", str(fleet)
    )

    assert_refused(result, says="already exists")
    members = await query(
        "SELECT count(*) FROM fleet_memberships WHERE fleet_id = :f", f=fleet
    )
    assert members == 0


@pytest.mark.parametrize("username", ["", "two words", "x" * 151, "émile", "a/b"])
async def test_create_user_refuses_a_malformed_username(
    cli: Cli, query: Query, username: str
) -> None:
    before = await query("SELECT count(*) FROM users")

    result = await cli("create-user", username, "someone@example.com")

    assert_refused(result, says="invalid username")
    assert await query("SELECT count(*) FROM users") == before


@pytest.mark.parametrize(
    "email", ["no-at-sign", "a@", "@example.com", "a@localhost", "a@b.test"]
)
async def test_create_user_refuses_a_malformed_email(
    cli: Cli, query: Query, email: str
) -> None:
    username = unique("mail")

    result = await cli("create-user", username, email)

    assert_refused(result, says="invalid email address")
    assert (
        await query("SELECT count(*) FROM users WHERE username = :u", u=username) == 0
    )


async def test_create_user_refuses_an_unknown_fleet_and_writes_nothing(
    cli: Cli, query: Query, committed: Committed
) -> None:
    known = await a_fleet(committed)
    username = unique("orphan")

    result = await cli(
        "create-user",
        username,
        "orphan@example.com",
        "--fleet",
        str(known),
        "--fleet",
        "987654321",
    )

    assert_refused(result, says="no fleet with id 987654321")
    assert (
        await query("SELECT count(*) FROM users WHERE username = :u", u=username) == 0
    )


async def test_create_user_refuses_a_fleet_id_that_is_not_a_number(
    cli: Cli, query: Query
) -> None:
    username = unique("typo")

    result = await cli("create-user", username, "t@example.com", "--fleet", "one")

    assert_refused(result, says="expected a whole number", code=2)
    assert (
        await query("SELECT count(*) FROM users WHERE username = :u", u=username) == 0
    )


async def test_deactivate_user_marks_them_inactive(
    cli: Cli, query: Query, committed: Committed
) -> None:
    username = await a_user(committed)

    result = await cli("deactivate-user", username)

    assert result.returncode == 0, result
    assert result.stdout == ""
    active = await query("SELECT is_active FROM users WHERE username = :u", u=username)
    assert active is False


async def test_deactivate_user_refuses_an_unknown_user(cli: Cli) -> None:
    result = await cli("deactivate-user", unique("ghost"))

    assert_refused(result, says="no user named")


async def test_create_token_prints_a_token_that_is_stored_only_as_a_hash(
    cli: Cli, query: Query, committed: Committed
) -> None:
    username = await a_user(committed)

    result = await cli("create-token", username, "--name", "ci", "--expires-in", "30")

    assert result.returncode == 0, result
    token = result.last_line
    assert TOKEN_PATTERN.match(token)
    assert token not in result.stderr
    stored = await query(
        "SELECT expires_at FROM api_tokens WHERE token_hash = :h AND name = 'ci'",
        h=hash_token(token),
    )
    expected = datetime.now(UTC) + timedelta(days=30)
    assert abs(stored - expected) < timedelta(minutes=5)


@pytest.mark.parametrize(
    ("extra", "says", "code"),
    [
        (("--expires-in", "0"), "expires in 1 to 3650 days", 1),
        (("--expires-in", "-5"), "expires in 1 to 3650 days", 1),
        (("--expires-in", "3651"), "expires in 1 to 3650 days", 1),
        (("--expires-in", "soon"), "expected a whole number", 2),
        (("--name", "n" * 101), "token name", 1),
    ],
)
async def test_create_token_refuses_bad_options_and_writes_nothing(
    cli: Cli,
    query: Query,
    committed: Committed,
    extra: tuple[str, ...],
    says: str,
    code: int,
) -> None:
    username = await a_user(committed)

    result = await cli("create-token", username, *extra)

    assert_refused(result, says=says, code=code)
    count = await query(
        "SELECT count(*) FROM api_tokens JOIN users ON users.id = user_id"
        " WHERE username = :u",
        u=username,
    )
    assert count == 0


async def test_create_token_refuses_an_unknown_user(cli: Cli) -> None:
    result = await cli("create-token", unique("ghost"))

    assert_refused(result, says="no user named")


async def test_create_token_refuses_a_deactivated_user(
    cli: Cli, committed: Committed
) -> None:
    username = await a_user(committed, active=False)

    result = await cli("create-token", username)

    assert_refused(result, says="is deactivated")


async def test_list_tokens_shows_each_state_and_never_a_secret(
    cli: Cli, committed: Committed
) -> None:
    now = datetime.now(UTC)
    async with committed() as session:
        user = await factories.make_user(session, unique("owner"))
        active = await factories.make_token(session, user)
        revoked = await factories.make_token(session, user, revoked_at=now)
        expired = await factories.make_token(
            session, user, expires_at=now - timedelta(days=1)
        )

    result = await cli("list-tokens", user.username)

    assert result.returncode == 0, result
    header, *rows = result.stdout.splitlines()
    assert header.split() == [
        "PREFIX", "NAME", "CREATED", "LAST", "USED", "EXPIRES", "STATE"
    ]  # fmt: skip
    states = {row.split()[0]: row.split()[-1] for row in rows}
    assert states == {
        prefix_of(active): "active",
        prefix_of(revoked): "revoked",
        prefix_of(expired): "expired",
    }
    for token in (active, revoked, expired):
        secret = token.removeprefix(f"{prefix_of(token)}_")
        assert secret not in result.stdout + result.stderr


async def test_list_tokens_refuses_an_unknown_user(cli: Cli) -> None:
    result = await cli("list-tokens", unique("ghost"))

    assert_refused(result, says="no user named")


@pytest.mark.parametrize("given", ["prefix", "whole token"])
async def test_revoke_token_revokes_exactly_that_token(
    cli: Cli, query: Query, committed: Committed, given: str
) -> None:
    async with committed() as session:
        user = await factories.make_user(session, unique("owner"))
        target = await factories.make_token(session, user)
        other = await factories.make_token(session, user)
    argument = prefix_of(target) if given == "prefix" else target
    assert argument is not None

    result = await cli("revoke-token", argument)

    assert result.returncode == 0, result
    assert result.stdout == ""
    revoked = "SELECT revoked_at IS NOT NULL FROM api_tokens WHERE token_hash = :h"
    assert await query(revoked, h=hash_token(target)) is True
    assert await query(revoked, h=hash_token(other)) is False


@pytest.mark.parametrize("given", ["stk_1234", "stk_ABCDEF12", "not-a-token", ""])
async def test_revoke_token_refuses_what_is_not_a_prefix(cli: Cli, given: str) -> None:
    result = await cli("revoke-token", given)

    assert_refused(result, says="expected a token prefix")


async def test_revoke_token_refuses_an_unknown_prefix(cli: Cli) -> None:
    result = await cli("revoke-token", "stk_00000000")

    assert_refused(result, says="no token with prefix stk_00000000")
