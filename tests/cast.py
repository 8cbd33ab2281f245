"""The people of the workflow tests: two fleets, their members, and staff."""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.models import Fleet, SupportTicket, User
from tests.factories import bearer, make_fleet, make_ticket, make_token, make_user


@dataclass(frozen=True)
class Person:
    user: User
    headers: dict[str, str]

    @property
    def id(self) -> int:
        return self.user.id


@dataclass(frozen=True)
class Cast:
    fleet: Fleet
    other_fleet: Fleet
    creator: Person  # member of `fleet`; creates the tickets
    colleague: Person  # another member of `fleet`
    staff: Person
    outsider: Person  # member of `other_fleet` only

    async def ticket(self, session: AsyncSession, **fields: object) -> SupportTicket:
        """A ticket of `fleet` opened by `creator`."""
        return await make_ticket(session, self.fleet, self.creator.user, **fields)  # type: ignore[arg-type]


async def make_person(
    session: AsyncSession, *, staff: bool = False, fleets: tuple[Fleet, ...] = ()
) -> Person:
    user = await make_user(session, staff=staff, fleets=fleets)
    return Person(user=user, headers=bearer(await make_token(session, user)))


async def make_cast(session: AsyncSession) -> Cast:
    fleet = await make_fleet(session)
    other_fleet = await make_fleet(session)
    return Cast(
        fleet=fleet,
        other_fleet=other_fleet,
        creator=await make_person(session, fleets=(fleet,)),
        colleague=await make_person(session, fleets=(fleet,)),
        staff=await make_person(session, staff=True),
        outsider=await make_person(session, fleets=(other_fleet,)),
    )
