"""The engine: its time limits on every request, lifted for bulk work; its name."""

import pytest
from sqlalchemy import text

from app.core.database import create_engine
from app.core.settings import Settings

# The smallest statement timeout settings accept: the driver then gives up
# 1.1 s into a statement, well before the sleep below ends.
TIMEOUT_MS = 100
SLEEP = "SELECT pg_sleep(1.5)"


def _limited(settings: Settings) -> Settings:
    return settings.model_copy(update={"database_statement_timeout_ms": TIMEOUT_MS})


async def test_a_request_engine_gives_up_on_a_statement_past_its_limit(
    settings: Settings,
) -> None:
    engine = create_engine(_limited(settings))
    try:
        async with engine.connect() as connection:
            # Even with the server's limit lifted, the driver's own holds.
            await connection.execute(text("SET statement_timeout = 0"))
            with pytest.raises(TimeoutError):
                await connection.execute(text(SLEEP))
    finally:
        await engine.dispose()


async def test_a_bulk_engine_waits_for_a_statement_the_work_allowed_to_run_long(
    settings: Settings,
) -> None:
    # `seed --tickets 1000000` runs single statements for minutes.
    engine = create_engine(_limited(settings), bulk=True)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SET statement_timeout = 0"))
            slept = await connection.execute(text(SLEEP))
    finally:
        await engine.dispose()

    assert slept.scalar_one() is None


async def test_connections_carry_the_configured_application_name(
    settings: Settings,
) -> None:
    named = settings.model_copy(update={"database_application_name": "tickets-blue"})
    engine = create_engine(named)
    try:
        async with engine.connect() as connection:
            shown = await connection.scalar(text("SHOW application_name"))
    finally:
        await engine.dispose()

    assert shown == "tickets-blue"
