"""Security headers, CORS only when configured, and the request body limit."""

from collections.abc import AsyncIterator

from fastapi import FastAPI, Request

from app.core.settings import Settings
from app.main import create_app
from tests.operations.helpers import client_for

LIST = "/v2/support-tickets/"
ECHO = "/test-only/echo"
LIMIT = 2048


async def echo_length(request: Request) -> dict[str, int]:
    """Reads the whole body, as every route with a JSON body does."""
    return {"received": len(await request.body())}


def app_for(settings: Settings, **overrides: object) -> FastAPI:
    app = create_app(
        Settings(database_url=settings.database_url, **overrides)  # type: ignore[arg-type]
    )
    # Mounted by the test only: the shipped app has no such route.
    app.add_api_route(ECHO, echo_length, methods=["POST"])
    return app


async def test_api_answers_carry_security_headers_and_are_never_cached(
    settings: Settings,
) -> None:
    async with client_for(app_for(settings)) as client:
        response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert csp == "default-src 'none'; frame-ancestors 'none'"


async def test_explorer_pages_load_their_own_assets_under_their_policy(
    settings: Settings,
) -> None:
    async with client_for(app_for(settings)) as client:
        docs = await client.get("/docs")
        redoc = await client.get("/redoc")
        script = await client.get("/explorer-assets/swagger-ui-bundle.js")

    for page in (docs, redoc):
        assert page.status_code == 200
        csp = page.headers["Content-Security-Policy"]
        assert "default-src 'self'" in csp
        assert "frame-ancestors 'none'" in csp
        assert "https://" not in page.text
    assert '"/explorer-assets/swagger-ui-bundle.js"' in docs.text
    assert '"/explorer-assets/redoc.standalone.js"' in redoc.text
    assert script.status_code == 200
    assert script.headers["Cache-Control"] == "no-cache"
    assert "SwaggerUIBundle" in script.text


async def test_cors_is_off_unless_origins_are_configured(settings: Settings) -> None:
    preflight = {
        "Origin": "https://fleet.example.com",
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
    }

    async with client_for(app_for(settings)) as client:
        closed = await client.options(LIST, headers=preflight)
        simple = await client.get("/healthz", headers={"Origin": preflight["Origin"]})

    assert "access-control-allow-origin" not in closed.headers
    assert "access-control-allow-origin" not in simple.headers


async def test_cors_answers_the_configured_origins_only(settings: Settings) -> None:
    app = app_for(settings, cors_allowed_origins="https://fleet.example.com")
    request_headers = {
        "Access-Control-Request-Method": "GET",
        "Access-Control-Request-Headers": "Authorization",
    }

    async with client_for(app) as client:
        allowed = await client.options(
            LIST, headers={"Origin": "https://fleet.example.com", **request_headers}
        )
        refused = await client.options(
            LIST, headers={"Origin": "https://evil.example.net", **request_headers}
        )
        error = await client.get(
            "/no-such-page", headers={"Origin": "https://fleet.example.com"}
        )

    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "https://fleet.example.com"
    assert "authorization" in allowed.headers["access-control-allow-headers"].lower()
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
    assert error.status_code == 404
    assert error.headers["access-control-allow-origin"] == "https://fleet.example.com"
    assert "X-Request-ID" in error.headers["access-control-expose-headers"]


async def test_a_body_declared_over_the_limit_is_refused_before_the_route_runs(
    settings: Settings,
) -> None:
    app = app_for(settings, max_request_body_bytes=LIMIT)

    async with client_for(app) as client:
        refused = await client.post(ECHO, content=b"x" * (LIMIT + 1))
        accepted = await client.post(ECHO, content=b"x" * LIMIT)

    assert refused.status_code == 413
    assert refused.headers["content-type"] == "application/problem+json"
    assert refused.json() == {
        "type": "urn:support-tickets:problem:content-too-large",
        "title": "Content too large",
        "status": 413,
        "detail": f"The request body exceeds the limit of {LIMIT} bytes.",
    }
    assert "X-Request-ID" in refused.headers
    assert accepted.json() == {"received": LIMIT}


async def test_a_chunked_body_without_length_is_cut_off_at_the_limit(
    settings: Settings,
) -> None:
    app = app_for(settings, max_request_body_bytes=LIMIT)
    sent: list[int] = []

    async def chunks() -> AsyncIterator[bytes]:
        for _ in range(100):
            sent.append(1024)
            yield b"x" * 1024

    async with client_for(app) as client:
        response = await client.post(ECHO, content=chunks())

    assert response.status_code == 413
    assert response.json()["detail"] == (
        f"The request body exceeds the limit of {LIMIT} bytes."
    )
    assert response.headers["content-type"] == "application/problem+json"
    # Reading stopped at the limit instead of taking all 100 KiB.
    assert len(sent) <= LIMIT // 1024 + 1
