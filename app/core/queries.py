"""Statements compiled once and run on the driver: the read hot path.

SQLAlchemy builds our SQL, but building a large statement and computing its
cache key on every request cost more Python time than everything else a list
request does (see bench/). A hot query is therefore built per query *shape*,
compiled once for asyncpg, and run as driver SQL with positional arguments;
asyncpg keeps it prepared per connection. Only reads use this:
writes keep the ORM's unit of work.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row
from sqlalchemy.dialects.postgresql.asyncpg import PGDialect_asyncpg
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.compiler import SQLCompiler

# A row of any width, as raw SQL gives it.
ResultRow = Row[*tuple[Any, ...]]

_DIALECT = PGDialect_asyncpg()  # type: ignore[no-untyped-call]


@dataclass(frozen=True, slots=True)
class CompiledQuery:
    sql: str
    parameters: tuple[str, ...]
    # Values the statement itself carries (literals SQLAlchemy binds).
    defaults: Mapping[str, Any]

    def arguments(self, values: Mapping[str, Any]) -> list[Any]:
        merged = {**self.defaults, **values}
        return [merged[name] for name in self.parameters]


def compile_query(statement: ClauseElement) -> CompiledQuery:
    """Compile for asyncpg; every parameter must be a plain bindparam."""
    compiled = statement.compile(dialect=_DIALECT)
    assert isinstance(compiled, SQLCompiler)
    return CompiledQuery(
        sql=str(compiled),
        parameters=tuple(compiled.positiontup or ()),
        defaults={
            name: value for name, value in compiled.params.items() if value is not None
        },
    )


async def fetch_row(
    session: AsyncSession, query: CompiledQuery, values: Mapping[str, Any]
) -> ResultRow | None:
    """Run in the session's transaction, as SQL already written for asyncpg."""
    return await fetch_row_on(await session.connection(), query, values)


async def fetch_row_on(
    connection: AsyncConnection, query: CompiledQuery, values: Mapping[str, Any]
) -> ResultRow | None:
    """Run on a connection, as SQL already written for asyncpg.

    `exec_driver_sql` skips compiling and cache keys but keeps SQLAlchemy's
    error handling: a lost connection is recognised and leaves the pool.
    """
    result = await connection.exec_driver_sql(query.sql, tuple(query.arguments(values)))
    return result.one_or_none()
