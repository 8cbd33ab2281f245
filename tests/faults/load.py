"""An asyncio load of mixed reads and writes against a real server.

Each client loops until told to stop or until its deadline, picking an
operation at random (seeded, so a run can be repeated). Every write carries
an Idempotency-Key and a marker in its text, so that afterwards each one
can be found in the database, and retried.
"""

import asyncio
import itertools
import random
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import httpx

from tests.factories import bearer

TICKETS = "/v2/support-tickets/"
MOVE_TARGETS = ["UNDER_REVIEW", "OPEN", "APPROVED", "DENIED", "RESOLVED", "CANCELLED"]
_entity_numbers = itertools.count(500_000)


@dataclass(frozen=True)
class Write:
    kind: str  # "open" or "comment"
    method: str
    path: str
    body: dict[str, object]
    marker: str
    headers: dict[str, str]


@dataclass(frozen=True)
class Outcome:
    operation: str
    started: float
    finished: float
    status: int  # 0: no answer (transport error)
    content_type: str
    body: bytes
    write: Write | None = None

    @property
    def seconds(self) -> float:
        return self.finished - self.started


@dataclass
class Load:
    """Clients of one fleet member and staff, on the member's fleet's tickets."""

    client: httpx.AsyncClient
    member_token: str
    staff_token: str
    fleet_id: int
    ticket_ids: list[int]
    seed: int = 1
    # How often each operation is picked: open, comment, move, list, history.
    mix: dict[str, float] = field(
        default_factory=lambda: {"open": 2, "comment": 3, "list": 3, "history": 2}
    )
    outcomes: list[Outcome] = field(default_factory=list)
    _stop: asyncio.Event = field(default_factory=asyncio.Event)

    def _open(self, rng: random.Random) -> Write:
        marker = f"load-{uuid.UUID(int=rng.getrandbits(128))}"
        return Write(
            "open",
            "POST",
            TICKETS,
            {
                "fleet": self.fleet_id,
                "reason": rng.choice(["OTHER", "NOT_MY_TOLL", "ALREADY_PAID"]),
                "description": marker,
                "entities": [
                    {"entity_type": "toll_charge", "entity_id": next(_entity_numbers)}
                ],
            },
            marker,
            {**bearer(self.member_token), "Idempotency-Key": marker},
        )

    def _comment(self, rng: random.Random) -> Write:
        marker = f"load-{uuid.UUID(int=rng.getrandbits(128))}"
        ticket = rng.choice(self.ticket_ids)
        token = rng.choice([self.member_token, self.staff_token])
        return Write(
            "comment",
            "POST",
            f"{TICKETS}{ticket}/comments/",
            {"content": marker},
            marker,
            {**bearer(token), "Idempotency-Key": marker},
        )

    async def send(
        self, operation: str, request: httpx.Request, write: Write | None
    ) -> Outcome:
        started = time.monotonic()
        try:
            response = await self.client.send(request)
            status, body = response.status_code, response.content
            content_type = response.headers.get("content-type", "")
        except httpx.TransportError:
            status, body, content_type = 0, b"", ""
        outcome = Outcome(
            operation, started, time.monotonic(), status, content_type, body, write
        )
        self.outcomes.append(outcome)
        if write is not None and status in (200, 201) and write.kind == "open":
            self.ticket_ids.append(int(response.json()["id"]))
        return outcome

    def request_for(self, write: Write) -> httpx.Request:
        return self.client.build_request(
            write.method, write.path, json=write.body, headers=write.headers
        )

    def _move(self, rng: random.Random) -> httpx.Request:
        """Staff move a ticket; a note goes with the moves that need one."""
        target = rng.choice(MOVE_TARGETS)
        body: dict[str, object] = {"to": target}
        if target in {"APPROVED", "DENIED", "RESOLVED"}:
            body["resolution_note"] = f"Decided by the load ({target})."
        ticket = rng.choice(self.ticket_ids)
        return self.client.build_request(
            "POST",
            f"{TICKETS}{ticket}/transitions/",
            json=body,
            headers=bearer(self.staff_token),
        )

    async def _one(self, rng: random.Random) -> None:
        (operation,) = rng.choices(list(self.mix), weights=list(self.mix.values()))
        if operation in ("open", "comment"):
            write = self._open(rng) if operation == "open" else self._comment(rng)
            await self.send(operation, self.request_for(write), write)
        elif operation == "move":
            await self.send("move", self._move(rng), None)
        elif operation == "list":
            request = self.client.build_request(
                "GET",
                TICKETS,
                params={"limit": "20"},
                headers=bearer(self.member_token),
            )
            await self.send("list", request, None)
        else:
            ticket = rng.choice(self.ticket_ids)
            request = self.client.build_request(
                "GET", f"{TICKETS}{ticket}/events/", headers=bearer(self.staff_token)
            )
            await self.send("history", request, None)

    async def _client(self, number: int, deadline: float) -> None:
        rng = random.Random(self.seed * 1000 + number)
        while not self._stop.is_set() and time.monotonic() < deadline:
            await self._one(rng)
            await asyncio.sleep(0)

    @asynccontextmanager
    async def running(self, clients: int, seconds: float = 600) -> AsyncIterator[None]:
        """Clients run while the block runs (bounded by `seconds`), then stop."""
        deadline = time.monotonic() + seconds
        tasks = [asyncio.create_task(self._client(n, deadline)) for n in range(clients)]
        try:
            yield
        finally:
            self._stop.set()
            await asyncio.gather(*tasks)

    def writes(self, *statuses: int) -> list[Outcome]:
        return [
            o for o in self.outcomes if o.write is not None and o.status in statuses
        ]
