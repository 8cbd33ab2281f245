"""Rules of a ticket's life: who may open, edit and move it, and when.

Every check reads the ticket's row under a lock (SELECT ... FOR UPDATE) held
until the request's transaction ends, so concurrent writers to one ticket
take turns and each sees what the previous one committed. Errors are raised
in the service's order of precedence: 404 (not visible), 422, 403, 412, 409;
raising abandons the transaction, so nothing of a failed request is stored.
"""

from collections.abc import Collection
from dataclasses import dataclass

import structlog
from sqlalchemy.ext.asyncio import AsyncSession

from app.core.errors import (
    Conflict,
    FieldProblem,
    InvalidInput,
    NotFound,
    PermissionDenied,
    PreconditionFailed,
)
from app.core.etags import IfMatch, etag_of
from app.models.enums import EventKind, TicketStatus
from app.repositories import events as event_repository
from app.repositories import ticket_workflow as ticket_repository
from app.repositories.ticket_workflow import EntityPair, LockedTicket
from app.schemas.ticket_write import EntityInput, TicketCreate, TicketUpdate
from app.schemas.transition import TransitionRequest
from app.services import transitions
from app.services.auth import Principal
from app.services.tickets import visible_fleets
from app.services.transitions import NoteRule

logger = structlog.get_logger(__name__)


class TicketNotFound(NotFound):
    title = "Ticket not found"

    def __init__(self) -> None:
        # One answer for a missing ticket and another fleet's: ids stay secret.
        super().__init__("No support ticket with this id exists.")


class FleetNotAvailable(InvalidInput):
    def __init__(self) -> None:
        message = "unknown fleet, or not a fleet you belong to"
        super().__init__(
            "The request has invalid input: fleet.",
            errors=[FieldProblem(location="body", field="fleet", message=message)],
        )


class ChargeAlreadyDisputed(Conflict):
    slug = "charge-already-disputed"
    title = "Charge already disputed"


class NotCreatorOrStaff(PermissionDenied):
    def __init__(self) -> None:
        super().__init__("Only the ticket's creator or support staff may do this.")


class TicketNoLongerEditable(Conflict):
    slug = "ticket-not-editable"
    title = "Ticket can no longer be edited"


class TicketChanged(PreconditionFailed):
    def __init__(self) -> None:
        super().__init__(
            "The ticket has changed since the If-Match tag was read; fetch it again."
        )


class TransitionForbidden(PermissionDenied):
    pass


class TransitionNotAllowed(Conflict):
    slug = "transition-not-allowed"
    title = "Transition not allowed"


class NoteProblem(InvalidInput):
    def __init__(self, message: str) -> None:
        super().__init__(
            "The request has invalid input: resolution_note.",
            errors=[
                FieldProblem(location="body", field="resolution_note", message=message)
            ],
        )


@dataclass(frozen=True, slots=True)
class RenderedTicket:
    """A ticket's JSON, exactly as the list renders it, and its entity tag."""

    id: int
    json: str

    @property
    def etag(self) -> str:
        return etag_of(self.json.encode())


async def _render(session: AsyncSession, ticket_id: int) -> RenderedTicket:
    rendered = await ticket_repository.render_ticket(session, ticket_id, None)
    assert rendered is not None, "rendered after a check that it exists"
    return RenderedTicket(id=ticket_id, json=rendered)


async def get_ticket(
    session: AsyncSession, principal: Principal, ticket_id: int
) -> RenderedTicket:
    rendered = await ticket_repository.render_ticket(
        session, ticket_id, visible_fleets(principal)
    )
    if rendered is None:
        raise TicketNotFound()
    return RenderedTicket(id=ticket_id, json=rendered)


async def ensure_visible(
    session: AsyncSession, principal: Principal, ticket_id: int
) -> None:
    """404 unless the ticket exists and the caller may see it."""
    if not await ticket_repository.ticket_is_visible(
        session, ticket_id, visible_fleets(principal)
    ):
        raise TicketNotFound()


async def lock_visible_ticket(
    session: AsyncSession, principal: Principal, ticket_id: int
) -> LockedTicket:
    locked = await ticket_repository.lock_ticket(
        session, ticket_id, visible_fleets(principal)
    )
    if locked is None:
        raise TicketNotFound()
    return locked


async def _check_precondition(
    session: AsyncSession, ticket_id: int, if_match: IfMatch | None
) -> None:
    """412 unless the locked ticket still has a tag the client named."""
    if if_match is None or if_match.any_current:
        return
    current = await _render(session, ticket_id)
    if not if_match.matches(current.etag):
        raise TicketChanged()


def _pairs(entities: Collection[EntityInput]) -> set[EntityPair]:
    return {(entity.entity_type, entity.entity_id) for entity in entities}


async def _claim(
    session: AsyncSession,
    principal: Principal,
    ticket_id: int,
    pairs: Collection[EntityPair],
) -> None:
    """Link entities to the ticket; 409 naming the ticket holding any of them.

    The caller's transaction is abandoned by the error, so the ticket row
    and whatever else it wrote are not stored either.
    """
    refused = await ticket_repository.claim_entities(session, ticket_id, pairs)
    if not refused:
        return

    holders = await ticket_repository.claim_holders(session, refused)
    mine = visible_fleets(principal)
    named = [
        f"{holder.entity_type} {holder.entity_id} is disputed by ticket "
        f"{holder.ticket_id}"
        if mine is None or holder.fleet_id in mine
        # Another tenant's ticket is not named: its id is not the caller's.
        else f"{holder.entity_type} {holder.entity_id} is disputed by another "
        "fleet's ticket"
        for holder in holders
    ]
    logger.info("ticket.claim_refused", ticket_id=ticket_id, refused=len(refused))
    raise ChargeAlreadyDisputed(
        "A charge can be disputed by one open ticket at a time: "
        + "; ".join(named or ["a charge is being disputed concurrently"])
        + "."
    )


