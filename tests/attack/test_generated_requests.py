"""Schemathesis over every operation of the service's own OpenAPI document.

Requests are generated from the published schema, valid and invalid, and sent
to a real server (one process, one event loop, one HTTP client for the run)
as a staff user and as a fleet member. Every check Schemathesis has runs on
each answer: no 5xx, documented statuses, content types and bodies, invalid
input refused with a 4xx problem, unknown methods answered 405 with `Allow`,
and missing or bad credentials refused.

The budget is small by default so that the suite runs in CI; `make fuzz`
raises it (FUZZ_MAX_EXAMPLES). Generation is deterministic for a seed
(FUZZ_SEED), so a failure reproduces.
"""

import os
import re
from collections.abc import Iterator
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import strategies as st
from schemathesis.core.failures import Failure
from schemathesis.openapi.checks import RejectedPositiveData

from app.core.settings import Settings
from app.main import create_app
from app.schemas.ticket_query import MAX_ID
from app.services.idempotency import KeyReused
from app.services.ticket_workflow import FleetNotAvailable
from tests.attack.conftest import ATTACK_TOKENS
from tests.operations.live import LiveServer
from tests.population import Population

pytestmark = pytest.mark.slow

MAX_EXAMPLES = int(os.environ.get("FUZZ_MAX_EXAMPLES", "20"))
SEED = int(os.environ.get("FUZZ_SEED", "20261203"))

# The suite's database is new, so the seeded rows have the first ids: ten
# tickets with two comments each (tests/population.py). The fixture below
# checks it.
SEEDED_TICKETS = tuple(range(1, 11))
SEEDED_COMMENTS = tuple(
    (ticket, comment)
    for ticket in SEEDED_TICKETS
    for comment in (2 * ticket - 1, 2 * ticket)
)


def _is_id(value: object) -> bool:
    return (
        isinstance(value, int) and not isinstance(value, bool) and 1 <= value <= MAX_ID
    )


def flatmap_path_parameters(
    context: schemathesis.HookContext, path_parameters: dict[str, Any] | None
) -> st.SearchStrategy[dict[str, Any] | None]:
    """Valid ids often name rows that exist, so that operations get past 404.

    Only ids that are valid already are replaced: a case meant to be invalid
    stays invalid.
    """
    if path_parameters is None or not _is_id(path_parameters.get("ticket_id")):
        return st.just(path_parameters)
    if "comment_id" in path_parameters:
        if not _is_id(path_parameters["comment_id"]):
            return st.just(path_parameters)
        seeded = st.sampled_from(SEEDED_COMMENTS).map(
            lambda pair: {
                **path_parameters,
                "ticket_id": pair[0],
                "comment_id": pair[1],
            }
        )
    else:
        seeded = st.sampled_from(SEEDED_TICKETS).map(
            lambda ticket_id: {**path_parameters, "ticket_id": ticket_id}
        )
    return st.one_of(seeded, st.just(path_parameters))


# 422s that depend on stored rows, which no schema can describe: the fleet
# does not exist or is not the caller's, the Idempotency-Key was used before
# with another body, the ticket's current status requires or refuses a
# resolution note. Schemathesis sees schema-valid data refused; these are
# the documented answers. Every other refusal of valid data still fails.
STATE_DEPENDENT_REFUSALS = {
    (problem.location, problem.field, problem.message)
    for error in (KeyReused(), FleetNotAvailable())
    for problem in error.errors
}
NOTE_RULE = re.compile(
    r"a resolution note is required to move to [A-Z_]+"
    r"|a move to [A-Z_]+ takes no resolution note"
)


def _is_state_dependent(problem: dict[str, Any]) -> bool:
    errors = problem.get("errors") or [{}]
    return all(
        (error.get("location"), error.get("field"), error.get("message"))
        in STATE_DEPENDENT_REFUSALS
        or (
            error.get("field") == "resolution_note"
            and NOTE_RULE.fullmatch(str(error.get("message"))) is not None
        )
        for error in errors
    )


def filter_failure(
    context: schemathesis.HookContext,
    failure: Failure,
    case: schemathesis.Case,
    response: schemathesis.Response,
) -> bool:
    """Keep every failure but valid data refused by a state-dependent rule."""
    if not isinstance(failure, RejectedPositiveData) or response.status_code != 422:
        return True
    return not _is_state_dependent(response.json())


def _document() -> dict[str, Any]:
    """The OpenAPI document the server publishes (compared to it below)."""
    settings = Settings(
        database_url="postgresql://nobody@127.0.0.1/never-connected",
        log_level="WARNING",
    )
    return create_app(settings).openapi()


DOCUMENT = _document()
CONFIG = {
    "seed": SEED,
    "generation": {
        "mode": "all",
        "max-examples": MAX_EXAMPLES,
        "deterministic": True,
        "database": "none",
    },
    "checks": {
        "positive_data_acceptance": {
            # A stale If-Match is a precondition, not bad input.
            "expected-statuses": [
                "2xx", "3xx", "401", "403", "404", "409", "412", "429", "5xx",
            ],
        },
    },
}  # fmt: skip


def _schema_for(token: str) -> Any:
    """The document, with the role's token as its configured authentication.

    Configured (not merely sent) so that Schemathesis knows the credentials:
    it leaves them out of the cases that test a missing Authorization header,
    and probes every operation without them and with a wrong token.
    """
    schema = schemathesis.openapi.from_dict(
        DOCUMENT, config=schemathesis.Config.from_dict(CONFIG)
    )
    schema.hook(flatmap_path_parameters)
    schema.hook(filter_failure)

    @schema.auth()
    class Bearer:
        def get(
            self, case: schemathesis.Case, context: schemathesis.AuthContext
        ) -> str:
            return token

        def set(
            self, case: schemathesis.Case, data: str, context: schemathesis.AuthContext
        ) -> None:
            case.headers = {**(case.headers or {}), "Authorization": f"Bearer {data}"}

    return schema


as_staff = _schema_for(ATTACK_TOKENS.staff.token)
as_member = _schema_for(ATTACK_TOKENS.member.token)


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    """One HTTP client for the whole run."""
    with requests.Session() as session:
        yield session


@pytest.fixture(scope="module")
def server(attack_server: LiveServer, attack_population: Population) -> LiveServer:
    assert attack_population.ticket_ids == SEEDED_TICKETS
    assert attack_population.comment_ids == SEEDED_COMMENTS
    return attack_server


def test_the_fuzzed_schema_is_the_one_served(
    server: LiveServer, http: requests.Session
) -> None:
    assert http.get(server.base_url + "/openapi.json").json() == DOCUMENT


@as_staff.parametrize()
@hypothesis.settings(deadline=None)
def test_generated_requests_as_staff(
    case: schemathesis.Case, server: LiveServer, http: requests.Session
) -> None:
    case.call_and_validate(base_url=server.base_url, session=http)


@as_member.parametrize()
@hypothesis.settings(deadline=None)
def test_generated_requests_as_a_fleet_member(
    case: schemathesis.Case, server: LiveServer, http: requests.Session
) -> None:
    case.call_and_validate(base_url=server.base_url, session=http)
