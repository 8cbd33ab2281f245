"""A router whose paths answer with and without their trailing slash."""

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter


class SlashTolerantRouter(APIRouter):
    """Registers `/x/` and `/x` for every route; only `/x/` is documented.

    The replaced system's clients call both spellings; neither may redirect,
    since a redirect drops the Authorization header in many clients.
    """

    def add_api_route(
        self, path: str, endpoint: Callable[..., Any], **kwargs: Any
    ) -> None:
        super().add_api_route(path, endpoint, **kwargs)
        if path.endswith("/") and len(self.prefix + path) > 1:
            alternate = {**kwargs, "include_in_schema": False}
            alternate.pop("operation_id", None)
            super().add_api_route(path.rstrip("/"), endpoint, **alternate)
