"""Links built behind a gateway: forwarded headers only from trusted proxies."""

from collections.abc import AsyncIterator

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.settings import Settings
from app.main import create_app
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

FORWARDED = {
    "X-Forwarded-Proto": "https",
    "X-Forwarded-Host": "api.fleet.example",
    "X-Forwarded-Prefix": "/tickets",
}


@pytest.fixture
async def token(session: AsyncSession) -> str:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    for _ in range(3):
        await make_ticket(session, fleet, user)
    return await make_token(session, user)


def _client(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    peer: str,
) -> httpx.AsyncClient:
    app = create_app(settings)
    app.state.sessionmaker = sessionmaker
    transport = httpx.ASGITransport(app=app, client=(peer, 41000))
    return httpx.AsyncClient(transport=transport, base_url="http://internal:8000")


@pytest.fixture
async def from_gateway(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(settings, sessionmaker, "127.0.0.1") as client:
        yield client


@pytest.fixture
async def from_stranger(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession]
) -> AsyncIterator[httpx.AsyncClient]:
    async with _client(settings, sessionmaker, "203.0.113.9") as client:
        yield client


async def test_a_trusted_proxy_sets_scheme_host_and_prefix(
    from_gateway: httpx.AsyncClient, token: str
) -> None:
    response = await from_gateway.get(
        "/v2/support-tickets/?limit=1&offset=1",
        headers={**bearer(token), **FORWARDED},
    )

    assert response.status_code == 200
    body = response.json()
    base = "https://api.fleet.example/tickets/v2/support-tickets/"
    assert body["next"] == f"{base}?limit=1&offset=2"
    assert body["previous"] == f"{base}?limit=1"


async def test_an_untrusted_peer_cannot_rewrite_the_links(
    from_stranger: httpx.AsyncClient, token: str
) -> None:
    response = await from_stranger.get(
        "/v2/support-tickets/?limit=1", headers={**bearer(token), **FORWARDED}
    )

    assert response.status_code == 200
    assert response.json()["next"] == (
        "http://internal:8000/v2/support-tickets/?limit=1&offset=1"
    )


async def test_a_configured_mount_prefix_appears_in_the_links(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], token: str
) -> None:
    mounted = settings.model_copy(update={"root_path": "/api"})

    async with _client(mounted, sessionmaker, "203.0.113.9") as client:
        direct = await client.get("/v2/support-tickets/?limit=1", headers=bearer(token))
        prefixed = await client.get(
            "/api/v2/support-tickets/?limit=1", headers=bearer(token)
        )

    expected = "http://internal:8000/api/v2/support-tickets/?limit=1&offset=1"
    assert direct.json()["next"] == expected
    assert prefixed.json()["next"] == expected
