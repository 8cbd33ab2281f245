"""Who may do what: every role against every endpoint, one test per cell.

The object is an OPEN ticket of one fleet, opened by its creator, with one
comment by the creator. Each cell sends a valid request, so the status is
the authorization's answer alone. A refused write leaves every row of the
workflow's tables as it was; another fleet's object answers byte for byte
like one that does not exist.
"""

from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.clock import utc_now
from app.core.errors import PROBLEM_MEDIA_TYPE
from tests.cast import make_cast
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user

TICKETS = "/v2/support-tickets/"
MISSING = 987654321

ROLES = (
    "staff",
    "fleet member",
    "other fleet's member",
    "creator",
    "inactive user",
    "revoked token",
    "expired token",
    "no token",
)


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {ticket}, {comment} and {fleet} are filled in per request
    body: dict[str, object] | None = None

    @property
    def writes(self) -> bool:
        return self.method != "GET"


ENDPOINTS = {
    "list tickets": Endpoint("GET", TICKETS),
    "open a ticket": Endpoint(
        "POST",
        TICKETS,
        {
            "fleet": "{fleet}",
            "reason": "OTHER",
            "description": "Charged for a bridge I never crossed.",
            "entities": [{"entity_type": "toll_charge", "entity_id": 777001}],
        },
    ),
    "read a ticket": Endpoint("GET", TICKETS + "{ticket}/"),
    "edit a ticket": Endpoint(
        "PATCH", TICKETS + "{ticket}/", {"description": "Now with the receipt."}
    ),
    "cancel a ticket": Endpoint(
        "POST", TICKETS + "{ticket}/transitions/", {"to": "CANCELLED"}
    ),
    "list comments": Endpoint("GET", TICKETS + "{ticket}/comments/"),
    "add a comment": Endpoint(
        "POST", TICKETS + "{ticket}/comments/", {"content": "Any news?"}
    ),
    "edit a comment": Endpoint(
        "PATCH", TICKETS + "{ticket}/comments/{comment}/", {"content": "Edited."}
    ),
    "read the history": Endpoint("GET", TICKETS + "{ticket}/events/"),
}

# fmt: off
EXPECTED = {
    #                   staff fleet other creator inactive revoked expired none
    "list tickets":     (200, 200,  200,  200,    401,     401,    401,    401),
    # Another fleet is the same 422 on `fleet` as a fleet that does not exist.
    "open a ticket":    (201, 201,  422,  201,    401,     401,    401,    401),
    "read a ticket":    (200, 200,  404,  200,    401,     401,    401,    401),
    "edit a ticket":    (200, 403,  404,  200,    401,     401,    401,    401),
    "cancel a ticket":  (200, 403,  404,  200,    401,     401,    401,    401),
    "list comments":    (200, 200,  404,  200,    401,     401,    401,    401),
    "add a comment":    (201, 201,  404,  201,    401,     401,    401,    401),
    "edit a comment":   (403, 403,  404,  200,    401,     401,    401,    401),
    "read the history": (200, 200,  404,  200,    401,     401,    401,    401),
}
# fmt: on

CELLS = [
    pytest.param(endpoint, role, status, id=f"{endpoint} | {role}")
    for endpoint, statuses in EXPECTED.items()
    for role, status in zip(ROLES, statuses, strict=True)
]

# Everything a write could touch; api_tokens is left out, since a request
# stamps its token's last use whatever it is refused for.
SNAPSHOT_TABLES = (
    "support_tickets",
    "ticket_entities",
    "ticket_comments",
    "ticket_events",
    "ticket_counters",
    "idempotency_records",
    "fleets",
    "fleet_memberships",
    "users",
)


@dataclass(frozen=True)
class Scene:
    headers: dict[str, dict[str, str]]  # by role
    ticket: int
    comment: int
    fleet: int
    other_ticket: int  # a ticket of another fleet
    other_comment: int
    other_fleet: int


