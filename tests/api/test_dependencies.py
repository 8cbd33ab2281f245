"""Every route and dependency runs on the event loop, never in a thread.

FastAPI hands a plain `def` endpoint or dependency to a worker thread: a
thread switch on every request, a fifth of the list's CPU time when three
of them sat on its path.
"""

import inspect
from collections.abc import Iterator

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute

from app.api.routes import (
    operations,
    support_tickets,
    ticket_comments,
    ticket_events,
    ticket_workflow,
)

ROUTERS = (operations, support_tickets, ticket_comments, ticket_events, ticket_workflow)


def _calls(dependant: Dependant) -> Iterator[object]:
    if dependant.call is not None:
        yield dependant.call
    for inner in dependant.dependencies:
        yield from _calls(inner)


def _runs_on_the_loop(call: object) -> bool:
    if inspect.iscoroutinefunction(call) or inspect.isasyncgenfunction(call):
        return True
    # Security schemes are instances with an async __call__.
    return not inspect.isfunction(call) and inspect.iscoroutinefunction(
        type(call).__call__
    )


def test_no_route_or_dependency_is_a_plain_function() -> None:
    routes = [
        route
        for module in ROUTERS
        for route in module.router.routes
        if isinstance(route, APIRoute)
    ]
    threaded = {
        f"{route.path} {getattr(call, '__qualname__', call)}"
        for route in routes
        for call in _calls(route.dependant)
        if not _runs_on_the_loop(call)
    }

    assert routes
    assert threaded == set()
