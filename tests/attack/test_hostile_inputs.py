"""Inputs PostgreSQL refuses never reach it: each is a clear 4xx, never a 500.

Every endpoint gets, in every place it reads (path, query, headers, body):
NUL characters, integers past the columns' types (int4 entity ids, bigint
ids, 10**30), bytes that are not UTF-8, and strings past their limits. They
are sent over a plain socket to a real server, byte for byte.

Expected answers:
- 422 problem+json naming the input, for almost everything: the service
  checks each value before any query runs.
- 404 for an id past int4 that is still a valid id (2**31): nothing has it.
- 401 for a malformed Authorization header: one answer for any bad token.
- 400 from the HTTP server itself (uvicorn, plain text, before the service
  sees the request) for a NUL in a header: HTTP forbids it in field values.
"""

import json
from dataclasses import dataclass, field

import pytest

from app.core.errors import PROBLEM_MEDIA_TYPE
from tests.attack.raw_http import RawResponse, send_raw
from tests.operations.live import LiveServer
from tests.population import Population

pytestmark = pytest.mark.slow

TICKET = 1  # seeded: of the first fleet, with comments 1 and 2
COMMENT = 1
INT4_OVERFLOW = str(2**31)
INT8_OVERFLOW = str(2**63)
HUGE = "1" + "0" * 30
LONG = "x" * 5000


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str  # {ticket_id} and {comment_id} are filled in
    query: tuple[str, ...] = ()
    body: dict[str, object] | None = None
    text_fields: dict[str, int] = field(default_factory=dict)  # name: max length
    number_fields: tuple[str, ...] = ()
    headers: dict[str, int] = field(default_factory=dict)  # name: max length


ENTITY = {"entity_type": "toll_charge", "entity_id": 91001}
PAGED = ("limit", "offset")
ENDPOINTS = {
    "list tickets": Endpoint(
        "GET",
        "/v2/support-tickets/",
        query=("fleet", "status", "reason", "search", "ordering", *PAGED),
    ),
    "open a ticket": Endpoint(
        "POST",
        "/v2/support-tickets/",
        body={"fleet": 1, "reason": "OTHER", "description": "x", "entities": [ENTITY]},
        text_fields={"description": 5000, "entities.0.entity_type": 50},
        number_fields=("fleet", "entities.0.entity_id"),
        headers={"Idempotency-Key": 255},
    ),
    "read a ticket": Endpoint("GET", "/v2/support-tickets/{ticket_id}/"),
    "edit a ticket": Endpoint(
        "PATCH",
        "/v2/support-tickets/{ticket_id}/",
        body={"description": "x", "entities": [ENTITY]},
        text_fields={"description": 5000},
        number_fields=("entities.0.entity_id",),
        headers={"If-Match": 4096},
    ),
    "move a ticket": Endpoint(
        "POST",
        "/v2/support-tickets/{ticket_id}/transitions/",
        body={"to": "CANCELLED"},
        text_fields={"resolution_note": 5000},
        headers={"Idempotency-Key": 255, "If-Match": 4096},
    ),
    "list comments": Endpoint(
        "GET", "/v2/support-tickets/{ticket_id}/comments/", query=PAGED
    ),
    "add a comment": Endpoint(
        "POST",
        "/v2/support-tickets/{ticket_id}/comments/",
        body={"content": "x"},
        text_fields={"content": 10000},
        headers={"Idempotency-Key": 255},
    ),
    "edit a comment": Endpoint(
        "PATCH",
        "/v2/support-tickets/{ticket_id}/comments/{comment_id}/",
        body={"content": "x"},
        text_fields={"content": 10000},
    ),
    "read the history": Endpoint(
        "GET", "/v2/support-tickets/{ticket_id}/events/", query=PAGED
    ),
}
NUMBER_QUERY = {"fleet", "limit", "offset"}


@dataclass(frozen=True)
class Attempt:
    endpoint: str
    where: str  # path, query, header, body
    name: str  # the input attacked
    what: str
    path: dict[str, str] = field(default_factory=dict)
    query: bytes = b""
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes | None = None
    status: int = 422

    @property
    def id(self) -> str:
        return f"{self.endpoint} | {self.where} {self.name} | {self.what}"


def _set(body: dict[str, object], dotted: str, value: object) -> dict[str, object]:
    """A copy of the body with one (dotted) field replaced."""
    copy = json.loads(json.dumps(body))
    node = copy
    *parents, last = dotted.split(".")
    for part in parents:
        node = node[int(part)] if isinstance(node, list) else node[part]
    if isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return copy  # type: ignore[no-any-return]


def _encoded(body: dict[str, object]) -> bytes:
    return json.dumps(body).encode()


def _path_attempts(name: str, endpoint: Endpoint) -> list[Attempt]:
    values = [
        ("NUL", "1%00", 422),
        ("past int4, a valid id", INT4_OVERFLOW, 404),
        ("past bigint", INT8_OVERFLOW, 422),
        ("10**30", HUGE, 422),
        ("not UTF-8", "%FF", 422),
        ("over-long", "1" * 5000, 422),
    ]
    return [
        Attempt(name, "path", parameter, what, {parameter: value}, status=status)
        for parameter in ("ticket_id", "comment_id")
        if "{" + parameter + "}" in endpoint.path
        for what, value, status in values
    ]


