"""/metrics: Prometheus text, by route template, for allowed networks only."""

import asyncio
from collections.abc import Callable

from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.deps import Session
from app.core.settings import Settings
from app.main import create_app
from tests.factories import bearer, make_token, make_user
from tests.operations.helpers import client_for, running

LIST = "/v2/support-tickets/"


def samples(exposition: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
    }


def labels(**values: str) -> frozenset[tuple[str, str]]:
    return frozenset(values.items())


async def test_requests_are_counted_and_timed_by_route_template_and_status(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
) -> None:
    token = await make_token(session, await make_user(session))
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker

    async with client_for(app) as client:
        await client.get(LIST, headers=bearer(token))
        await client.get(LIST + "?status=OPEN", headers=bearer(token))
        await client.get(LIST)
        await client.get("/wp-admin/setup.php")
        await client.request("BREW", "/healthz")
        response = await client.get("/metrics")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain; version=")
    found = samples(response.text)
    ok = labels(method="GET", route=LIST, status="200")
    assert found[("http_requests_total", ok)] == 2
    assert found[("http_request_duration_seconds_count", ok)] == 2
    unauthenticated = labels(method="GET", route=LIST, status="401")
    assert found[("http_requests_total", unauthenticated)] == 1
    unknown = labels(method="GET", route="unmatched", status="404")
    assert found[("http_requests_total", unknown)] == 1
    odd_method = labels(method="OTHER", route="/healthz", status="405")
    assert found[("http_requests_total", odd_method)] == 1


async def test_metrics_are_a_404_outside_the_allowed_networks(
    settings: Settings,
) -> None:
    app = create_app(
        Settings(
            database_url=settings.database_url,
            metrics_allowed_networks=["10.0.0.0/8"],
        )
    )

    async with client_for(app, client="10.1.2.3") as inside:
        allowed = await inside.get("/metrics")
    async with client_for(app, client="127.0.0.1") as loopback:
        refused = await loopback.get("/metrics")
    async with client_for(app, client="127.0.0.1") as loopback:
        unknown = await loopback.get("/no-such-page")

    assert allowed.status_code == 200
    assert refused.status_code == 404
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json() == unknown.json()


async def test_by_default_only_loopback_may_read_metrics(settings: Settings) -> None:
    app = create_app(settings)

    async with client_for(app, client="203.0.113.9") as outsider:
        response = await outsider.get("/metrics")

    assert response.status_code == 404


async def hold_connection(session: Session, seconds: float = 1.0) -> dict[str, str]:
    await session.execute(text("SELECT pg_sleep(:seconds)"), {"seconds": seconds})
    return {}


async def test_pool_gauges_show_connections_in_use_and_requests_waiting(
    real_engine_settings: Callable[..., Settings],
) -> None:
    settings = real_engine_settings(
        database_pool_size=1, database_max_overflow=0, database_pool_timeout=5
    )
    app = create_app(settings)
    # Mounted by the test only: the shipped app has no such route.
    app.add_api_route("/test-only/hold", hold_connection)

    nothing = frozenset[tuple[str, str]]()
    in_use = ("db_pool_connections_in_use", nothing)
    waiting = ("db_pool_waiting_requests", nothing)

    async with running(app), client_for(app) as client:
        idle = samples((await client.get("/metrics")).text)
        holder = asyncio.create_task(client.get("/test-only/hold?seconds=2"))
        waiter = asyncio.create_task(client.get("/test-only/hold?seconds=0"))
        seen = set()
        async with asyncio.timeout(1.8):
            while (1, 1) not in seen:
                busy = samples((await client.get("/metrics")).text)
                seen.add((busy[in_use], busy[waiting]))
                await asyncio.sleep(0.05)
        await asyncio.gather(holder, waiter)
        after = samples((await client.get("/metrics")).text)

    assert (idle[in_use], idle[waiting]) == (0, 0)
    # One request holds the only connection while the other waits for it.
    assert (1, 1) in seen
    assert (after[in_use], after[waiting]) == (0, 0)
    assert after[("db_pool_connections_idle", nothing)] == 1
