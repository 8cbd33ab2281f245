"""Measurements made inside the bench's own process, with no load on it.

- SQL statements per request. For the service, an SQLAlchemy
  `before_cursor_execute` listener on the app's engine counts what the app
  sends through SQLAlchemy. Both targets are also counted on the wire:
  asyncpg's per-connection `queries_count` (every statement executed,
  including BEGIN, COMMIT, the pool's pre-ping and connection resets), summed
  over every live asyncpg connection of this process. Each scenario is
  requested once to warm caches, then once counted.
- Where a request's time goes: pyinstrument in async mode over a few dozen
  sequential requests. Time the request task spends awaiting is waiting on
  PostgreSQL (nothing else is awaited); the rest is Python. The hot spots are
  the functions with the most exclusive Python time.
"""

import gc
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from pyinstrument import Profiler
from pyinstrument.frame import (
    AWAIT_FRAME_IDENTIFIER,
    OUT_OF_CONTEXT_FRAME_IDENTIFIER,
    Frame,
)
from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine

from app.core.settings import Settings
from app.main import create_app
from bench.database import ROOT, BenchError, dsn
from bench.raw_reference import RawReference
from bench.scenarios import Scenario

PROFILE_INTERVAL = 0.0005
WAITING = (AWAIT_FRAME_IDENTIFIER, OUT_OF_CONTEXT_FRAME_IDENTIFIER)


@dataclass
class Inspection:
    """What one target did for one scenario, measured in-process."""

    status: int
    count: int | None  # the response's `count`
    statements_sqlalchemy: int | None  # None for the raw reference
    statements_wire: int
    statement_texts: list[str] = field(default_factory=list)
    plan: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "statements_sqlalchemy": self.statements_sqlalchemy,
            "statements_wire": self.statements_wire,
            "plan": self.plan,
            "profile": self.profile,
        }


def _statements_on_the_wire() -> int:
    """Statements executed so far by every open asyncpg connection here."""
    return sum(
        candidate._protocol.queries_count
        for candidate in gc.get_objects()
        if isinstance(candidate, asyncpg.Connection) and not candidate.is_closed()
    )


def _package(frame: Frame) -> str:
    path = frame.file_path or ""
    if "site-packages/" in path:
        return path.split("site-packages/", 1)[1].split("/", 1)[0]
    if path.startswith(str(ROOT)):
        return Path(path).relative_to(ROOT).parts[0]
    return "python stdlib" if path else "other"


def _walk(frame: Frame) -> Iterable[Frame]:
    yield frame
    for child in frame.children:
        yield from _walk(child)


def _exclusive_python(frame: Frame) -> float:
    """Time in the frame itself: not in a real callee, not awaiting."""
    inside = frame.time
    for child in frame.children:
        if not child.is_synthetic or child.identifier in WAITING:
            inside -= child.time
    return max(inside, 0.0)


def summarize(profiler: Profiler, requests: int) -> dict[str, Any]:
    session = profiler.last_session
    root = session.root_frame() if session else None
    if session is None or root is None or requests == 0:
        return {}
    waiting = sum(f.time for f in _walk(root) if f.identifier in WAITING)
    total = root.time
    functions: Counter[str] = Counter()
    packages: Counter[str] = Counter()
    for frame in _walk(root):
        if frame.is_synthetic:
            continue
        spent = _exclusive_python(frame)
        where = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
        functions[where] += spent
        packages[_package(frame)] += spent
    python = max(total - waiting, 0.0)
    return {
        "requests": requests,
        "wall_ms_per_request": 1000 * session.duration / requests,
        "python_share": python / total if total else 0.0,
        "cpu_share": session.cpu_time / session.duration if session.duration else 0.0,
        "python_ms_per_request": 1000 * python / requests,
        "hot_spots": [
            {"where": where, "share": spent / total}
            for where, spent in functions.most_common(6)
        ],
        "packages": [
            {"package": name, "share": spent / total}
            for name, spent in packages.most_common(8)
        ],
    }


