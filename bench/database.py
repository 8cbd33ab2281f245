"""The bench's database: which server, the dataset in it, the bench's users.

The data is loaded by the project's own commands (`support-tickets migrate`,
`seed`, `create-user`, `create-token`), run as subprocesses with
DATABASE_URL, so that the bench measures what an operator would deploy.
The bench owns one table of its own, `bench_dataset`, recording which
dataset it loaded, so that a rerun with the same N and seed skips the load.
"""

import asyncio
import contextlib
import os
import socket
import subprocess
import sys
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
from sqlalchemy.engine import URL, make_url

ROOT = Path(__file__).resolve().parents[1]
LOCAL_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
EMBEDDED_DATA_DIR = ROOT / ".data" / "bench-postgres"
STAFF_USER = "bench-staff"
FLEET_USER = "bench-fleet"


class BenchError(Exception):
    """The bench cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Server:
    url: URL  # of the bench's database
    kind: str  # "BENCH_DATABASE_URL", "local server" or "embedded pgserver"


def dsn(url: URL) -> str:
    """A URL asyncpg and the service both accept, password included."""
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _local_server_answers() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


@contextlib.contextmanager
def chosen_server(database: str) -> Iterator[Server]:
    """BENCH_DATABASE_URL, else the server on 127.0.0.1:5432, else embedded."""
    given = os.environ.get("BENCH_DATABASE_URL")
    if given:
        yield Server(make_url(given), "BENCH_DATABASE_URL")
        return
    if _local_server_answers():
        yield Server(make_url(LOCAL_SERVER).set(database=database), "local server")
        return

    with warnings.catch_warnings():
        # platformdirs warns about a missing XDG_RUNTIME_DIR on import.
        warnings.simplefilter("ignore")
        import pgserver  # noqa: PLC0415 - only without a server to use

    EMBEDDED_DATA_DIR.parent.mkdir(parents=True, exist_ok=True)
    server = pgserver.get_server(EMBEDDED_DATA_DIR, cleanup_mode="stop")
    try:
        yield Server(make_url(server.get_uri(database)), "embedded pgserver")
    finally:
        server.cleanup()


async def _maintenance(url: URL) -> asyncpg.Connection:
    return await asyncpg.connect(dsn(url.set(database="postgres")))


async def ensure_database(url: URL, *, recreate: bool) -> None:
    connection = await _maintenance(url)
    try:
        if recreate:
            await connection.execute(
                f'DROP DATABASE IF EXISTS "{url.database}" WITH (FORCE)'
            )
        exists = await connection.fetchval(
            "SELECT 1 FROM pg_database WHERE datname = $1", url.database
        )
        if not exists:
            await connection.execute(f'CREATE DATABASE "{url.database}"')
    finally:
        await connection.close()


def cli_path() -> str:
    """The project's command line: BENCH_CLI, else the one beside this Python."""
    return os.environ.get("BENCH_CLI") or str(
        Path(sys.executable).with_name("support-tickets")
    )


