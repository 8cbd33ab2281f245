"""People and tickets committed for real, for suites that drive a real server.

Two fleets; staff; one member of each fleet; tickets of both fleets with
comments by their creators and by staff. Rows are made by the factories,
without history events: suites that audit the history open their tickets
through the API instead.
"""

from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from app.core.security import IssuedToken, issue_token
from app.models import Fleet, TicketComment, User
from tests.factories import make_fleet, make_ticket, make_token, make_user


@dataclass(frozen=True)
class Population:
    url: URL
    fleet_id: int
    other_fleet_id: int
    staff_token: str
    member_token: str  # a member of `fleet_id`, creator of its tickets
    other_member_token: str  # a member of `other_fleet_id` only
    ticket_ids: tuple[int, ...]  # of both fleets, the first fleet's first
    comment_ids: tuple[tuple[int, int], ...]  # (ticket id, comment id)

    @property
    def member_ticket_ids(self) -> tuple[int, ...]:
        """The first fleet's tickets, which its member may read and comment."""
        return self.ticket_ids[: len(self.ticket_ids) // 2]


async def _tickets_of(
    session: AsyncSession, fleet: Fleet, creator: User, staff: User, *, tickets: int
) -> list[int]:
    ids = []
    for number in range(tickets):
        comments = [
            ((creator, staff)[index % 2], f"Comment {index} on ticket {number}.")
            for index in range(2)
        ]
        ticket = await make_ticket(session, fleet, creator, comments=comments)
        ids.append(ticket.id)
    return ids


@dataclass(frozen=True)
class Tokens:
    """Tokens chosen before the rows exist, for suites that need them early."""

    staff: IssuedToken = field(default_factory=issue_token)
    member: IssuedToken = field(default_factory=issue_token)
    other_member: IssuedToken = field(default_factory=issue_token)


async def commit_population(
    url: URL, *, tickets_per_fleet: int = 5, tokens: Tokens | None = None
) -> Population:
    tokens = tokens or Tokens()
    engine = create_async_engine(url.set(drivername="postgresql+asyncpg"))
    try:
        async with async_sessionmaker(engine)() as session, session.begin():
            fleet = await make_fleet(session)
            other_fleet = await make_fleet(session)
            staff = await make_user(session, staff=True)
            member = await make_user(session, fleets=[fleet])
            other_member = await make_user(session, fleets=[other_fleet])
            ticket_ids = await _tickets_of(
                session, fleet, member, staff, tickets=tickets_per_fleet
            ) + await _tickets_of(
                session, other_fleet, other_member, staff, tickets=tickets_per_fleet
            )
            comments = await session.execute(
                select(TicketComment.ticket_id, TicketComment.id).order_by(
                    TicketComment.id
                )
            )

            return Population(
                url=url,
                fleet_id=fleet.id,
                other_fleet_id=other_fleet.id,
                staff_token=await make_token(session, staff, issued=tokens.staff),
                member_token=await make_token(session, member, issued=tokens.member),
                other_member_token=await make_token(
                    session, other_member, issued=tokens.other_member
                ),
                ticket_ids=tuple(ticket_ids),
                comment_ids=tuple((ticket, comment) for ticket, comment in comments),
            )
    finally:
        await engine.dispose()
