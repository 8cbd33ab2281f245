"""Fixtures for tests that run the service as it runs in production."""

import asyncio
import logging
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest
from sqlalchemy.engine import URL

from app.core.logging import HANDLER_NAME
from app.core.migrations import upgrade_to_head
from app.core.settings import Settings
from tests.database import create_database, drop_database
from tests.operations.helpers import DEMO_TICKETS, DemoDatabase, commit_user_with_token


@pytest.fixture(scope="session")
async def demo_database(database_server: URL) -> AsyncIterator[DemoDatabase]:
    url = await create_database(database_server)
    await asyncio.to_thread(upgrade_to_head, url)
    token = await commit_user_with_token(url, tickets=DEMO_TICKETS)
    yield DemoDatabase(url=url, token=token)
    await drop_database(database_server, url)


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
