"""Answers of the ticket list, kept per worker and reused while provably current.

A list answer depends on the request (the public URL: scheme, host, prefix,
path and query string), on what the caller may see (staff, or which fleets)
and on the tickets of those fleets. The database raises a version per fleet
in the transaction of every change to its tickets (TicketListVersion), and
the token lookup reads, in the same statement, the version of the fleet the
list is filtered to, or else the sum of the versions of every fleet the
caller sees. An answer is kept with the version read *before* it was
computed; it is reused only when a later lookup reads the same version,
which proves that no change to those fleets committed since, so the answer
is what the full path would send now, byte for byte.

This layer answers only that proven case and hands everything else to the
app unchanged: a missing or malformed token, one the app would refuse, an
unseen request, a changed version. The app's answer to a GET of the list by
an accepted token is kept when it is a 200, and the token's row is handed
to it so that it is not read twice. Identical requests arriving while one
of them is computed wait for it rather than repeating the work (a search
over a million tickets costs the database seconds).

It runs inside the request log, metrics, CORS and security headers, so a
reused answer is logged, counted and decorated like any other.
"""

import asyncio
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncEngine
from starlette.datastructures import Headers, QueryParams
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.core.clock import utc_now
from app.core.errors import NotAuthenticated
from app.core.http_policy import app_path
from app.core.queries import ResultRow
from app.core.request_log import record_user
from app.core.security import hash_token
from app.repositories.credentials import (
    find_credentials_with_list_version,
    record_token_use,
)
from app.schemas.ticket_query import BIGINT_MAX
from app.services.auth import (
    LOOKED_UP_CREDENTIALS,
    Principal,
    accepted_principal,
    bearer_token,
    is_use_stamp_stale,
)

LIST_PATHS = frozenset({"/v2/support-tickets/", "/v2/support-tickets"})
# A single answer may take at most this share of the cache.
_LARGEST_SHARE = 8
# What an entry costs besides its body (key, headers, bookkeeping), counted
# so that many small answers cannot outgrow the limit.
_ENTRY_OVERHEAD = 1024


@dataclass(frozen=True, slots=True)
class KeptAnswer:
    """A 200 of the list as the app sent it, and the version it was read at."""

    list_version: int
    start: Message
    body: bytes
    route: Any  # the route that computed it, for the log line and metrics

    @property
    def size(self) -> int:
        return len(self.body) + _ENTRY_OVERHEAD


def _cache_key(
    scope: Scope, is_staff: bool, fleet_ids: frozenset[int]
) -> tuple[Any, ...]:
    host = next((value for name, value in scope["headers"] if name == b"host"), None)
    return (
        scope["scheme"],
        host if host is not None else scope.get("server"),
        scope.get("root_path", ""),
        scope["path"],
        scope["query_string"],
        is_staff,
        None if is_staff else tuple(sorted(fleet_ids)),
    )


def _fleet_filter(scope: Scope) -> int | None:
    """The fleet the list is filtered to, when the query names exactly one.

    Read with Starlette's own parser, as the route reads it. Anything else
    (no fleet, a blank one, several, not plain digits) counts as no filter:
    the versions of everything the caller sees are then checked, which
    covers whatever fleet the route makes of it.
    """
    values = QueryParams(scope["query_string"]).getlist("fleet")
    if len(values) != 1 or not (values[0].isascii() and values[0].isdigit()):
        return None
    fleet_id = int(values[0])
    return fleet_id if 1 <= fleet_id <= BIGINT_MAX else None


def _bearer_token(scope: Scope) -> str | None:
    """The token of a well-formed `Authorization: Bearer` header, else None.

    Anything else goes to the app, which tells the caller what is wrong.
    """
    try:
        return bearer_token(Headers(scope=scope).get("authorization"))
    except NotAuthenticated:
        return None


class ListAnswerCache:
    """The kept answers of one worker: least recently used go first."""

    def __init__(self, engine: AsyncEngine, *, max_bytes: int, wait_seconds: float):
        # Lookups run outside any transaction: one statement, no BEGIN.
        self.engine = engine.execution_options(isolation_level="AUTOCOMMIT")
        self.max_bytes = max_bytes
        self.wait_seconds = wait_seconds
        self._answers: OrderedDict[tuple[Any, ...], KeptAnswer] = OrderedDict()
        self._bytes = 0
        self._computing: dict[tuple[Any, ...], asyncio.Event] = {}
        # Read by /metrics.
        self.reused = 0
        self.computed = 0

    @property
    def size_bytes(self) -> int:
        return self._bytes

    @property
    def entries(self) -> int:
        return len(self._answers)

    def get(self, key: tuple[Any, ...], list_version: int) -> KeptAnswer | None:
        answer = self._answers.get(key)
        if answer is None or answer.list_version != list_version:
            return None
        self._answers.move_to_end(key)
        return answer

    def put(self, key: tuple[Any, ...], answer: KeptAnswer) -> None:
        if answer.size * _LARGEST_SHARE > self.max_bytes:
            return
        kept = self._answers.pop(key, None)
        if kept is not None:
            self._bytes -= kept.size
            if kept.list_version > answer.list_version:
                answer = kept  # a later computation finished first
        self._answers[key] = answer
        self._bytes += answer.size
        while self._bytes > self.max_bytes:
            _, evicted = self._answers.popitem(last=False)
            self._bytes -= evicted.size

    async def wait_for_computation(self, key: tuple[Any, ...]) -> None:
        """Until an identical request that is being computed has finished."""
        computing = self._computing.get(key)
        if computing is None:
            return
        try:
            await asyncio.wait_for(computing.wait(), self.wait_seconds)
        except TimeoutError:
            return

    def start_computing(self, key: tuple[Any, ...]) -> asyncio.Event | None:
        if key in self._computing:
            return None
        done = self._computing[key] = asyncio.Event()
        return done

    def finish_computing(self, key: tuple[Any, ...], done: asyncio.Event) -> None:
        del self._computing[key]
        done.set()


