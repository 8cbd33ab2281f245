"""Bearer authentication on the list endpoint."""

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utc_now
from app.models import ApiToken, User
from tests.factories import bearer, make_token, make_user

LIST = "/v2/support-tickets/"


async def test_missing_header_is_401_with_a_bare_challenge(
    client: httpx.AsyncClient,
) -> None:
    response = await client.get(LIST)

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["Content-Type"] == "application/problem+json"
    assert response.json() == {
        "type": "urn:support-tickets:problem:not-authenticated",
        "title": "Not authenticated",
        "status": 401,
        "detail": "Authentication credentials were not provided.",
    }


@pytest.mark.parametrize(
    "header",
    [
        "Bearer",
        "Bearer ",
        "Basic dXNlcjpwYXNz",
        "Bearer not-a-token",
        "Bearer stk_0123abcd_" + "A" * 43,  # well-formed, never issued
        "Bearer stk_0123abcd_" + "A" * 42 + "\u00e9",
    ],
)
async def test_unusable_credentials_are_one_indistinct_401(
    client: httpx.AsyncClient, header: str
) -> None:
    # Sent as raw bytes: a header may carry any octet, not only ASCII.
    raw = header.encode("latin-1")
    response = await client.get(LIST, headers={"Authorization": raw})

    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    assert response.json()["detail"] == (
        "The bearer token is invalid, expired or revoked."
    )


async def _refused_body(client: httpx.AsyncClient, token: str) -> bytes:
    response = await client.get(LIST, headers=bearer(token))
    assert response.status_code == 401
    assert response.headers["WWW-Authenticate"] == 'Bearer error="invalid_token"'
    return response.content


async def test_expired_revoked_and_inactive_look_like_an_unknown_token(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await make_user(session)
    inactive = await make_user(session, active=False)
    past = utc_now() - timedelta(seconds=1)
    expired = await make_token(session, user, expires_at=past)
    revoked = await make_token(session, user, revoked_at=past)
    of_inactive_user = await make_token(session, inactive)
    unknown = "stk_0123abcd_" + "B" * 43

    bodies = {
        await _refused_body(client, token)
        for token in (expired, revoked, of_inactive_user, unknown)
    }

    assert len(bodies) == 1


async def test_a_valid_token_is_accepted_until_it_expires(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await make_user(session)
    token = await make_token(session, user, expires_at=utc_now() + timedelta(hours=1))

    response = await client.get(LIST, headers=bearer(token))

    assert response.status_code == 200


async def test_last_used_at_is_written_at_most_once_a_minute(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await make_user(session)
    token = await make_token(session, user)
    last_used = select(ApiToken.last_used_at).where(ApiToken.user_id == user.id)

    await client.get(LIST, headers=bearer(token))
    first = await session.scalar(last_used)
    await client.get(LIST, headers=bearer(token))
    second = await session.scalar(last_used)

    assert first is not None
    assert second == first

    a_while_ago = utc_now() - timedelta(minutes=2)
    await session.execute(
        update(ApiToken)
        .where(ApiToken.user_id == user.id)
        .values(last_used_at=a_while_ago)
    )
    await client.get(LIST, headers=bearer(token))
    third = await session.scalar(last_used.execution_options(populate_existing=True))

    assert third is not None
    assert third > a_while_ago


async def test_deactivating_a_user_locks_out_their_existing_tokens(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await make_user(session)
    token = await make_token(session, user)
    assert (await client.get(LIST, headers=bearer(token))).status_code == 200

    await session.execute(
        update(User).where(User.id == user.id).values(is_active=False)
    )

    assert (await client.get(LIST, headers=bearer(token))).status_code == 401
