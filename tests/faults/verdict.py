"""After a fault under load: what the clients were told, and what is stored."""

from dataclasses import dataclass

import asyncpg

from app.core.errors import PROBLEM_MEDIA_TYPE
from tests.audit import copies_of, everything_that_is_wrong, partial_writes
from tests.factories import bearer
from tests.faults.load import Load, Outcome
from tests.population import Population


@dataclass(frozen=True)
class Verdict:
    statuses: set[int]
    answered_writes: int
    too_slow: list[Outcome]
    unavailable_not_problems: list[Outcome]
    retried_statuses: set[int]
    copies: set[int]  # how many times each answered or retried write is stored
    partial: list[str]
    wrong: list[str]


async def judge(load: Load, population: Population, longest: float) -> Verdict:
    """Retry every write that was answered 503 (same Idempotency-Key), then
    count what the database holds of every write that was answered 2xx."""
    unavailable = load.writes(503)
    retried = [
        await load.send("retry", load.request_for(outcome.write), outcome.write)
        for outcome in unavailable
        if outcome.write is not None
    ]
    stored = load.writes(200, 201) + retried

    connection = await asyncpg.connect(
        population.url.render_as_string(hide_password=False)
    )
    try:
        copies = {
            await copies_of(connection, o.write.kind, o.write.marker)
            for o in stored
            if o.write is not None
        }
        partial = await partial_writes(connection)
        wrong = await everything_that_is_wrong(
            load.client, bearer(population.staff_token), connection
        )
    finally:
        await connection.close()

    outcomes = [o for o in load.outcomes if o.operation != "retry"]
    return Verdict(
        statuses={o.status for o in outcomes},
        answered_writes=len([o for o in outcomes if o.write and o.status < 300]),
        too_slow=[o for o in outcomes if o.seconds >= longest],
        unavailable_not_problems=[
            o
            for o in outcomes
            if o.status == 503 and o.content_type != PROBLEM_MEDIA_TYPE
        ],
        retried_statuses={o.status for o in retried},
        copies=copies,
        partial=partial,
        wrong=wrong,
    )