class ListCacheMiddleware:
    """Answers GETs of the ticket list from the app's cache when it can."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        cache = _cache_of(scope)
        token = _bearer_token(scope) if cache is not None else None
        if cache is None or token is None:
            await self.app(scope, receive, send)
            return

        try:
            found, principal = await _authenticate(cache, token, _fleet_filter(scope))
        except Exception as error:  # answered as the app would answer it
            await _answer_error(scope, receive, send, error)
            return

        if found is not None:
            scope.setdefault("state", {})[LOOKED_UP_CREDENTIALS] = found
        if found is None or principal is None:
            await self.app(scope, receive, send)
            return

        key = _cache_key(scope, principal.is_staff, principal.fleet_ids)
        await cache.wait_for_computation(key)
        answer = cache.get(key, found.list_version)
        if answer is not None:
            cache.reused += 1
            record_user(Request(scope), principal.user_id)
            scope["route"] = answer.route
            await send({**answer.start, "headers": list(answer.start["headers"])})
            await send({"type": "http.response.body", "body": answer.body})
            return

        await self._compute(cache, key, found.list_version, scope, receive, send)

    async def _compute(
        self,
        cache: ListAnswerCache,
        key: tuple[Any, ...],
        list_version: int,
        scope: Scope,
        receive: Receive,
        send: Send,
    ) -> None:
        """Let the app answer, keeping a complete 200 under `list_version`."""
        start: Message | None = None
        chunks: list[bytes] = []
        complete = False

        async def send_and_keep(message: Message) -> None:
            nonlocal start, complete
            if message["type"] == "http.response.start":
                # Outer layers add their headers to the message they are
                # sent (a request id among them): keep the app's own.
                start = {**message, "headers": list(message.get("headers", []))}
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                complete = not message.get("more_body", False)
            await send(message)

        cache.computed += 1
        done = cache.start_computing(key)
        try:
            await self.app(scope, receive, send_and_keep)
        finally:
            if done is not None:
                cache.finish_computing(key, done)
        if start is not None and start["status"] == 200 and complete:
            body = b"".join(chunks)
            cache.put(key, KeptAnswer(list_version, start, body, scope.get("route")))


async def _authenticate(
    cache: ListAnswerCache, token: str, fleet_id: int | None
) -> tuple[ResultRow | None, Principal | None]:
    """The token's row with the list version, and its principal if accepted.

    The version is that of `fleet_id` for a list filtered to that fleet, so
    that writes to other fleets leave its answers current.

    An accepted token due for its use stamp is stamped here, at once: left
    to the app, the stamp would commit only when a whole answer had been
    computed, and every request meanwhile would find it due as well.
    """
    async with cache.engine.connect() as connection:
        found = await find_credentials_with_list_version(
            connection, hash_token(token), fleet_id
        )
        now = utc_now()
        principal = accepted_principal(found, now)
        if (
            found is not None
            and principal is not None
            and is_use_stamp_stale(found.last_used_at, now)
        ):
            await record_token_use(connection, found.token_id)
    return found, principal


def _cache_of(scope: Scope) -> ListAnswerCache | None:
    """The app's cache for a GET of the list; None for any other request."""
    if scope["type"] != "http" or scope["method"] != "GET":
        return None
    if app_path(scope) not in LIST_PATHS:
        return None
    cache: ListAnswerCache | None = getattr(scope["app"].state, "list_cache", None)
    return cache


async def _answer_error(
    scope: Scope, receive: Receive, send: Send, error: Exception
) -> None:
    """The app's own answer to an error (a 503 for an unavailable database)."""
    handlers = scope["app"].exception_handlers
    handler = next(
        (handlers[kind] for kind in type(error).__mro__ if kind in handlers), None
    )
    if handler is None:
        raise error
    response = await handler(Request(scope, receive), error)
    await response(scope, receive, send)
