"""Queries behind one ticket's life: read, lock, open, edit and move it.

Each change stamps `updated_at` with `statement_timestamp()`, taken after the
ticket's row lock was granted: changes to one ticket get increasing times in
the order they commit, and one change's rows (ticket, comment, event) share
the same instant.
"""

from collections.abc import Collection, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, delete, func, select, text, tuple_, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Fleet, SupportTicket, TicketEntity
from app.models.enums import TicketReason, TicketStatus, TicketType
from app.repositories.ticket_json import ticket_json_select

EntityPair = tuple[str, int]


@dataclass(frozen=True, slots=True)
class LockedTicket:
    """The fields the workflow's rules read, from a row locked FOR UPDATE."""

    id: int
    fleet_id: int
    created_by_id: int
    status: TicketStatus
    reason: TicketReason
    description: str


@dataclass(frozen=True, slots=True)
class ClaimHolder:
    entity_type: str
    entity_id: int
    ticket_id: int
    fleet_id: int


def _in_scope(
    ticket_id: int, visible_fleets: Collection[int] | None
) -> list[ColumnElement[bool]]:
    """The ticket, if the caller may see it (None: every fleet)."""
    conditions = [SupportTicket.id == ticket_id]
    if visible_fleets is not None:
        conditions.append(SupportTicket.fleet_id.in_(sorted(visible_fleets)))
    return conditions


async def render_ticket(
    session: AsyncSession, ticket_id: int, visible_fleets: Collection[int] | None
) -> str | None:
    """The ticket's JSON, exactly as a list item; None if missing or not visible."""
    statement = ticket_json_select().where(*_in_scope(ticket_id, visible_fleets))
    rendered: str | None = await session.scalar(statement)
    return rendered


async def ticket_is_visible(
    session: AsyncSession, ticket_id: int, visible_fleets: Collection[int] | None
) -> bool:
    statement = select(SupportTicket.id).where(*_in_scope(ticket_id, visible_fleets))
    return await session.scalar(statement) is not None


async def lock_ticket(
    session: AsyncSession, ticket_id: int, visible_fleets: Collection[int] | None
) -> LockedTicket | None:
    """Lock the ticket's row until the transaction ends, and read it then.

    A writer that waited for the lock reads the row as the previous writer
    committed it, so rules are checked against the latest state.
    """
    statement = (
        select(
            SupportTicket.id,
            SupportTicket.fleet_id,
            SupportTicket.created_by_id,
            SupportTicket.status,
            SupportTicket.reason,
            SupportTicket.description,
        )
        .where(*_in_scope(ticket_id, visible_fleets))
        .with_for_update()
    )
    row = (await session.execute(statement)).one_or_none()
    if row is None:
        return None
    return LockedTicket(
        id=row.id,
        fleet_id=row.fleet_id,
        created_by_id=row.created_by_id,
        # Member names are the codes.
        status=TicketStatus[row.status],
        reason=TicketReason[row.reason],
        description=row.description,
    )


async def fleet_exists(session: AsyncSession, fleet_id: int) -> bool:
    return (
        await session.scalar(select(Fleet.id).where(Fleet.id == fleet_id)) is not None
    )


async def insert_ticket(
    session: AsyncSession,
    *,
    fleet_id: int,
    created_by_id: int,
    reason: TicketReason,
    ticket_type: TicketType,
    description: str,
) -> tuple[int, datetime]:
    """A new OPEN ticket; its id and creation time."""
    statement = (
        insert(SupportTicket)
        .values(
            fleet_id=fleet_id,
            created_by_id=created_by_id,
            status=TicketStatus.OPEN,
            reason=reason,
            ticket_type=ticket_type,
            description=description,
        )
        .returning(SupportTicket.id, SupportTicket.created_at)
    )
    ticket_id, created_at = (await session.execute(statement)).one()
    return ticket_id, created_at


