"""Fixtures for tests that run the service as it runs in production."""

import asyncio
import json
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.logging import HANDLER_NAME
from app.core.migrations import upgrade_to_head
from app.core.settings import Settings
from app.main import create_app
from tests.database import create_database, drop_database
from tests.factories import make_fleet, make_ticket, make_token, make_user

DEMO_TICKETS = 3


@dataclass(frozen=True)
class DemoDatabase:
    """A database of its own whose rows are committed, for real servers."""

    url: URL
    token: str


def async_url(url: URL) -> URL:
    return url.set(drivername="postgresql+asyncpg")


async def commit_user_with_token(url: URL, *, tickets: int = 0) -> str:
    """A fleet member with a fresh token (never used) and some tickets."""
    engine = create_async_engine(async_url(url))
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            fleet = await make_fleet(session)
            user = await make_user(session, fleets=[fleet])
            for _ in range(tickets):
                await make_ticket(session, fleet, user)
            return await make_token(session, user)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
async def demo_database(database_server: URL) -> AsyncIterator[DemoDatabase]:
    url = await create_database(database_server)
    await asyncio.to_thread(upgrade_to_head, url)
    token = await commit_user_with_token(url, tickets=DEMO_TICKETS)
    yield DemoDatabase(url=url, token=token)
    await drop_database(database_server, url)


@asynccontextmanager
async def running(app: FastAPI) -> AsyncIterator[FastAPI]:
    """The app with its lifespan run: a real engine built from its settings."""
    async with app.router.lifespan_context(app):
        yield app


@pytest.fixture
def real_engine_settings(database_url: URL) -> Callable[..., Settings]:
    """Settings on the test database, with overrides, for apps run with `running`."""

    def build(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "database_url": database_url.render_as_string(hide_password=False),
            "log_level": "WARNING",
        }
        return Settings(**(values | overrides))

    return build


@pytest.fixture
def log_lines(capsys: pytest.CaptureFixture[str]) -> Iterator[Callable[[], list[str]]]:
    """The lines an app built inside the test wrote to stdout, as rendered.

    Reading the real output (not structlog's event dicts) is what shows
    that nothing secret is printed, whatever the processors do.
    """

    def read() -> list[str]:
        return capsys.readouterr().out.splitlines()

    yield read
    # The handler writes to this test's capture, which is about to close.
    root = logging.getLogger()
    for handler in [h for h in root.handlers if h.name == HANDLER_NAME]:
        root.removeHandler(handler)


def events(lines: list[str], name: str) -> list[dict[str, Any]]:
    parsed = [json.loads(line) for line in lines]
    return [entry for entry in parsed if entry.get("event") == name]


def build_app(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> FastAPI:
    app = create_app(settings)
    if sessionmaker is not None:
        app.state.sessionmaker = sessionmaker
    return app