def _query_attempts(name: str, endpoint: Endpoint) -> list[Attempt]:
    attempts = []
    # An endpoint without parameters ignores unknown ones, unless unreadable.
    for parameter in endpoint.query or ("unknown",):
        values = [("not UTF-8", "%FF"), ("not UTF-8, overlong form", "%C0%AF")]
        if endpoint.query:
            values += [("NUL", "a%00b"), ("over-long", LONG)]
        if parameter in NUMBER_QUERY:
            values += [("past bigint", INT8_OVERFLOW), ("10**30", HUGE)]
        attempts += [
            Attempt(name, "query", parameter, what, query=f"{parameter}={v}".encode())
            for what, v in values
        ]
    return attempts


def _header_attempts(name: str, endpoint: Endpoint) -> list[Attempt]:
    values: list[tuple[str, str, bytes, int]] = [
        ("Authorization", "NUL", b"Bearer stk_\x00", 400),
        ("Authorization", "not UTF-8", b"Bearer \xff\xfe", 401),
        ("Authorization", "over-long", b"Bearer " + b"a" * 8000, 401),
    ]
    for header, limit in endpoint.headers.items():
        # Bytes past ASCII in If-Match form a valid (unmatched) entity tag.
        unmatched = 422 if header == "Idempotency-Key" else 412
        values += [
            (header, "NUL", b"k\x00k", 400),
            (header, "over-long", b"k" * (limit + 1), 422),
            (header, "not UTF-8", b"\xff\xfe", unmatched),
        ]
    return [
        Attempt(name, "header", header, what, headers=((header.encode(), v),), status=s)
        for header, what, v, s in values
    ]


def _body_attempts(name: str, endpoint: Endpoint) -> list[Attempt]:
    if endpoint.body is None:
        return []
    attempts = []
    for text, limit in endpoint.text_fields.items():
        # A raw 0xFF inside a JSON string: the body is not UTF-8.
        broken = _encoded(_set(endpoint.body, text, "MARK")).replace(b"MARK", b"a\xffb")
        attempts += [
            Attempt(
                name,
                "body",
                text,
                "NUL",
                body=_encoded(_set(endpoint.body, text, "a\x00b")),
            ),
            Attempt(
                name,
                "body",
                text,
                "over-long",
                body=_encoded(_set(endpoint.body, text, "a" * (limit + 1))),
            ),
            Attempt(name, "body", "body", f"not UTF-8 in {text}", body=broken),
        ]
    for number in endpoint.number_fields:
        for what, value in [
            ("past int4", 2**31),
            ("past bigint", 2**63),
            ("10**30", 10**30),
            ("-10**30", -(10**30)),
        ]:
            body = _encoded(_set(endpoint.body, number, value))
            attempts.append(Attempt(name, "body", number, what, body=body))
    return attempts


def _attempts() -> list[Attempt]:
    return [
        attempt
        for name, endpoint in ENDPOINTS.items()
        for place in (_path_attempts, _query_attempts, _header_attempts, _body_attempts)
        for attempt in place(name, endpoint)
    ]


ATTEMPTS = _attempts()


def _send(server: LiveServer, token: str, attempt: Attempt) -> RawResponse:
    endpoint = ENDPOINTS[attempt.endpoint]
    path = endpoint.path.format(
        **{"ticket_id": str(TICKET), "comment_id": str(COMMENT), **attempt.path}
    )
    target = path.encode() + (b"?" + attempt.query if attempt.query else b"")
    headers = dict([(b"Authorization", f"Bearer {token}".encode()), *attempt.headers])
    body = attempt.body
    if body is None and endpoint.body is not None:
        body = _encoded(endpoint.body)
    if body is not None:
        headers[b"Content-Type"] = b"application/json"
    return send_raw(
        server.base_url, endpoint.method, target, list(headers.items()), body
    )


def test_every_endpoint_and_place_is_attacked() -> None:
    places = {(a.endpoint, a.where) for a in ATTEMPTS}

    for name, endpoint in ENDPOINTS.items():
        assert (name, "query") in places
        assert (name, "header") in places
        assert ((name, "path") in places) == ("{" in endpoint.path)
        assert ((name, "body") in places) == (endpoint.body is not None)


@pytest.mark.parametrize("attempt", ATTEMPTS, ids=[a.id for a in ATTEMPTS])
def test_hostile_input_is_refused_clearly(
    attack_server: LiveServer, attack_population: Population, attempt: Attempt
) -> None:
    response = _send(attack_server, attack_population.staff_token, attempt)

    assert response.status == attempt.status, response.body[:500]
    if attempt.status == 400:
        # The HTTP server's own answer; the service never saw the request.
        assert response.headers["content-type"].startswith("text/plain")
        return
    assert response.headers["content-type"] == PROBLEM_MEDIA_TYPE
    problem = json.loads(response.body)
    assert problem["status"] == attempt.status
    if attempt.status == 422:
        # The input is named; an unreadable path is named as a whole.
        named = {error["field"] for error in problem["errors"]}
        assert attempt.name in named or attempt.where in named
