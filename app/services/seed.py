"""Demo data: how much of what, the words it is made of, and when it may load.

`seed` fills an EMPTY database (no fleets, users or tickets): its ids start
at 1 and its rows depend only on the sizes and the seed, so two loads with
the same arguments give the same data. Sizes default to the benchmark's
shape (200 fleets, 2,000 users) for large loads and shrink for small ones.
"""

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession

from app.core.errors import Conflict, InvalidInput
from app.repositories import seed as seed_repository
from app.repositories.seed import SeedSize, SeedVocabulary

MAX_TICKETS = 10_000_000
MAX_FLEETS = 10_000
MAX_USERS = 1_000_000
MAX_SEED = 2**63 - 1
DEFAULT_FLEETS = 200
DEFAULT_USERS = 2000
# One user in twenty is support staff.
STAFF_SHARE = 20

VOCABULARY = SeedVocabulary(
    description_words=(
        "toll", "tolls", "charge", "charged", "charges", "bridge", "tunnel",
        "plaza", "gantry", "lane", "express", "highway", "turnpike", "motorway",
        "interchange", "exit", "entrance", "transponder", "tag", "plate",
        "license", "registration", "vehicle", "truck", "trailer", "tractor",
        "van", "bus", "axle", "axles", "class", "rate", "fare", "fee",
        "invoice", "statement", "billing", "bill", "account", "payment",
        "paid", "refund", "credit", "balance", "duplicate", "twice", "double",
        "incorrect", "wrong", "amount", "overcharged", "discount", "violation",
        "notice", "penalty", "camera", "photo", "image", "scan", "reader",
        "mismatch", "driver", "route", "trip", "delivery", "depot",
        "warehouse", "shipment", "freight", "fleet", "company", "overnight",
        "weekend", "morning", "evening", "northbound", "southbound",
        "eastbound", "westbound", "border", "crossing", "ferry", "port",
        "airport", "downtown", "county", "regional", "interstate", "rental",
        "leased", "sold", "replaced", "stolen", "returned", "dispute", "claim",
        "review", "customer", "dispatcher", "receipt", "transaction", "posted",
        "pending", "cleared", "prepaid", "monthly", "weekly", "portal",
        "verify", "adjust", "reverse", "confirm", "please", "again", "never",
    ),
    customer_comments=(
        "Attached the trip log for that day.",
        "The truck was parked at the depot all weekend.",
        "Our transponder shows a single read at that plaza.",
        "We sold this vehicle two months before the charge.",
        "The invoice lists the same toll twice.",
        "The axle count on the statement is wrong.",
        "We were billed the trailer rate for a van.",
        "Payment was made through the portal on the same day.",
        "The driver took the northbound route, not this bridge.",
        "Registration document uploaded.",
        "The charge posted after the vehicle went back to the rental company.",
        "This is the third duplicate charge this month.",
        "Our records show the prepaid balance covered this trip.",
        "The receipt number is on the attached scan.",
        "The discount for our fleet class was not applied.",
        "Thanks, that matches our dispatcher log.",
        "The vehicle was reported stolen on that date.",
    ),
    staff_comments=(
        "Looking into this now.",
        "Could you send the camera image you received for the plate?",
        "We asked the toll operator for the transaction record.",
        "The operator confirmed a reader fault at that gantry.",
        "Please send the registration document for the vehicle.",
        "The plate was misread by the camera.",
        "A credit will appear on the next monthly statement.",
        "We need the receipt number to trace the payment.",
        "Escalated to the billing team.",
        "The operator's record shows two reads a minute apart.",
    ),
    approval_notes=(
        "Duplicate charge confirmed; refund issued to the account.",
        "Camera misread confirmed; the charge is reversed.",
        "Rate corrected to the vehicle's class; the difference is credited.",
        "The operator confirmed a reader fault; the charge is cancelled.",
        "Payment found in the portal; the charge is marked paid.",
        "The vehicle had been sold; the charge is moved to the new owner.",
    ),
    denial_notes=(
        "The transponder read and the camera image both match the vehicle.",
        "No duplicate found: the two charges are separate trips.",
        "The charged rate matches the registered axle count.",
        "No payment matches this charge in our records.",
        "The vehicle was registered to the fleet on the date of travel.",
    ),
    settlement_notes=(
        "Settled with the customer by phone; goodwill credit applied.",
        "Charge waived as a one-time courtesy.",
        "The customer agreed the charge is correct after a call.",
        "Resolved together with the customer's other open dispute.",
    ),
    fleet_names=(
        "Northwind", "Blue Ridge", "Lakeside", "Summit", "Prairie", "Coastal",
        "Redwood", "Ironhorse", "Silverline", "Granite", "Harbor", "Pinecrest",
        "Riverbend", "Eastgate", "Highland", "Meridian", "Keystone", "Cascade",
    ),
    fleet_kinds=(
        "Logistics", "Haulage", "Transport", "Couriers", "Freight",
        "Carriers", "Distribution", "Express",
    ),
    first_names=(
        "maria", "james", "aisha", "wei", "olga", "carlos", "fatima", "john",
        "priya", "lucas", "emma", "noah", "sofia", "ahmed", "yuki", "liam",
        "chloe", "mateo", "hannah", "ivan", "grace", "omar", "nina", "david",
    ),
    last_names=(
        "garcia", "smith", "khan", "chen", "ivanova", "lopez", "hassan",
        "brown", "patel", "silva", "johnson", "nguyen", "rossi", "ali",
        "tanaka", "murphy", "martin", "diaz", "weber", "petrov", "kim",
        "mendes", "novak", "okafor",
    ),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SeedRequest:
    """Sizes as given on the command line; None means 'scale with tickets'."""

    tickets: int
    seed: int
    fleets: int | None = None
    users: int | None = None


def _invalid(field: str, message: str) -> InvalidInput:
    return InvalidInput.of_field("argument", field, message)


def staff_count(users: int) -> int:
    return max(1, users // STAFF_SHARE)


def fewest_users(fleets: int) -> int:
    """The fewest users that leave every fleet at least one member."""
    users = fleets + 1
    while users - staff_count(users) < fleets:
        users += 1
    return users


def seed_size(request: SeedRequest) -> SeedSize:
    """The sizes to load, checked; small loads get fewer fleets and users."""
    if not 0 <= request.tickets <= MAX_TICKETS:
        raise _invalid("tickets", f"--tickets must be 0 to {MAX_TICKETS:,}")
    if not 0 <= request.seed <= MAX_SEED:
        raise _invalid("seed", f"--seed must be 0 to {MAX_SEED}")
    fleets = request.fleets
    if fleets is None:
        fleets = min(DEFAULT_FLEETS, max(3, request.tickets // 50))
    if not 1 <= fleets <= MAX_FLEETS:
        raise _invalid("fleets", f"--fleets must be 1 to {MAX_FLEETS:,}")
    users = request.users
    if users is None:
        users = max(
            min(DEFAULT_USERS, max(10, request.tickets // 5)), fewest_users(fleets)
        )
    if not fewest_users(fleets) <= users <= MAX_USERS:
        raise _invalid(
            "users",
            f"--users must be {fewest_users(fleets):,} to {MAX_USERS:,} for "
            f"{fleets:,} fleets (each fleet needs a member, and "
            f"one user in {STAFF_SHARE} is staff)",
        )
    return SeedSize(
        tickets=request.tickets,
        fleets=fleets,
        users=users,
        staff=staff_count(users),
        seed=request.seed,
    )


async def load_demo_data(session: AsyncSession, size: SeedSize) -> None:
    """Fill an empty database in the session's transaction; Conflict if not empty."""
    if not await seed_repository.database_is_empty(session):
        raise Conflict(
            "the database already holds fleets, users or tickets; "
            "seed fills an empty database"
        )

    await seed_repository.lift_statement_timeout(session)
    set_aside = await seed_repository.set_aside_foreign_keys_and_indexes(session)
    await seed_repository.pause_document_rendering(session)
    await seed_repository.insert_fleets_and_users(session, size, VOCABULARY)
    await seed_repository.insert_tickets(session, size, VOCABULARY)
    await seed_repository.restore(session, set_aside)
    # After the indexes are back: rendering looks up entities and comments.
    await seed_repository.render_all_documents(session)
    await seed_repository.resume_document_rendering(session)
    await seed_repository.move_identities_past_seeded_ids(session)


async def refresh_statistics(connection: AsyncConnection) -> None:
    """After the load has committed: planner statistics and visibility map."""
    await seed_repository.refresh_statistics(connection)
