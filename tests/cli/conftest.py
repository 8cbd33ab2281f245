"""The command line run for real: `python -m app ...` in a child process."""

import asyncio
import os
import random
import socket
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from app.core.migrations import upgrade_to_head
from app.core.settings import Settings
from tests.database import create_database, drop_database

# Generous: a child process imports the app and may start a server.
COMMAND_TIMEOUT = 120


@dataclass(frozen=True)
class CliResult:
    returncode: int
    stdout: str
    stderr: str

    @property
    def last_line(self) -> str:
        lines = self.stdout.splitlines()
        return lines[-1] if lines else ""

    @property
    def stderr_lines(self) -> list[str]:
        return self.stderr.splitlines()


def child_environment(database_url: URL | None, **extra: str) -> dict[str, str]:
    """This environment without any of the service's settings, plus these."""
    own = {name.upper() for name in Settings.model_fields}
    environment = {
        name: value
        for name, value in os.environ.items()
        if name not in own and name != "TEST_DATABASE_URL"
    }
    if database_url is not None:
        environment["DATABASE_URL"] = database_url.render_as_string(hide_password=False)
    return environment | extra


async def run_cli(
    *args: str,
    database_url: URL | None,
    cwd: Path,
    **extra_environment: str,
) -> CliResult:
    """Run the command to completion; `cwd` keeps a developer's .env out."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "app",
        *args,
        cwd=cwd,
        env=child_environment(database_url, **extra_environment),
        stdin=asyncio.subprocess.DEVNULL,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(
        process.communicate(), timeout=COMMAND_TIMEOUT
    )
    assert process.returncode is not None
    return CliResult(process.returncode, stdout.decode(), stderr.decode())


def unused_port() -> int:
    """A free port below the ephemeral range.

    A port the kernel hands out (bind to 0) comes from the range it also
    gives outgoing connections, and on a busy machine one of them can take
    it before the server under test binds it.
    """
    range_file = Path("/proc/sys/net/ipv4/ip_local_port_range")
    first_ephemeral = int(range_file.read_text().split()[0])
    candidates = list(range(10000, first_ephemeral))
    random.shuffle(candidates)
    for port in candidates[:200]:
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port below the ephemeral range")


def assert_refused(result: CliResult, *, says: str, code: int = 1) -> None:
    """A refusal: the exit code, one line on stderr, nothing on stdout."""
    assert result.returncode == code, result
    assert len(result.stderr_lines) == 1, result.stderr
    assert says in result.stderr_lines[0]
    assert result.stdout == ""


@pytest.fixture
async def empty_database(database_server: URL) -> AsyncIterator[URL]:
    """A database of its own, without any table."""
    url = await create_database(database_server)
    yield url
    await drop_database(database_server, url)


@pytest.fixture
async def fresh_database(empty_database: URL) -> URL:
    """A database of its own, migrated and empty."""
    await asyncio.to_thread(upgrade_to_head, empty_database)
    return empty_database


@pytest.fixture(scope="module")
async def shared_database(database_server: URL) -> AsyncIterator[URL]:
    """One migrated database for a module whose tests use distinct names."""
    url = await create_database(database_server)
    await asyncio.to_thread(upgrade_to_head, url)
    yield url
    await drop_database(database_server, url)


def async_engine(url: URL) -> AsyncEngine:
    return create_async_engine(url.set(drivername="postgresql+asyncpg"))


@pytest.fixture(scope="module")
async def shared_engine(shared_database: URL) -> AsyncIterator[AsyncEngine]:
    engine = async_engine(shared_database)
    yield engine
    await engine.dispose()