async def open_ticket(
    session: AsyncSession, principal: Principal, ticket: TicketCreate
) -> RenderedTicket:
    if not principal.may_act_for(ticket.fleet) or not (
        await ticket_repository.fleet_exists(session, ticket.fleet)
    ):
        raise FleetNotAvailable()

    ticket_id, created_at = await ticket_repository.insert_ticket(
        session,
        fleet_id=ticket.fleet,
        created_by_id=principal.user_id,
        reason=ticket.reason,
        ticket_type=ticket.ticket_type,
        description=ticket.description,
    )
    await _claim(session, principal, ticket_id, _pairs(ticket.entities))
    await event_repository.record_event(
        session,
        ticket_id=ticket_id,
        kind=EventKind.OPENED,
        actor_id=principal.user_id,
        created_at=created_at,
    )

    logger.info(
        "ticket.opened",
        ticket_id=ticket_id,
        fleet_id=ticket.fleet,
        user_id=principal.user_id,
    )
    return await _render(session, ticket_id)


def _editable_statuses(principal: Principal) -> frozenset[TicketStatus]:
    if principal.is_staff:
        return frozenset({TicketStatus.OPEN, TicketStatus.UNDER_REVIEW})
    return frozenset({TicketStatus.OPEN})


async def edit_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket_id: int,
    changes: TicketUpdate,
    if_match: IfMatch | None,
) -> RenderedTicket:
    ticket = await lock_visible_ticket(session, principal, ticket_id)
    if not principal.is_staff and ticket.created_by_id != principal.user_id:
        raise NotCreatorOrStaff()
    await _check_precondition(session, ticket.id, if_match)
    if ticket.status not in _editable_statuses(principal):
        raise TicketNoLongerEditable(
            f"A ticket that is {ticket.status.value} can no longer be edited"
            + (" by its creator." if not principal.is_staff else ".")
        )

    changed: list[str] = []
    description = reason = None
    if changes.description is not None and changes.description != ticket.description:
        description = changes.description
        changed.append("description")
    if changes.reason is not None and changes.reason is not ticket.reason:
        reason = changes.reason
        changed.append("reason")
    if changes.entities is not None:
        current = await ticket_repository.ticket_entities(session, ticket.id)
        wanted = _pairs(changes.entities)
        if wanted != current:
            await ticket_repository.unlink_entities(
                session, ticket.id, current - wanted
            )
            await _claim(session, principal, ticket.id, wanted - current)
            changed.append("entities")
    if not changed:
        return await _render(session, ticket.id)

    stamp = await ticket_repository.edit_ticket(
        session, ticket.id, description=description, reason=reason
    )
    await event_repository.record_event(
        session,
        ticket_id=ticket.id,
        kind=EventKind.EDITED,
        actor_id=principal.user_id,
        created_at=stamp,
        fields=sorted(changed),
    )

    logger.info(
        "ticket.edited", ticket_id=ticket.id, user_id=principal.user_id, fields=changed
    )
    return await _render(session, ticket.id)


def _check_note(
    source: TicketStatus, target: TicketStatus, note: str | None
) -> str | None:
    """422 when the note breaks the move's rule; the note to store, if any.

    A blank note counts as no note, both where one is required and where
    one is refused.
    """
    given = note if note is not None and note.strip() else None
    rule = transitions.note_rule(source, target)
    if rule is NoteRule.REQUIRED and given is None:
        raise NoteProblem(f"a resolution note is required to move to {target.value}")
    if rule is NoteRule.REFUSED and given is not None:
        raise NoteProblem(f"a move to {target.value} takes no resolution note")
    return given


async def move_ticket(
    session: AsyncSession,
    principal: Principal,
    ticket_id: int,
    request: TransitionRequest,
    if_match: IfMatch | None,
) -> RenderedTicket:
    ticket = await lock_visible_ticket(session, principal, ticket_id)
    target = request.to
    note = _check_note(ticket.status, target, request.resolution_note)
    if not transitions.may_move_to(
        target,
        is_staff=principal.is_staff,
        is_creator=ticket.created_by_id == principal.user_id,
    ):
        raise TransitionForbidden(
            f"You may not move a ticket to {target.value}."
            + ("" if principal.is_staff else " Its creator may only cancel it.")
        )
    await _check_precondition(session, ticket.id, if_match)
    if transitions.find_move(ticket.status, target) is None:
        allowed = ", ".join(
            status.value for status in transitions.targets_from(ticket.status)
        )
        raise TransitionNotAllowed(
            f"A ticket that is {ticket.status.value} cannot move to "
            f"{target.value}; it can move to: {allowed or 'nothing, it is final'}."
        )

    decided = target in transitions.DECISIONS
    stamp = await ticket_repository.move_ticket(
        session,
        ticket.id,
        status=target,
        resolver_id=principal.user_id if decided else None,
        resolution_note=note,
    )
    await event_repository.record_event(
        session,
        ticket_id=ticket.id,
        kind=EventKind.STATUS_CHANGED,
        actor_id=principal.user_id,
        created_at=stamp,
        from_status=ticket.status,
        to_status=target,
        note=note,
    )

    logger.info(
        "ticket.status_changed",
        ticket_id=ticket.id,
        user_id=principal.user_id,
        from_status=ticket.status.value,
        to_status=target.value,
    )
    return await _render(session, ticket.id)
