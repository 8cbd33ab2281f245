"""Measurements made inside the bench's own process, with no load on it.

- SQL statements per request. For the service, an SQLAlchemy
  `before_cursor_execute` listener on the app's engine counts what the app
  sends through SQLAlchemy. Both targets are also counted on the wire:
  asyncpg's per-connection `queries_count` (every statement executed,
  including BEGIN, COMMIT, the pool's pre-ping and connection resets), summed
  over every live asyncpg connection of this process. Each scenario is
  requested twice and both are counted: the first request computes its
  answer, the second is what the load measures (the service's list cache
  then reuses the first answer; a target without one computes again).
- Where a request's time goes: pyinstrument in async mode over a few dozen
  sequential requests. Time the request task spends awaiting is waiting on
  PostgreSQL (nothing else is awaited); the rest is Python. The hot spots are
  the functions with the most exclusive Python time. The serialization
  share is the time spent inside the functions that turn results into the
  response body (SERIALIZERS).
"""

import gc
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
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
# Functions that turn results into bytes: the service's envelope, Starlette's
# and FastAPI's response rendering, the JSON encoders of both targets.
SERIALIZERS = frozenset(
    {
        "page_response",
        "render",
        "jsonable_encoder",
        "serialize_response",
        "dumps",
        "encode",
        "dump_json",
        "to_json",
    }
)
WAITING = (AWAIT_FRAME_IDENTIFIER, OUT_OF_CONTEXT_FRAME_IDENTIFIER)


@dataclass
class Inspection:
    """What one target did for one scenario, measured in-process."""

    status: int
    count: int | None  # the response's `count`
    statements_sqlalchemy: int | None  # None for the raw reference
    statements_wire: int
    first_statements_sqlalchemy: int | None
    first_statements_wire: int
    statement_texts: list[str] = field(default_factory=list)
    first_statement_texts: list[str] = field(default_factory=list)
    plan: str | None = None
    profile: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "count": self.count,
            "statements_sqlalchemy": self.statements_sqlalchemy,
            "statements_wire": self.statements_wire,
            "first_statements_sqlalchemy": self.first_statements_sqlalchemy,
            "first_statements_wire": self.first_statements_wire,
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


def _serializing(frame: Frame) -> float:
    """Time inside serializers under `frame`, each counted once."""
    if not frame.is_synthetic and frame.function in SERIALIZERS:
        return frame.time
    return sum(_serializing(child) for child in frame.children)


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
        "serialization_share": _serializing(root) / total if total else 0.0,
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
    counted = []
    for _ in range(2):
        sent_before = len(sqlalchemy_statements()) if sqlalchemy_statements else 0
        wire_before = _statements_on_the_wire()
        answer = await client.get(scenario.path, headers=headers)
        wire = _statements_on_the_wire() - wire_before
        if answer.status_code != 200:
            raise BenchError(
                f"{scenario.key} answered {answer.status_code}: {answer.text[:300]}"
            )
        sent = sqlalchemy_statements()[sent_before:] if sqlalchemy_statements else []
        counted.append((wire, sent))
    (first_wire, first_sent), (wire, sent) = counted

    profile = await _profile(
        client,
        scenario.path,
        headers,
        requests=profile_requests,
        seconds=profile_seconds,
    )
    inspection = Inspection(
        status=answer.status_code,
        count=answer.json().get("count"),
        statements_sqlalchemy=len(sent) if sqlalchemy_statements else None,
        statements_wire=wire,
        first_statements_sqlalchemy=len(first_sent) if sqlalchemy_statements else None,
        first_statements_wire=first_wire,
        statement_texts=[statement for statement, _ in sent],
        first_statement_texts=[statement for statement, _ in first_sent],
        profile=profile,
    )
    return inspection, first_sent


@asynccontextmanager
async def _service_client(
    database: URL, *, list_cache: bool
) -> AsyncIterator[tuple[httpx.AsyncClient, AsyncEngine]]:
    off = {} if list_cache else {"list_cache_max_bytes": 0}
    settings = Settings(database_url=dsn(database), log_level="WARNING", **off)
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


async def _each_request(
    scenarios: list[Scenario],
    inspect: Callable[[Scenario], Awaitable[Inspection]],
) -> dict[str, Inspection]:
    """`inspect` of each scenario, by key, once per distinct request.

    A scenario repeating an earlier one's request (path and caller) under
    other conditions, as S8 repeats S6 under writes, takes that one's
    inspection: in-process, its first request would find the answer kept
    and compute nothing.
    """
    by_request: dict[tuple[str, str], Inspection] = {}
    results = {}
    for scenario in scenarios:
        request = (scenario.path, scenario.caller)
        if request not in by_request:
            by_request[request] = await inspect(scenario)
        results[scenario.key] = by_request[request]
    return results


async def inspect_service(
    database: URL,
    scenarios: list[Scenario],
    tokens: dict[str, str],
    *,
    profile_requests: int,
    profile_seconds: float,
    list_cache: bool = True,
) -> dict[str, Inspection]:
    async with _service_client(database, list_cache=list_cache) as (client, engine):
        # A token's first use is stamped (an UPDATE); get that out of the way.
        for token in tokens.values():
            await client.get(
                "/v2/support-tickets/?limit=1",
                headers={"Authorization": f"Bearer {token}"},
            )
        sent: list[tuple[str, Any]] = []

        def record(
            _conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any
        ) -> None:
            sent.append((statement, parameters))

        async def inspect(scenario: Scenario) -> Inspection:
            inspection, captured = await _inspect(
                client,
                scenario,
                tokens[scenario.caller],
                lambda: sent,
                profile_requests=profile_requests,
                profile_seconds=profile_seconds,
            )
            if scenario.explain and captured:
                # The longest statement of the computing request is the list
                # query.
                statement, parameters = max(captured, key=lambda item: len(item[0]))
                inspection.plan = await _plan(engine, statement, parameters)
            return inspection

        event.listen(engine.sync_engine, "before_cursor_execute", record)
        try:
            return await _each_request(scenarios, inspect)
        finally:
            event.remove(engine.sync_engine, "before_cursor_execute", record)


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
    try:
        transport = httpx.ASGITransport(app=reference)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://127.0.0.1"
        ) as client:

            async def inspect(scenario: Scenario) -> Inspection:
                inspection, _ = await _inspect(
                    client,
                    scenario,
                    tokens[scenario.caller],
                    None,
                    profile_requests=profile_requests,
                    profile_seconds=profile_seconds,
                )
                return inspection

            return await _each_request(scenarios, inspect)
    finally:
        await reference.shutdown()
