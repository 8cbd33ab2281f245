"""The explorer in a real browser, with every other host out of reach.

Uses Debian's Chromium (/usr/bin/chromium, installed by .ci/install-browser)
through Playwright; Playwright's own browser downloads are never used.
"""

import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.async_api import ConsoleMessage, Page, Route, async_playwright

from app.core.migrations import PROJECT_ROOT
from tests.operations.helpers import DEMO_TICKETS, DemoDatabase
from tests.operations.live import LiveServer, live_server

CHROMIUM = Path("/usr/bin/chromium")
OUTPUT = PROJECT_ROOT / "test-output"
# As root Chromium needs --no-sandbox; the rest keep it from calling home,
# which this machine's closed network would refuse many times over.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-gpu",
]

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="no browser: Debian's chromium is not installed at /usr/bin/chromium "
        "(.ci/install-browser installs it; this test installs nothing)",
    ),
]


@pytest.fixture
def server(demo_database: DemoDatabase, tmp_path: Path) -> Iterator[LiveServer]:
    with live_server(demo_database.url, tmp_path / "server.log") as running:
        yield running


class Offline:
    """Lets requests reach the service only; notes every other one it blocks."""

    def __init__(self, service_url: str) -> None:
        self.service = urlsplit(service_url).netloc
        self.blocked: list[str] = []
        self.console_errors: list[str] = []

    async def route(self, route: Route) -> None:
        if urlsplit(route.request.url).netloc == self.service:
            await route.continue_()
        else:
            self.blocked.append(route.request.url)
            await route.abort()

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.console_errors.append(message.text)


async def authorize(page: Page, token: str) -> None:
    await page.get_by_role("button", name="Authorize").first.click()
    dialog = page.locator(".modal-ux")
    await dialog.get_by_label("auth-bearer-value").fill(token)
    await dialog.get_by_role("button", name="Apply credentials").click()
    # Swagger UI swaps the button for "Logout" once it holds the token.
    await dialog.locator("button", has_text="Logout").wait_for()
    await dialog.get_by_role("button", name="Close").click()


async def test_swagger_ui_lists_authorizes_and_runs_the_ticket_list_offline(
    server: LiveServer, demo_database: DemoDatabase
) -> None:
    OUTPUT.mkdir(exist_ok=True)
    offline = Offline(server.base_url)

    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS
        )
        context = await browser.new_context(viewport={"width": 1280, "height": 1600})
        await context.route("**/*", offline.route)
        page = await context.new_page()
        page.on("console", offline.console)

        await page.goto(server.base_url + "/docs")
        operation = page.locator(
            ".opblock-get .opblock-summary-path[data-path='/v2/support-tickets/']"
        )
        await operation.wait_for()
        await authorize(page, demo_database.token)
        await operation.click()
        await page.get_by_role("button", name="Try it out").click()
        async with page.expect_response(
            lambda response: "/v2/support-tickets/" in response.url
        ) as answer:
            await page.get_by_role("button", name="Execute").click()
        response = await answer.value
        request_headers = await response.request.all_headers()
        body = await response.json()
        shown = page.locator(".live-responses-table tbody .response-col_status")
        await shown.first.wait_for()
        shown_status = await shown.first.inner_text()
        await page.screenshot(path=OUTPUT / "docs-swagger-ui.png", full_page=True)
        swagger_errors = list(offline.console_errors)
        offline.console_errors.clear()

        await page.goto(server.base_url + "/redoc")
        await page.get_by_role("heading", name="List support tickets").wait_for()
        await page.screenshot(path=OUTPUT / "docs-redoc.png")
        await browser.close()

    assert response.status == 200
    assert request_headers["authorization"] == f"Bearer {demo_database.token}"
    assert body["count"] == DEMO_TICKETS
    assert len(body["results"]) == DEMO_TICKETS
    assert shown_status.strip() == "200"
    assert offline.blocked == []
    assert swagger_errors == []
    # ReDoc's sidebar links its maker's logo on a CDN; the page's policy
    # refuses it before any request is made. Nothing else may fail.
    assert all(
        "cdn.redoc.ly" in error and "Content Security Policy" in error
        for error in offline.console_errors
    )
    access = [json.loads(line) for line in server.log_text().splitlines()]
    assert any(
        line.get("route") == "/v2/support-tickets/" and line.get("status") == 200
        for line in access
    )
