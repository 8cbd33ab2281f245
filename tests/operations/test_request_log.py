"""One structured line per request, a request id on everything, no secrets."""

import json
from collections.abc import Callable

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.security import issue_token
from app.core.settings import Settings
from app.main import create_app
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user
from tests.operations.helpers import client_for, events

LIST = "/v2/support-tickets/"


def logged_app(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    log_format: str = "json",
) -> FastAPI:
    app = create_app(
        settings.model_copy(update={"log_level": "INFO", "log_format": log_format})
    )
    app.state.sessionmaker = sessionmaker
    return app


async def test_a_request_is_logged_once_with_its_route_template_user_and_timing(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    log_lines: Callable[[], list[str]],
) -> None:
    fleet = await make_fleet(session)
    user = await make_user(session, fleets=[fleet])
    await make_ticket(session, fleet, user)
    token = await make_token(session, user)
    app = logged_app(settings, sessionmaker)

    async with client_for(app) as client:
        response = await client.get(LIST + "?status=OPEN", headers=bearer(token))

    assert response.status_code == 200
    [line] = events(log_lines(), "request.completed")
    assert line["method"] == "GET"
    assert line["route"] == LIST
    assert line["status"] == 200
    assert line["user_id"] == user.id
    assert line["request_id"] == response.headers["X-Request-ID"]
    assert isinstance(line["duration_ms"], float)
    assert line["level"] == "info"


async def test_a_route_with_a_path_parameter_is_logged_by_its_template(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    log_lines: Callable[[], list[str]],
) -> None:
    app = logged_app(settings, sessionmaker)

    async def one_ticket(ticket_id: int) -> dict[str, int]:
        return {"id": ticket_id}

    app.add_api_route("/test-only/tickets/{ticket_id}/", one_ticket)

    async with client_for(app) as client:
        await client.get("/test-only/tickets/42/")
        await client.get("/no/such/path/7")

    routes = [line["route"] for line in events(log_lines(), "request.completed")]
    assert routes == ["/test-only/tickets/{ticket_id}/", "unmatched"]


async def test_a_sane_client_request_id_is_echoed_and_bound_to_every_line(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    log_lines: Callable[[], list[str]],
) -> None:
    app = logged_app(settings, sessionmaker)
    request_id = "gw-2f1c9a.77:retry-1"

    unknown_token = issue_token().token

    async with client_for(app) as client:
        response = await client.get(
            LIST, headers={"X-Request-ID": request_id, **bearer(unknown_token)}
        )

    assert response.status_code == 401
    assert response.headers["X-Request-ID"] == request_id
    parsed = [json.loads(line) for line in log_lines()]
    lines = [line for line in parsed if line["logger"].startswith("app.")]
    assert [line["event"] for line in lines] == [
        "auth.token_rejected",
        "request.completed",
    ]
    assert all(line["request_id"] == request_id for line in lines)


async def test_an_unsafe_or_overlong_request_id_is_replaced_by_a_new_one(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    log_lines: Callable[[], list[str]],
) -> None:
    app = logged_app(settings, sessionmaker)

    async with client_for(app) as client:
        for unsafe in ['x", "user_id": 1', "a" * 129, "<script>"]:
            response = await client.get("/healthz", headers={"X-Request-ID": unsafe})
            echoed = response.headers["X-Request-ID"]
            assert echoed != unsafe
            assert len(echoed) == 32
            assert echoed.isalnum()

    logged = [line["request_id"] for line in events(log_lines(), "request.completed")]
    assert len(logged) == 3
    assert all(len(request_id) == 32 for request_id in logged)


async def test_no_token_or_authorization_header_ever_reaches_the_logs(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    session: AsyncSession,
    log_lines: Callable[[], list[str]],
) -> None:
    user = await make_user(session)
    token = await make_token(session, user)
    unknown = token[:-4] + "AAAA"
    app = logged_app(settings, sessionmaker)

    async with client_for(app) as client:
        accepted = await client.get(LIST, headers=bearer(token))
        rejected = await client.get(LIST, headers=bearer(unknown))
        malformed = await client.get(LIST, headers={"Authorization": "Basic c2VjcmV0"})

    assert [accepted.status_code, rejected.status_code, malformed.status_code] == [
        200,
        401,
        401,
    ]
    output = "\n".join(log_lines())
    assert len(events(output.splitlines(), "request.completed")) == 3
    assert "auth.token_rejected" in output
    secret_part = token.rsplit("_", 1)[1]
    for leaked in (token, unknown, secret_part, unknown.rsplit("_", 1)[1], "c2VjcmV0"):
        assert leaked not in output
    assert "authorization" not in output.lower()
    assert "bearer" not in output.lower()


async def test_an_unexpected_error_is_a_logged_500_problem_with_the_request_id(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    log_lines: Callable[[], list[str]],
) -> None:
    app = logged_app(settings, sessionmaker)

    async def broken() -> None:
        raise RuntimeError("a bug")

    app.add_api_route("/test-only/broken", broken)

    async with client_for(app) as client:
        response = await client.get("/test-only/broken")

    assert response.status_code == 500
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:support-tickets:problem:internal-error"
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    request_id = response.headers["X-Request-ID"]
    lines = log_lines()
    [failure] = events(lines, "request.failed")
    assert failure["request_id"] == request_id
    assert "RuntimeError: a bug" in failure["exception"]
    [access] = events(lines, "request.completed")
    assert access["status"] == 500
    assert access["level"] == "warning"


async def test_console_format_prints_readable_lines(
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    log_lines: Callable[[], list[str]],
) -> None:
    app = logged_app(settings, sessionmaker, log_format="console")

    async with client_for(app) as client:
        await client.get("/healthz", headers={"X-Request-ID": "console-check"})

    [line] = [line for line in log_lines() if "request.completed" in line]
    assert not line.startswith("{")
    assert "route=/healthz" in line
    assert "request_id=console-check" in line
