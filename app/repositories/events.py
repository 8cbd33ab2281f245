"""Queries over a ticket's history (ticket_events, append-only)."""

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import Text, func, insert, select
from sqlalchemy.dialects.postgresql import aggregate_order_by
from sqlalchemy.ext.asyncio import AsyncSession

from app.models import TicketEvent, User
from app.models.enums import EventKind, TicketStatus
from app.repositories.ticket_json import (
    EMPTY_JSON_ARRAY,
    api_timestamp,
    user_json_object,
)


async def record_event(
    session: AsyncSession,
    *,
    ticket_id: int,
    kind: EventKind,
    actor_id: int,
    created_at: datetime,
    from_status: TicketStatus | None = None,
    to_status: TicketStatus | None = None,
    note: str | None = None,
    fields: Sequence[str] | None = None,
    comment_id: int | None = None,
) -> None:
    await session.execute(
        insert(TicketEvent).values(
            ticket_id=ticket_id,
            kind=kind,
            actor_id=actor_id,
            created_at=created_at,
            from_status=from_status,
            to_status=to_status,
            note=note,
            fields=list(fields) if fields is not None else None,
            comment_id=comment_id,
        )
    )


async def list_event_page(
    session: AsyncSession, ticket_id: int, *, limit: int, offset: int
) -> tuple[int, str]:
    """The ticket's event count and one page of events as JSON, oldest first.

    Fields that do not apply to an event's kind are null in the table and
    left out of its JSON.
    """
    event = func.json_strip_nulls(
        func.json_build_object(
            "id", TicketEvent.id,
            "kind", TicketEvent.kind,
            "actor", user_json_object(User),
            "created_at", api_timestamp(TicketEvent.created_at),
            "from_status", TicketEvent.from_status,
            "to_status", TicketEvent.to_status,
            "note", TicketEvent.note,
            "fields", TicketEvent.fields,
            "comment_id", TicketEvent.comment_id,
        )
    )  # fmt: skip
    page_ids = (
        select(TicketEvent.id)
        .where(TicketEvent.ticket_id == ticket_id)
        .order_by(TicketEvent.id)
        .limit(limit)
        .offset(offset)
    )
    results = (
        select(
            func.coalesce(
                func.json_agg(aggregate_order_by(event, TicketEvent.id)),
                EMPTY_JSON_ARRAY,
            ).cast(Text)
        )
        .select_from(TicketEvent)
        .join(User, User.id == TicketEvent.actor_id)
        .where(TicketEvent.id.in_(page_ids))
    )
    count = (
        select(func.count())
        .select_from(TicketEvent)
        .where(TicketEvent.ticket_id == ticket_id)
    )
    statement = select(count.scalar_subquery(), results.scalar_subquery())
    total, results_json = (await session.execute(statement)).one()
    return total, results_json