def cli(url: URL, *arguments: str) -> str:
    """Run `support-tickets ARGUMENTS` on the bench database; its last line."""
    environment = {**os.environ, "DATABASE_URL": dsn(url), "LOG_LEVEL": "WARNING"}
    done = subprocess.run(
        [cli_path(), *arguments],
        env=environment,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        said = (done.stderr.strip() or done.stdout.strip()).splitlines()
        raise BenchError(
            f"`support-tickets {arguments[0]}` failed ({done.returncode}): "
            f"{said[-1] if said else 'no message'}"
        )
    lines = done.stdout.strip().splitlines()
    return lines[-1] if lines else ""


@dataclass(frozen=True)
class Dataset:
    tickets: int
    seed: int | None  # None: data the bench found there and did not load
    loaded_now: bool
    facts: dict[str, Any] = field(default_factory=dict)


async def _marker(url: URL) -> tuple[int, int] | None:
    connection = await asyncpg.connect(dsn(url))
    try:
        if await connection.fetchval("SELECT to_regclass('bench_dataset')") is None:
            return None
        row = await connection.fetchrow("SELECT tickets, seed FROM bench_dataset")
        return (row["tickets"], row["seed"]) if row else None
    finally:
        await connection.close()


async def _holds_tickets(url: URL) -> bool:
    connection = await asyncpg.connect(dsn(url))
    try:
        if await connection.fetchval("SELECT to_regclass('support_tickets')") is None:
            return False
        return bool(
            await connection.fetchval("SELECT EXISTS (SELECT FROM support_tickets)")
        )
    finally:
        await connection.close()


async def _record_marker(url: URL, tickets: int, seed: int) -> None:
    connection = await asyncpg.connect(dsn(url))
    try:
        await connection.execute(
            "CREATE TABLE bench_dataset (tickets bigint NOT NULL, seed bigint NOT NULL,"
            " loaded_at timestamptz NOT NULL DEFAULT now())"
        )
        await connection.execute(
            "INSERT INTO bench_dataset (tickets, seed) VALUES ($1, $2)", tickets, seed
        )
    finally:
        await connection.close()


def prepare_dataset(
    url: URL, *, tickets: int, seed: int, reseed: bool, existing: bool, log: Any
) -> Dataset:
    """The requested dataset in the bench database, loaded only when needed."""
    asyncio.run(ensure_database(url, recreate=False))
    if existing:
        log("measuring the data already in the database (BENCH_EXISTING=1)")
        cli(url, "migrate")
        return Dataset(tickets=0, seed=None, loaded_now=False)

    marker = asyncio.run(_marker(url))
    if marker == (tickets, seed) and not reseed:
        log(f"dataset of {tickets:,} tickets (seed {seed}) already loaded")
        cli(url, "migrate")
        return Dataset(tickets=tickets, seed=seed, loaded_now=False)
    if marker is None and not reseed and asyncio.run(_holds_tickets(url)):
        raise BenchError(
            f"database {url.database} holds tickets the bench did not load: "
            "RESEED=1 replaces them, BENCH_EXISTING=1 measures them as they are"
        )

    log(f"loading {tickets:,} tickets (seed {seed}) into {url.database}")
    asyncio.run(ensure_database(url, recreate=True))
    cli(url, "migrate")
    cli(url, "seed", "--tickets", str(tickets), "--seed", str(seed))
    asyncio.run(_record_marker(url, tickets, seed))
    return Dataset(tickets=tickets, seed=seed, loaded_now=True)


@dataclass(frozen=True)
class Caller:
    username: str
    token: str
    fleet_ids: tuple[int, ...]

    @property
    def prefix(self) -> str:
        return self.token[:12]


async def _fleets_of(url: URL, username: str) -> tuple[int, ...] | None:
    connection = await asyncpg.connect(dsn(url))
    try:
        user_id = await connection.fetchval(
            "SELECT id FROM users WHERE username = $1", username
        )
        if user_id is None:
            return None
        rows = await connection.fetch(
            "SELECT fleet_id FROM fleet_memberships WHERE user_id = $1"
            " ORDER BY fleet_id",
            user_id,
        )
        return tuple(row["fleet_id"] for row in rows)
    finally:
        await connection.close()


async def median_fleet(url: URL) -> int:
    """The fleet whose ticket count is the median: a typical customer."""
    connection = await asyncpg.connect(dsn(url))
    try:
        fleet_id = await connection.fetchval(
            """
            WITH sizes AS (
                SELECT fleet_id, count(*) AS tickets FROM support_tickets
                GROUP BY fleet_id
            )
            SELECT fleet_id FROM sizes ORDER BY tickets, fleet_id
            OFFSET (SELECT count(*) / 2 FROM sizes) LIMIT 1
            """
        )
    finally:
        await connection.close()
    if fleet_id is None:
        raise BenchError("the database holds no tickets to benchmark")
    return int(fleet_id)


def bench_callers(url: URL, log: Any) -> tuple[Caller, Caller]:
    """A staff user and a one-fleet user, made by the CLI, with fresh tokens."""
    if asyncio.run(_fleets_of(url, STAFF_USER)) is None:
        cli(url, "create-user", STAFF_USER, f"{STAFF_USER}@example.com", "--staff")
    fleets = asyncio.run(_fleets_of(url, FLEET_USER))
    if fleets is None:
        fleet = asyncio.run(median_fleet(url))
        cli(
            url,
            "create-user",
            FLEET_USER,
            f"{FLEET_USER}@example.com",
            "--fleet",
            str(fleet),
        )
        fleets = (fleet,)
    log(f"bench users {STAFF_USER} (staff) and {FLEET_USER} (fleet {fleets[0]})")

    staff = Caller(
        STAFF_USER, cli(url, "create-token", STAFF_USER, "--name", "bench"), ()
    )
    member = Caller(
        FLEET_USER, cli(url, "create-token", FLEET_USER, "--name", "bench"), fleets
    )
    return staff, member


def revoke_tokens(url: URL, *callers: Caller) -> None:
    for caller in callers:
        cli(url, "revoke-token", caller.prefix)


async def describe(url: URL, fleet_id: int) -> dict[str, Any]:
    """Server and data facts for the report."""
    connection = await asyncpg.connect(dsn(url))
    try:
        facts: dict[str, Any] = {
            "postgres_version": await connection.fetchval("SHOW server_version"),
            "shared_buffers": await connection.fetchval("SHOW shared_buffers"),
            "work_mem": await connection.fetchval("SHOW work_mem"),
            "pg_trgm": await connection.fetchval(
                "SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'"
            ),
            "trigram_indexes": [
                row["indexname"]
                for row in await connection.fetch(
                    "SELECT indexname FROM pg_indexes"
                    " WHERE indexdef LIKE '%gin_trgm_ops%' ORDER BY indexname"
                )
            ],
            "database_size": await connection.fetchval(
                "SELECT pg_size_pretty(pg_database_size(current_database()))"
            ),
            "fleet_tickets": await connection.fetchval(
                "SELECT count(*) FROM support_tickets WHERE fleet_id = $1", fleet_id
            ),
        }
        for table in (
            "fleets",
            "users",
            "support_tickets",
            "ticket_entities",
            "ticket_comments",
        ):
            facts[table] = await connection.fetchval(f"SELECT count(*) FROM {table}")
        return facts
    finally:
        await connection.close()
