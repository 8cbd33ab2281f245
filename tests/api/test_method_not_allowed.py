"""A method a path does not serve: 405 naming every method it does serve."""

import httpx
import pytest

from app.core.errors import PROBLEM_MEDIA_TYPE

ALLOWED = {
    "/v2/support-tickets/": "GET, POST",
    "/v2/support-tickets/1/": "GET, PATCH",
    "/v2/support-tickets/1/transitions/": "POST",
    "/v2/support-tickets/1/comments/": "GET, POST",
    "/v2/support-tickets/1/comments/2/": "PATCH",
    "/v2/support-tickets/1/events/": "GET",
}


@pytest.mark.parametrize("method", ["DELETE", "PUT", "OPTIONS", "HEAD", "TRACE"])
@pytest.mark.parametrize("path", list(ALLOWED))
@pytest.mark.parametrize("slash", [True, False], ids=["slash", "no-slash"])
async def test_unsupported_method_lists_every_allowed_one(
    client: httpx.AsyncClient, path: str, method: str, slash: bool
) -> None:
    target = path if slash else path.rstrip("/")

    response = await client.request(method, target)

    assert response.status_code == 405
    assert response.headers["Allow"] == ALLOWED[path]
    if method != "HEAD":
        assert response.headers["Content-Type"] == PROBLEM_MEDIA_TYPE
        assert response.json()["status"] == 405
        assert ALLOWED[path] in response.json()["detail"]