async def claim_entities(
    session: AsyncSession, ticket_id: int, pairs: Iterable[EntityPair]
) -> set[EntityPair]:
    """Link the entities to the ticket; the pairs another open ticket holds.

    The partial unique index `uq_ticket_entities_open_claim` decides: a pair
    already claimed (or being claimed by a transaction that then commits) is
    skipped and returned, and the caller must abandon its transaction.
    Inserting in a fixed order keeps two overlapping claims from deadlocking.
    """
    wanted = sorted(set(pairs))
    if not wanted:
        return set()
    statement = (
        insert(TicketEntity)
        .values(
            [
                {"ticket_id": ticket_id, "entity_type": kind, "entity_id": number}
                for kind, number in wanted
            ]
        )
        .on_conflict_do_nothing(
            index_elements=[TicketEntity.entity_type, TicketEntity.entity_id],
            index_where=text("holds_claim"),
        )
        .returning(TicketEntity.entity_type, TicketEntity.entity_id)
    )
    claimed = {(kind, number) for kind, number in await session.execute(statement)}
    return set(wanted) - claimed


async def claim_holders(
    session: AsyncSession, pairs: Iterable[EntityPair]
) -> list[ClaimHolder]:
    """The open tickets that hold these entities."""
    statement = (
        select(
            TicketEntity.entity_type,
            TicketEntity.entity_id,
            TicketEntity.ticket_id,
            SupportTicket.fleet_id,
        )
        .join(SupportTicket, SupportTicket.id == TicketEntity.ticket_id)
        .where(
            TicketEntity.holds_claim,
            tuple_(TicketEntity.entity_type, TicketEntity.entity_id).in_(sorted(pairs)),
        )
        .order_by(TicketEntity.entity_type, TicketEntity.entity_id)
    )
    return [ClaimHolder(*row) for row in await session.execute(statement)]


async def ticket_entities(session: AsyncSession, ticket_id: int) -> set[EntityPair]:
    statement = select(TicketEntity.entity_type, TicketEntity.entity_id).where(
        TicketEntity.ticket_id == ticket_id
    )
    return {(kind, number) for kind, number in await session.execute(statement)}


async def unlink_entities(
    session: AsyncSession, ticket_id: int, pairs: Iterable[EntityPair]
) -> None:
    """Remove entities from the ticket, which frees their claims."""
    await session.execute(
        delete(TicketEntity).where(
            TicketEntity.ticket_id == ticket_id,
            tuple_(TicketEntity.entity_type, TicketEntity.entity_id).in_(sorted(pairs)),
        )
    )


async def _stamp(session: AsyncSession, ticket_id: int, **values: Any) -> datetime:
    statement = (
        update(SupportTicket)
        .where(SupportTicket.id == ticket_id)
        .values(**values, updated_at=func.statement_timestamp())
        .returning(SupportTicket.updated_at)
    )
    updated_at: datetime = (await session.execute(statement)).scalar_one()
    return updated_at


async def edit_ticket(
    session: AsyncSession,
    ticket_id: int,
    *,
    description: str | None,
    reason: TicketReason | None,
) -> datetime:
    """Set the given fields (None keeps one) and `updated_at`; the new stamp."""
    values: dict[str, Any] = {}
    if description is not None:
        values["description"] = description
    if reason is not None:
        values["reason"] = reason
    return await _stamp(session, ticket_id, **values)


async def move_ticket(
    session: AsyncSession,
    ticket_id: int,
    *,
    status: TicketStatus,
    resolver_id: int | None,
    resolution_note: str | None,
) -> datetime:
    """Change the status; with a resolver, also who resolved it and when.

    `resolution_note` None keeps the stored note.
    """
    values: dict[str, Any] = {"status": status}
    if resolver_id is not None:
        values["resolved_by_id"] = resolver_id
        values["resolved_at"] = func.statement_timestamp()
    if resolution_note is not None:
        values["resolution_note"] = resolution_note
    return await _stamp(session, ticket_id, **values)
