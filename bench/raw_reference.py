"""GET /v2/support-tickets/ written the straightforward way, to compare against.

A plain ASGI callable on an asyncpg pool, with no framework and no ORM: look
the bearer token up by its SHA-256, then one statement that counts the
filtered tickets exactly (`count(*)`) and builds the page's JSON in
PostgreSQL (json_build_object/json_agg). It is what a competent engineer
would write without the service's design (no counters, no id-first paging,
no search CTE), on the same database and indexes. It is not slowed down on
purpose: a connection pool, asyncpg's prepared-statement cache, one round
trip for the page. Validation is minimal; it answers the bench's requests
with the same bytes the contract asks for (tests/bench checks it against
the service).

Serve it like the service: `DATABASE_URL=... uvicorn bench.raw_reference:app`.
"""

import hashlib
import json
import os
import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qs, urlencode

import asyncpg

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]

PATHS = ("/v2/support-tickets/", "/v2/support-tickets")
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
BIGINT_MAX = 2**63 - 1
ORDERING_FIELDS = ("id", "created_at", "updated_at", "resolved_at", "status", "reason")

STATUS_LABELS = {
    "OPEN": "Open",
    "UNDER_REVIEW": "Under Review",
    "APPROVED": "Approved",
    "DENIED": "Denied",
    "CANCELLED": "Cancelled",
    "RESOLVED": "Resolved",
}
REASON_LABELS = {
    "INCORRECT_AMOUNT": "Incorrect Amount",
    "WRONG_VEHICLE": "Wrong Vehicle",
    "DUPLICATE_CHARGE": "Duplicate Charge",
    "NOT_MY_TOLL": "Not My Toll",
    "ALREADY_PAID": "Already Paid",
    "OTHER": "Other",
}

FIND_CALLER = """
    SELECT u.is_staff,
           ARRAY(SELECT m.fleet_id FROM fleet_memberships m
                 WHERE m.user_id = u.id) AS fleet_ids
    FROM api_tokens t
    JOIN users u ON u.id = t.user_id
    WHERE t.token_hash = $1
      AND u.is_active
      AND t.revoked_at IS NULL
      AND (t.expires_at IS NULL OR t.expires_at > now())
"""


class BadRequest(Exception):
    pass


def _timestamp(column: str) -> str:
    """UTC, ending in Z, microseconds only when not zero (as DRF wrote them)."""
    utc = f"({column} AT TIME ZONE 'UTC')"
    return (
        f"CASE WHEN date_trunc('second', {column}) = {column} "
        f"""THEN to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS"Z"') """
        f"""ELSE to_char({utc}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') END"""
    )


def _labels(column: str, labels: dict[str, str]) -> str:
    cases = " ".join(f"WHEN '{code}' THEN '{label}'" for code, label in labels.items())
    return f"CASE {column} {cases} END"


def _person(alias: str) -> str:
    return (
        f"json_build_object('id', {alias}.id, 'username', {alias}.username, "
        f"'email', {alias}.email)"
    )


TICKET_JSON = f"""
    json_build_object(
        'id', p.id,
        'created_by', {_person("creator")},
        'status', p.status,
        'status_display', {_labels("p.status", STATUS_LABELS)},
        'reason', p.reason,
        'reason_display', {_labels("p.reason", REASON_LABELS)},
        'resolved_by', CASE WHEN resolver.id IS NOT NULL
                            THEN {_person("resolver")} END,
        'resolved_at', {_timestamp("p.resolved_at")},
        'created_at', {_timestamp("p.created_at")},
        'updated_at', {_timestamp("p.updated_at")},
        'entities', (
            SELECT coalesce(json_agg(json_build_object(
                       'id', e.id, 'entity_type', e.entity_type,
                       'entity_id', e.entity_id) ORDER BY e.id), '[]'::json)
            FROM ticket_entities e WHERE e.ticket_id = p.id),
        'comments', (
            SELECT coalesce(json_agg(json_build_object(
                       'id', c.id, 'author', {_person("author")},
                       'content', c.content, 'sequence', c.sequence,
                       'created_at', {_timestamp("c.created_at")},
                       'updated_at', {_timestamp("c.updated_at")})
                   ORDER BY c.sequence), '[]'::json)
            FROM ticket_comments c JOIN users author ON author.id = c.author_id
            WHERE c.ticket_id = p.id),
        'ticket_type', p.ticket_type,
        'description', p.description,
        'resolution_note', p.resolution_note
    )
"""


