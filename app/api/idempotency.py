"""The `Idempotency-Key` header of POST routes; rules in services/idempotency.py."""

from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Header, Request, Response

from app.api.deps import CurrentUser, Session
from app.api.responses import json_response
from app.core.errors import AppError, render_app_error
from app.repositories.idempotency import StoredAnswer
from app.services import idempotency as idempotency_service
from app.services.idempotency import Fingerprint

MAX_KEY_LENGTH = 255

IdempotencyKeyHeader = Annotated[
    str | None,
    Header(
        alias="Idempotency-Key",
        min_length=1,
        max_length=MAX_KEY_LENGTH,
        pattern=r"^[\x20-\x7e]+$",
        description="Any unique string (1-255 printable ASCII characters, a "
        "UUID for instance). A retry with the same key, path and body gets the "
        "first answer again, marked `Idempotent-Replayed: true`, for 24 hours; "
        "the same key with another request is a 422, and while the first is "
        "still running a 409 that may be retried.",
    ),
]


def _replay(answer: StoredAnswer) -> Response:
    replayed = {"Idempotent-Replayed": "true"}
    if answer.status_code < 400:
        return json_response(
            answer.body,
            status_code=answer.status_code,
            location=answer.location,
            headers=replayed,
        )
    return Response(
        content=answer.body,
        status_code=answer.status_code,
        media_type="application/problem+json",
        headers=replayed,
    )


class Idempotency:
    """Runs a POST's work once per key; see services/idempotency.py."""

    def __init__(
        self, request: Request, session: Session, user: CurrentUser, key: str | None
    ) -> None:
        self.request = request
        self.session = session
        self.user = user
        self.key = key

    async def run(self, work: Callable[[], Awaitable[Response]]) -> Response:
        if self.key is None:
            return await work()

        scope = self.request.scope
        path = scope["path"].removeprefix(scope.get("root_path", ""))
        fingerprint = Fingerprint.of(
            self.request.method, path, await self.request.body()
        )
        stored = await idempotency_service.claim_key(
            self.session, self.user.user_id, self.key, fingerprint
        )
        if stored is not None:
            return _replay(stored)

        try:
            async with self.session.begin_nested():
                response = await work()
        except AppError as error:
            if error.status_code >= 500:
                raise
            response = render_app_error(error)
        await idempotency_service.remember_answer(
            self.session,
            self.user.user_id,
            self.key,
            fingerprint,
            status_code=response.status_code,
            body=bytes(response.body),
            location=response.headers.get("Location"),
        )
        return response


async def _idempotency(
    request: Request,
    session: Session,
    user: CurrentUser,
    key: IdempotencyKeyHeader = None,
) -> Idempotency:
    return Idempotency(request, session, user, key)


IdempotentPost = Annotated[Idempotency, Depends(_idempotency)]
