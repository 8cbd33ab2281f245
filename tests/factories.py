"""Small factories: each makes one row of a concept, with sensible defaults."""

import itertools
from collections.abc import Sequence
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from app.core.security import IssuedToken, issue_token
from app.models import (
    ApiToken,
    Fleet,
    FleetMembership,
    SupportTicket,
    TicketComment,
    TicketEntity,
    User,
)
from app.models.enums import TicketReason, TicketStatus, TicketType

_numbers = itertools.count(1)


async def make_fleet(session: AsyncSession, name: str | None = None) -> Fleet:
    fleet = Fleet(name=name or f"Fleet {next(_numbers)}")
    session.add(fleet)
    await session.flush()
    return fleet


async def make_user(
    session: AsyncSession,
    username: str | None = None,
    *,
    staff: bool = False,
    active: bool = True,
    fleets: Sequence[Fleet] = (),
) -> User:
    username = username or f"user{next(_numbers)}"
    user = User(
        username=username,
        email=f"{username}@example.com",
        is_staff=staff,
        is_active=active,
    )
    session.add(user)
    await session.flush()
    session.add_all(FleetMembership(user_id=user.id, fleet_id=f.id) for f in fleets)
    await session.flush()
    return user


async def make_token(
    session: AsyncSession,
    user: User,
    *,
    expires_at: datetime | None = None,
    revoked_at: datetime | None = None,
    issued: IssuedToken | None = None,
) -> str:
    issued = issued or issue_token()
    session.add(
        ApiToken(
            user_id=user.id,
            prefix=issued.prefix,
            token_hash=issued.token_hash,
            name="test",
            expires_at=expires_at,
            revoked_at=revoked_at,
        )
    )
    await session.flush()
    return issued.token


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def make_ticket(
    session: AsyncSession,
    fleet: Fleet,
    creator: User,
    *,
    status: TicketStatus = TicketStatus.OPEN,
    reason: TicketReason = TicketReason.INCORRECT_AMOUNT,
    description: str = "Charged twice at the bridge",
    resolution_note: str = "",
    resolved_by: User | None = None,
    resolved_at: datetime | None = None,
    created_at: datetime | None = None,
    updated_at: datetime | None = None,
    entities: Sequence[tuple[str, int]] | None = None,
    comments: Sequence[tuple[User, str]] = (),
) -> SupportTicket:
    ticket = SupportTicket(
        fleet_id=fleet.id,
        created_by_id=creator.id,
        status=status,
        reason=reason,
        ticket_type=TicketType.DISPUTE,
        description=description,
        resolution_note=resolution_note,
        resolved_by_id=resolved_by.id if resolved_by else None,
        resolved_at=resolved_at,
        last_comment_sequence=len(comments),
    )
    if created_at is not None:
        ticket.created_at = created_at
        ticket.updated_at = updated_at or created_at
    session.add(ticket)
    await session.flush()

    if entities is None:
        entities = [("toll_charge", next(_numbers))]
    session.add_all(
        TicketEntity(ticket_id=ticket.id, entity_type=kind, entity_id=number)
        for kind, number in entities
    )
    session.add_all(
        TicketComment(
            ticket_id=ticket.id, author_id=author.id, content=text, sequence=index
        )
        for index, (author, text) in enumerate(comments, start=1)
    )
    await session.flush()
    return ticket