class _Params:
    """Positional parameters ($1, $2 ...) collected while the SQL is written."""

    def __init__(self) -> None:
        self.values: list[Any] = []

    def add(self, value: Any) -> str:
        self.values.append(value)
        return f"${len(self.values)}"


def _codes(params: dict[str, list[str]], name: str) -> list[str]:
    return [
        code.strip()
        for value in params.get(name, [])
        for code in value.split(",")
        if code.strip()
    ]


def _number(params: dict[str, list[str]], name: str, default: int) -> int:
    text = (params.get(name) or [""])[-1]
    if not text:
        return default
    if not text.isdigit() or int(text) > BIGINT_MAX:
        raise BadRequest(f"{name} must be a whole number")
    return int(text)


def _order_by(text: str, alias: str) -> str:
    keys: list[tuple[str, bool]] = []
    for item in (part.strip() for part in text.split(",")):
        name = item.removeprefix("-")
        if name in ORDERING_FIELDS and name not in {key for key, _ in keys}:
            keys.append((name, item.startswith("-")))
    keys = keys or [("created_at", True)]
    if all(name != "id" for name, _ in keys):
        keys.append(("id", keys[-1][1]))

    clauses = []
    for name, descending in keys:
        clause = f"{alias}.{name} {'DESC' if descending else 'ASC'}"
        if name == "resolved_at":
            clause += " NULLS LAST"
        clauses.append(clause)
    return ", ".join(clauses)


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _where(
    params: dict[str, list[str]], visible_fleets: list[int] | None, sql: _Params
) -> str:
    conditions = ["true"]
    if visible_fleets is not None:
        conditions.append(f"t.fleet_id = ANY({sql.add(visible_fleets)}::bigint[])")
    fleet = _number(params, "fleet", 0)
    if fleet:
        conditions.append(f"t.fleet_id = {sql.add(fleet)}")
    if statuses := _codes(params, "status"):
        conditions.append(f"t.status = ANY({sql.add(statuses)}::text[])")
    if reasons := _codes(params, "reason"):
        conditions.append(f"t.reason = ANY({sql.add(reasons)}::text[])")

    search = (params.get("search") or [""])[-1]
    for term in (word for word in re.split(r"[\s,]+", search) if word):
        pattern = sql.add(_like(term))
        matches = [
            f"t.description ILIKE {pattern}",
            f"t.resolution_note ILIKE {pattern}",
            f"EXISTS (SELECT 1 FROM users cu WHERE cu.id = t.created_by_id "
            f"AND (cu.username ILIKE {pattern} OR cu.email ILIKE {pattern}))",
            f"EXISTS (SELECT 1 FROM ticket_comments tc WHERE tc.ticket_id = t.id "
            f"AND tc.content ILIKE {pattern})",
        ]
        if term.isdigit() and int(term) <= BIGINT_MAX:
            matches.append(f"t.id = {sql.add(int(term))}")
        conditions.append("(" + " OR ".join(matches) + ")")
    return " AND ".join(conditions)


