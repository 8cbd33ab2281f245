"""run: serves the API with demo data and tokens, and stops cleanly."""

import asyncio
import re
import signal
import socket
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import URL

from tests.cli.conftest import (
    assert_refused,
    child_environment,
    run_cli,
    unused_port,
)

STARTUP_TIMEOUT = 90
TOKEN = re.compile(r"stk_[0-9a-f]{8}_[A-Za-z0-9_-]{43}")
DEMO_TICKETS = 300


@dataclass
class Running:
    process: asyncio.subprocess.Process
    base_url: str
    banner: str

    @property
    def tokens(self) -> list[str]:
        """The staff token, then the fleet user's."""
        return TOKEN.findall(self.banner.split("Try it:")[0])

    async def stop(self, signal_number: int = signal.SIGINT) -> int:
        self.process.send_signal(signal_number)
        return await asyncio.wait_for(self.process.wait(), timeout=60)


StartRun = Callable[..., Awaitable[Running]]


async def _wait_for_banner(
    output: Path, errors: Path, process: asyncio.subprocess.Process
) -> str:
    for _ in range(STARTUP_TIMEOUT * 10):
        text = await asyncio.to_thread(output.read_text)
        if "Stop with Ctrl-C." in text or "create-token USERNAME" in text:
            return text
        if process.returncode is not None:
            break
        await asyncio.sleep(0.1)
    said = await asyncio.to_thread(errors.read_text)
    raise AssertionError(f"no banner (exit {process.returncode}): {text}{said}")


async def _wait_until_serving(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url) as client:
        for _ in range(STARTUP_TIMEOUT * 10):
            try:
                if (await client.get("/docs")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"{base_url} did not answer in {STARTUP_TIMEOUT} s")


@pytest.fixture
async def start(tmp_path: Path) -> AsyncIterator[StartRun]:
    """Starts `python -m app run`; kills whatever a failed test left running."""
    started: list[asyncio.subprocess.Process] = []

    async def start_run(database_url: URL | None, **environment: str) -> Running:
        port = unused_port()
        stdout = tmp_path / f"run-{len(started)}.out"
        stderr = tmp_path / f"run-{len(started)}.err"
        with stdout.open("w") as out, stderr.open("w") as err:
            process = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "app",
                "run",
                "--port",
                str(port),
                cwd=tmp_path,
                env=child_environment(database_url, **environment),
                stdin=asyncio.subprocess.DEVNULL,
                stdout=out,
                stderr=err,
            )
        started.append(process)
        banner = await _wait_for_banner(stdout, stderr, process)
        base_url = f"http://127.0.0.1:{port}"
        await _wait_until_serving(base_url)
        return Running(process, base_url, banner)

    yield start_run
    for process in started:
        if process.returncode is None:
            process.kill()
            await process.wait()


def _postgres_processes_using(data_dir: Path) -> list[str]:
    """Command lines of the processes whose arguments name `data_dir`."""
    found = []
    for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
        try:
            arguments = cmdline.read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if "postgres" in arguments and str(data_dir) in arguments:
            found.append(arguments)
    return found


async def _count(base_url: str, token: str) -> int:
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.get(
            "/v2/support-tickets/",
            params={"limit": 1},
            headers={"Authorization": f"Bearer {token}"},
        )
    assert response.status_code == 200, response.text
    count: int = response.json()["count"]
    return count


async def test_run_loads_demo_data_and_prints_working_tokens(
    start: StartRun, fresh_database: URL
) -> None:
    running = await start(fresh_database)

    assert "demo data loaded" in running.banner
    assert f"{running.base_url}/docs" in running.banner
    staff_token, fleet_token = running.tokens
    assert await _count(running.base_url, staff_token) == DEMO_TICKETS
    assert 0 < await _count(running.base_url, fleet_token) < DEMO_TICKETS
    assert await running.stop() == 0


async def test_run_keeps_the_data_and_replaces_the_tokens_on_the_next_start(
    start: StartRun, fresh_database: URL
) -> None:
    first = await start(fresh_database)
    old_staff_token = first.tokens[0]
    await first.stop()

    second = await start(fresh_database)

    assert "demo data loaded" not in second.banner
    new_staff_token = second.tokens[0]
    assert new_staff_token != old_staff_token
    assert await _count(second.base_url, new_staff_token) == DEMO_TICKETS
    async with httpx.AsyncClient(base_url=second.base_url) as client:
        response = await client.get(
            "/v2/support-tickets/",
            headers={"Authorization": f"Bearer {old_staff_token}"},
        )
    assert response.status_code == 401
    await second.stop()


async def test_run_on_a_database_filled_otherwise_issues_no_token(
    start: StartRun, fresh_database: URL, tmp_path: Path
) -> None:
    seeded = await run_cli(
        "seed", "--tickets", "20", database_url=fresh_database, cwd=tmp_path
    )
    assert seeded.returncode == 0, seeded

    running = await start(fresh_database)

    assert running.tokens == []
    assert "no demo accounts" in running.banner
    await running.stop()


@pytest.mark.parametrize("signal_number", [signal.SIGINT, signal.SIGTERM])
async def test_run_on_the_embedded_server_stops_it_and_keeps_its_data(
    start: StartRun, tmp_path: Path, signal_number: int
) -> None:
    data_dir = tmp_path / "postgres"
    running = await start(None, EMBEDDED_DATA_DIR=str(data_dir))
    assert await _count(running.base_url, running.tokens[0]) == DEMO_TICKETS
    assert _postgres_processes_using(data_dir)

    assert await running.stop(signal_number) == 0

    assert _postgres_processes_using(data_dir) == []
    assert (data_dir / "PG_VERSION").exists()
    assert not (data_dir / "postmaster.pid").exists()


async def test_admin_commands_on_the_embedded_server_leave_nothing_running(
    tmp_path: Path,
) -> None:
    data_dir = tmp_path / "postgres"

    migrated = await run_cli(
        "migrate", database_url=None, cwd=tmp_path, EMBEDDED_DATA_DIR=str(data_dir)
    )
    created = await run_cli(
        "create-fleet",
        "Embedded",
        database_url=None,
        cwd=tmp_path,
        EMBEDDED_DATA_DIR=str(data_dir),
    )

    assert migrated.returncode == 0, migrated
    assert created.returncode == 0, created
    assert created.last_line == "1"
    assert _postgres_processes_using(data_dir) == []


async def test_run_refuses_a_busy_port_before_touching_the_database(
    empty_database: URL, tmp_path: Path
) -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]

        result = await run_cli(
            "run", "--port", str(port), database_url=empty_database, cwd=tmp_path
        )

    assert_refused(result, says=f"cannot listen on 127.0.0.1:{port}")
    migrated = await run_cli(
        "create-fleet", "Untouched", database_url=empty_database, cwd=tmp_path
    )
    assert_refused(migrated, says="no tables yet")


async def test_serve_needs_a_database_url(tmp_path: Path) -> None:
    result = await run_cli("serve", database_url=None, cwd=tmp_path)

    assert_refused(result, says="serve needs DATABASE_URL")


async def test_serve_refuses_a_worker_count_out_of_range(
    fresh_database: URL, tmp_path: Path
) -> None:
    result = await run_cli(
        "serve", "--workers", "0", database_url=fresh_database, cwd=tmp_path
    )

    assert_refused(result, says="workers are 1 to 64", code=2)
