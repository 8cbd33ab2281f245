"""What `support-tickets run` gives a newcomer: demo data and working tokens.

On the first start (an empty database) it loads a small seeded dataset and
two demo accounts; on every start it revokes their previous demo tokens and
issues new ones, since only hashes are stored and an old token cannot be
shown again. A database that was filled otherwise (by `seed`, or a real
one) has no demo accounts, and then no token is issued.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from app.repositories import accounts as account_repository
from app.repositories import seed as seed_repository
from app.services import accounts
from app.services.accounts import CreatedToken
from app.services.seed import SeedRequest, load_demo_data, seed_size

DEMO_TICKETS = 300
DEMO_SEED = 1
DEMO_STAFF = "demo-staff"
DEMO_FLEET_USER = "demo-fleet"
DEMO_TOKEN_NAME = "demo (support-tickets run)"  # noqa: S105 - a label
DEMO_TOKEN_DAYS = 30


@dataclass(frozen=True, slots=True)
class DemoAccess:
    loaded_data: bool
    staff_token: CreatedToken | None
    fleet_token: CreatedToken | None


async def _load_first_time(session: AsyncSession) -> None:
    await load_demo_data(
        session, seed_size(SeedRequest(tickets=DEMO_TICKETS, seed=DEMO_SEED))
    )
    await accounts.create_user(
        session, DEMO_STAFF, "demo-staff@example.com", is_staff=True, fleet_ids=()
    )
    # Fleets 1 and 2 exist in any seeded dataset; their tickets are the
    # fleet user's view.
    await accounts.create_user(
        session,
        DEMO_FLEET_USER,
        "demo-fleet@example.com",
        is_staff=False,
        fleet_ids=(1, 2),
    )


async def _fresh_token(session: AsyncSession, username: str) -> CreatedToken | None:
    user = await account_repository.find_user(session, username)
    if user is None or not user.is_active:
        return None

    await account_repository.revoke_tokens_named(session, user.id, DEMO_TOKEN_NAME)
    return await accounts.create_token(
        session, username, name=DEMO_TOKEN_NAME, expires_in_days=DEMO_TOKEN_DAYS
    )


async def prepare_demo(session: AsyncSession) -> DemoAccess:
    """Demo data on the first start; new demo tokens on every start."""
    first_start = await seed_repository.database_is_empty(session)
    if first_start:
        await _load_first_time(session)

    return DemoAccess(
        loaded_data=first_start,
        staff_token=await _fresh_token(session, DEMO_STAFF),
        fleet_token=await _fresh_token(session, DEMO_FLEET_USER),
    )