def page_statement(
    params: dict[str, list[str]], visible_fleets: list[int] | None
) -> tuple[str, list[Any], int, int]:
    """The SQL and arguments of one page, with its limit and offset."""
    limit = min(_number(params, "limit", DEFAULT_LIMIT) or DEFAULT_LIMIT, MAX_LIMIT)
    offset = _number(params, "offset", 0)
    ordering = (params.get("ordering") or [""])[-1]

    sql = _Params()
    where = _where(params, visible_fleets, sql)
    statement = f"""
        WITH page AS (
            SELECT t.* FROM support_tickets t
            WHERE {where}
            ORDER BY {_order_by(ordering, "t")}
            LIMIT {sql.add(limit)} OFFSET {sql.add(offset)}
        )
        SELECT
            (SELECT count(*) FROM support_tickets t WHERE {where}) AS total,
            (SELECT coalesce(json_agg({TICKET_JSON}
                                      ORDER BY {_order_by(ordering, "p")}),
                             '[]'::json)
             FROM page p
             JOIN users creator ON creator.id = p.created_by_id
             LEFT JOIN users resolver ON resolver.id = p.resolved_by_id
            )::text AS results
    """
    return statement, sql.values, limit, offset


def _link(
    base: str, params: dict[str, list[str]], replace: dict[str, int], drop: str = ""
) -> str:
    kept = {name: values for name, values in params.items() if name != drop}
    kept.update({name: [str(value)] for name, value in replace.items()})
    return f"{base}?{urlencode(sorted(kept.items()), doseq=True)}"


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope["headers"]:
        if key == name:
            return str(value.decode("latin-1"))
    return None


class RawReference:
    """The ASGI application; the pool is made at lifespan start-up."""

    def __init__(self, dsn: str, pool_size: int = 10) -> None:
        self.dsn = dsn
        self.pool_size = pool_size
        self.pool: asyncpg.Pool | None = None

    async def startup(self) -> None:
        self.pool = await asyncpg.create_pool(
            self.dsn,
            min_size=self.pool_size,
            max_size=self.pool_size,
            server_settings={"application_name": "bench-raw-reference"},
        )

    async def shutdown(self) -> None:
        if self.pool is not None:
            await self.pool.close()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self._lifespan(receive, send)
        elif scope["type"] == "http":
            status, body = await self._answer(scope)
            await send(
                {
                    "type": "http.response.start",
                    "status": status,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", str(len(body)).encode()),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": body})

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await self.startup()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _answer(self, scope: Scope) -> tuple[int, bytes]:
        if scope["method"] != "GET" or scope["path"] not in PATHS:
            return 404, b'{"detail":"Not found."}'
        scheme, _, token = (_header(scope, b"authorization") or "").partition(" ")
        if scheme.lower() != "bearer" or not token:
            return 401, b'{"detail":"Authentication credentials were not provided."}'
        params = parse_qs(scope["query_string"].decode(), keep_blank_values=True)
        assert self.pool is not None

        async with self.pool.acquire() as connection:
            caller = await connection.fetchrow(
                FIND_CALLER, hashlib.sha256(token.strip().encode()).digest()
            )
            if caller is None:
                return 401, b'{"detail":"Invalid token."}'
            visible = None if caller["is_staff"] else list(caller["fleet_ids"])
            try:
                statement, args, limit, offset = page_statement(params, visible)
            except BadRequest as error:
                return 400, json.dumps({"detail": str(error)}).encode()
            row = await connection.fetchrow(statement, *args)

        host = _header(scope, b"host") or "localhost"
        base = f"{scope.get('scheme', 'http')}://{host}{scope['path']}"
        count = row["total"]
        following = None
        if offset + limit < count:
            following = _link(base, params, {"limit": limit, "offset": offset + limit})
        preceding = None
        if offset > 0 and offset - limit <= 0:
            preceding = _link(base, params, {"limit": limit}, drop="offset")
        elif offset > 0:
            preceding = _link(base, params, {"limit": limit, "offset": offset - limit})
        body = (
            f'{{"count":{count},"next":{json.dumps(following)},'
            f'"previous":{json.dumps(preceding)},"results":{row["results"]}}}'
        )
        return 200, body.encode()


def _from_environment() -> RawReference:
    url = os.environ.get("DATABASE_URL", "")
    # The service's URLs may name a SQLAlchemy driver; asyncpg wants plain.
    return RawReference(re.sub(r"^postgresql\+\w+://", "postgresql://", url))


app = _from_environment()
