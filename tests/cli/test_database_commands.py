"""migrate, and how every command fails when the database or settings are wrong."""

from pathlib import Path

import asyncpg
import pytest
from alembic.script import ScriptDirectory
from sqlalchemy.engine import URL, make_url

from app.core.migrations import alembic_config
from tests.cli.conftest import assert_refused, run_cli, unused_port


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def test_migrate_brings_an_empty_database_to_the_head_revision(
    empty_database: URL, tmp_path: Path
) -> None:
    result = await run_cli("migrate", database_url=empty_database, cwd=tmp_path)

    assert result.returncode == 0, result
    assert result.stdout == ""
    head = ScriptDirectory.from_config(
        alembic_config(empty_database)
    ).get_current_head()
    connection = await asyncpg.connect(_dsn(empty_database))
    try:
        revision = await connection.fetchval("SELECT version_num FROM alembic_version")
    finally:
        await connection.close()
    assert revision == head


async def test_migrate_twice_changes_nothing(
    fresh_database: URL, tmp_path: Path
) -> None:
    result = await run_cli("migrate", database_url=fresh_database, cwd=tmp_path)

    assert result.returncode == 0, result


async def test_a_command_on_a_database_without_tables_says_to_migrate(
    empty_database: URL, tmp_path: Path
) -> None:
    result = await run_cli(
        "create-fleet", "Early", database_url=empty_database, cwd=tmp_path
    )

    assert_refused(result, says="run `support-tickets migrate` first")


async def test_an_unreachable_database_is_one_line(tmp_path: Path) -> None:
    nowhere = make_url(f"postgresql://postgres@127.0.0.1:{unused_port()}/x")

    result = await run_cli("create-fleet", "Lost", database_url=nowhere, cwd=tmp_path)

    assert_refused(result, says="cannot reach the database")


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("DATABASE_POOL_SIZE", "-1"),
        ("DATABASE_URL", "mysql://somewhere/db"),
        ("DATABASE_URL", "postgresql://host:notaport/db"),
        ("PORT", "70000"),
    ],
)
async def test_a_wrong_setting_stops_with_one_line_naming_it(
    tmp_path: Path, variable: str, value: str
) -> None:
    result = await run_cli(
        "migrate", database_url=None, cwd=tmp_path, **{variable: value}
    )

    assert_refused(result, says=f"invalid configuration: {variable}:")
