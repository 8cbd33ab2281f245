"""/healthz and /readyz: what an orchestrator asks, without a token."""

import socket
import time
from collections.abc import Callable, Iterator

import pytest

from app.core.settings import Settings
from app.main import create_app
from tests.operations.helpers import client_for, running
from tests.operations.live import free_port


@pytest.fixture
def silent_database() -> Iterator[str]:
    """A port that accepts connections and never says a word, like a hung host."""
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        yield f"postgresql://postgres@127.0.0.1:{listener.getsockname()[1]}/test"


async def test_healthz_answers_without_touching_the_database() -> None:
    # No lifespan has run: there is no engine, and the URL leads nowhere.
    app = create_app(
        Settings(database_url=f"postgresql://nobody@127.0.0.1:{free_port()}/none")
    )

    async with client_for(app) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_green_when_the_database_answers(
    real_engine_settings: Callable[..., Settings],
) -> None:
    async with (
        running(create_app(real_engine_settings())) as app,
        client_for(app) as client,
    ):
        response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_readyz_is_red_with_a_problem_when_the_database_refuses(
    real_engine_settings: Callable[..., Settings],
) -> None:
    settings = real_engine_settings(
        database_url=f"postgresql://postgres@127.0.0.1:{free_port()}/test"
    )

    async with running(create_app(settings)) as app, client_for(app) as client:
        response = await client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    assert response.headers["Retry-After"] == "2"
    assert response.json()["type"] == "urn:support-tickets:problem:service-unavailable"


async def test_readyz_gives_up_after_one_second_on_a_silent_database(
    real_engine_settings: Callable[..., Settings], silent_database: str
) -> None:
    settings = real_engine_settings(
        database_url=silent_database, database_connect_timeout=10
    )

    async with running(create_app(settings)) as app, client_for(app) as client:
        began = time.monotonic()
        response = await client.get("/readyz")
        elapsed = time.monotonic() - began

    assert response.status_code == 503
    assert 0.9 < elapsed < 1.5