async def _profile(
    client: httpx.AsyncClient,
    path: str,
    headers: dict[str, str],
    *,
    requests: int,
    seconds: float,
) -> dict[str, Any]:
    profiler = Profiler(interval=PROFILE_INTERVAL, async_mode="enabled")
    deadline = time.monotonic() + seconds
    done = 0
    profiler.start()
    try:
        while done < requests and (done == 0 or time.monotonic() < deadline):
            answer = await client.get(path, headers=headers)
            if answer.status_code != 200:
                raise BenchError(f"{path} answered {answer.status_code} in-process")
            done += 1
    finally:
        profiler.stop()
    return summarize(profiler, done)


async def _inspect(
    client: httpx.AsyncClient,
    scenario: Scenario,
    token: str,
    sqlalchemy_statements: Callable[[], list[tuple[str, Any]]] | None,
    *,
    profile_requests: int,
    profile_seconds: float,
) -> tuple[Inspection, list[tuple[str, Any]]]:
    headers = {"Authorization": f"Bearer {token}"}
    warm = await client.get(scenario.path, headers=headers)
    if warm.status_code != 200:
        raise BenchError(
            f"{scenario.key} answered {warm.status_code}: {warm.text[:300]}"
        )

    sent_before = len(sqlalchemy_statements()) if sqlalchemy_statements else 0
    wire_before = _statements_on_the_wire()
    answer = await client.get(scenario.path, headers=headers)
    wire = _statements_on_the_wire() - wire_before
    captured = sqlalchemy_statements()[sent_before:] if sqlalchemy_statements else []

    profile = await _profile(
        client,
        scenario.path,
        headers,
        requests=profile_requests,
        seconds=profile_seconds,
    )
    inspection = Inspection(
        status=answer.status_code,
        count=answer.json().get("count") if answer.status_code == 200 else None,
        statements_sqlalchemy=len(captured) if sqlalchemy_statements else None,
        statements_wire=wire,
        statement_texts=[statement for statement, _ in captured],
        profile=profile,
    )
    return inspection, captured


@asynccontextmanager
async def _service_client(
    database: URL,
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    settings = Settings(database_url=dsn(database), log_level="WARNING")
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        engine = app.state.sessionmaker.kw["bind"]
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1"
        ) as client:
            yield client, engine


async def _plan(engine: AsyncEngine, statement: str, parameters: Any) -> str:
    async with engine.connect() as connection:
        rows = await connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)
        return "\n".join(row[0] for row in rows)


async def inspect_service(
    database: URL,
    scenarios: list[Scenario],
    tokens: dict[str, str],
    *,
    profile_requests: int,
    profile_seconds: float,
) -> dict[str, Inspection]:
    results = {}
    async with _service_client(database) as (client, engine):
        sent: list[tuple[str, Any]] = []

        def record(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
        ) -> None:
            sent.append((statement, parameters))

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            for scenario in scenarios:
                inspection, captured = await _inspect(
                    client,
                    scenario,
                    tokens[scenario.caller],
                    lambda: sent,
                    profile_requests=profile_requests,
                    profile_seconds=profile_seconds,
                )
                if scenario.explain and captured:
                    # The longest statement of the request is the list query.
                    statement, parameters = max(captured, key=lambda item: len(item[0]))
                    inspection.plan = await _plan(engine, statement, parameters)
                results[scenario.key] = inspection
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)
    return results


async def inspect_raw(
    database: URL,
    scenarios: list[Scenario],
    tokens: dict[str, str],
    *,
    profile_requests: int,
    profile_seconds: float,
) -> dict[str, Inspection]:
    reference = RawReference(dsn(database), pool_size=2)
    await reference.startup()
    results = {}
    try:
        transport = httpx.ASGITransport(app=reference)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1"
        ) as client:
            for scenario in scenarios:
                inspection, _ = await _inspect(
                    client,
                    scenario,
                    tokens[scenario.caller],
                    None,
                    profile_requests=profile_requests,
                    profile_seconds=profile_seconds,
                )
                results[scenario.key] = inspection
    finally:
        await reference.shutdown()
    return results