async def make_scene(session: AsyncSession) -> Scene:
    cast = await make_cast(session)
    ticket = await cast.ticket(session, comments=[(cast.creator.user, "Hello.")])
    inactive = await make_user(session, active=False, fleets=[cast.fleet])
    past = utc_now() - timedelta(minutes=1)
    third_fleet = await make_fleet(session)
    stranger = await make_user(session, fleets=[third_fleet])
    other_ticket = await make_ticket(
        session, third_fleet, stranger, comments=[(stranger, "Elsewhere.")]
    )
    await session.flush()
    comment = await _first_comment(session, ticket.id)
    other_comment = await _first_comment(session, other_ticket.id)
    return Scene(
        headers={
            "staff": cast.staff.headers,
            "fleet member": cast.colleague.headers,
            "other fleet's member": cast.outsider.headers,
            "creator": cast.creator.headers,
            "inactive user": bearer(await make_token(session, inactive)),
            "revoked token": bearer(
                await make_token(session, cast.creator.user, revoked_at=past)
            ),
            "expired token": bearer(
                await make_token(session, cast.creator.user, expires_at=past)
            ),
            "no token": {},
        },
        ticket=ticket.id,
        comment=comment,
        fleet=cast.fleet.id,
        other_ticket=other_ticket.id,
        other_comment=other_comment,
        other_fleet=third_fleet.id,
    )


async def _first_comment(session: AsyncSession, ticket_id: int) -> int:
    comment_id: int = await session.scalar(
        text("SELECT min(id) FROM ticket_comments WHERE ticket_id = :ticket"),
        {"ticket": ticket_id},
    )
    return comment_id


async def snapshot(session: AsyncSession) -> dict[str, list[object]]:
    """Every row of the tables a write could change, in a stable order."""
    rows = {}
    for table in SNAPSHOT_TABLES:
        rows[table] = list(
            await session.scalars(
                text(
                    f"SELECT to_jsonb(t)::text FROM {table} AS t "
                    "ORDER BY to_jsonb(t)::text"
                )
            )
        )
    return rows


def _fill(value: object, ticket: int, comment: int, fleet: int) -> object:
    if value == "{fleet}":
        return fleet
    if isinstance(value, dict):
        return {k: _fill(v, ticket, comment, fleet) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, ticket, comment, fleet) for v in value]
    return value


async def send(
    client: httpx.AsyncClient,
    endpoint: Endpoint,
    headers: dict[str, str],
    *,
    ticket: int,
    comment: int,
    fleet: int,
) -> httpx.Response:
    path = endpoint.path.format(ticket=ticket, comment=comment)
    body = _fill(endpoint.body, ticket, comment, fleet)
    return await client.request(
        endpoint.method,
        path,
        json=body if endpoint.body is not None else None,
        headers=headers,
    )


@pytest.mark.parametrize(("endpoint", "role", "status"), CELLS)
async def test_authorization_cell(
    client: httpx.AsyncClient,
    session: AsyncSession,
    endpoint: str,
    role: str,
    status: int,
) -> None:
    scene = await make_scene(session)
    target = ENDPOINTS[endpoint]
    before = await snapshot(session)

    response = await send(
        client,
        target,
        scene.headers[role],
        ticket=scene.ticket,
        comment=scene.comment,
        fleet=scene.fleet,
    )

    assert response.status_code == status, response.text
    if status >= 400:
        assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
        assert response.json()["status"] == status
    if status == 401:
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
    if target.writes:
        # A refused write leaves no trace; an accepted one shows in the
        # snapshot, which proves the comparison can see a change.
        assert (await snapshot(session) == before) == (status >= 400)


def _comparable(response: httpx.Response) -> tuple[int, bytes, dict[str, str]]:
    headers = {
        name: value
        for name, value in response.headers.items()
        if name != "x-request-id"
    }
    return response.status_code, response.content, headers


@pytest.mark.parametrize(
    "endpoint", [name for name in ENDPOINTS if name != "list tickets"]
)
async def test_another_fleets_object_answers_like_a_missing_one(
    client: httpx.AsyncClient, session: AsyncSession, endpoint: str
) -> None:
    scene = await make_scene(session)
    target = ENDPOINTS[endpoint]
    headers = scene.headers["fleet member"]

    others = await send(
        client,
        target,
        headers,
        ticket=scene.other_ticket,
        comment=scene.other_comment,
        fleet=scene.other_fleet,
    )
    missing = await send(
        client, target, headers, ticket=MISSING, comment=MISSING, fleet=MISSING
    )

    assert others.status_code in {404, 422}
    assert _comparable(others) == _comparable(missing)
