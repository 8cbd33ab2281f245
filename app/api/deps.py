"""Typed dependencies, so that route signatures read as sentences."""

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.database import open_session
from app.core.request_log import record_user
from app.core.settings import Settings
from app.services.auth import LOOKED_UP_CREDENTIALS, Principal, authenticate

# Declares the scheme for OpenAPI ("Authorize" in /docs); the header itself is
# read below so that a missing and a malformed header can be told apart.
bearer_scheme = HTTPBearer(
    auto_error=False,
    description="`Authorization: Bearer <token>`; tokens come from the admin CLI.",
)


async def _session(request: Request) -> AsyncIterator[AsyncSession]:
    state = request.app.state
    async with open_session(state.sessionmaker, state.connection_waits) as session:
        yield session


# scope="function": the transaction ends when the route returns, before the
# response is sent, so that a failed commit still becomes an error answer
# instead of a success followed by a broken connection.
Session = Annotated[AsyncSession, Depends(_session, scope="function")]


# Dependencies are coroutines even where they await nothing: FastAPI runs a
# plain function in a worker thread, a hand-off on every request.
async def _settings(request: Request) -> Settings:
    """The settings the app was created with (tests create apps with theirs)."""
    settings: Settings = request.app.state.settings
    return settings


AppSettings = Annotated[Settings, Depends(_settings)]


async def _current_user(
    request: Request,
    session: Session,
    _declared: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer_scheme)],
) -> Principal:
    principal = await authenticate(
        session,
        request.headers.get("Authorization"),
        getattr(request.state, LOOKED_UP_CREDENTIALS, None),
    )
    record_user(request, principal.user_id)
    return principal


CurrentUser = Annotated[Principal, Depends(_current_user)]
