"""Set-based SQL that fills an empty database with deterministic demo data.

Every pseudo-random choice is `hashint8extended(key, seed)`: a pure function
of the row's number and the seed, so the same sizes and seed give the same
rows on any server, and nothing is generated row by row in Python. Ids are
given explicitly (1, 2, 3 ... in ticket order) and the identity sequences are
moved past them at the end.
"""

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import BigInteger, DateTime, Text, bindparam, text
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession
from sqlalchemy.types import TypeEngine

from app.models.enums import CLOSED_STATUSES, TicketReason, TicketStatus

INT64_MAX = 2**63 - 1
# The tickets' creation dates are spread over two years ending here; fixed,
# so that the data does not depend on the day it was loaded.
PERIOD_START = datetime(2024, 1, 1, tzinfo=UTC)
PERIOD_SECONDS = 730 * 24 * 3600
# Entity ids of ticket i are 3i-2, 3i-1 and 3i: unique across the dataset,
# so that no charge is claimed by two open tickets.
ENTITIES_PER_TICKET_MAX = 3
COMMENTS_PER_TICKET_MAX = 5

# Every table the load writes, ticket_counters through the triggers.
LOADED_TABLES = (
    "fleets",
    "users",
    "fleet_memberships",
    "support_tickets",
    "ticket_entities",
    "ticket_comments",
    "ticket_events",
    "ticket_counters",
)
_TABLES_WITH_IDENTITY = (
    "fleets",
    "users",
    "support_tickets",
    "ticket_entities",
    "ticket_comments",
    "ticket_events",
)

_RESOLVING = (TicketStatus.APPROVED, TicketStatus.DENIED, TicketStatus.RESOLVED)


@dataclass(frozen=True, slots=True)
class Step:
    """One status change of a path; `note` when the workflow requires one."""

    to_status: TicketStatus
    by_creator: bool = False
    note: bool = False


# Legal histories through the workflow (issue #4's transition table), by the
# status they end in. A ticket draws one of the paths of its final status.
S = TicketStatus
WORKFLOW_PATHS: dict[TicketStatus, tuple[tuple[Step, ...], ...]] = {
    S.OPEN: (
        (),
        # Returned to the customer for more information.
        (Step(S.UNDER_REVIEW), Step(S.OPEN)),
    ),
    S.UNDER_REVIEW: ((Step(S.UNDER_REVIEW),),),
    S.APPROVED: ((Step(S.UNDER_REVIEW), Step(S.APPROVED, note=True)),),
    S.DENIED: ((Step(S.UNDER_REVIEW), Step(S.DENIED, note=True)),),
    S.CANCELLED: (
        (Step(S.CANCELLED, by_creator=True),),
        (Step(S.UNDER_REVIEW), Step(S.CANCELLED, by_creator=True)),
    ),
    S.RESOLVED: (
        # Settled without review.
        (Step(S.RESOLVED, note=True),),
        (Step(S.UNDER_REVIEW), Step(S.APPROVED, note=True), Step(S.RESOLVED)),
        (Step(S.UNDER_REVIEW), Step(S.DENIED, note=True), Step(S.RESOLVED)),
    ),
}
del S

# Out of 1000 tickets, how many end in each status.
STATUS_WEIGHTS: tuple[tuple[TicketStatus, int], ...] = (
    (TicketStatus.OPEN, 250),
    (TicketStatus.UNDER_REVIEW, 150),
    (TicketStatus.APPROVED, 120),
    (TicketStatus.DENIED, 100),
    (TicketStatus.CANCELLED, 80),
    (TicketStatus.RESOLVED, 300),
)
REASON_WEIGHTS: tuple[tuple[TicketReason, int], ...] = (
    (TicketReason.INCORRECT_AMOUNT, 300),
    (TicketReason.WRONG_VEHICLE, 150),
    (TicketReason.DUPLICATE_CHARGE, 200),
    (TicketReason.NOT_MY_TOLL, 150),
    (TicketReason.ALREADY_PAID, 120),
    (TicketReason.OTHER, 80),
)


@dataclass(frozen=True, slots=True)
class SeedVocabulary:
    """The words the data is made of; see app.services.seed."""

    description_words: Sequence[str]
    customer_comments: Sequence[str]
    staff_comments: Sequence[str]
    approval_notes: Sequence[str]
    denial_notes: Sequence[str]
    settlement_notes: Sequence[str]
    fleet_names: Sequence[str]
    fleet_kinds: Sequence[str]
    first_names: Sequence[str]
    last_names: Sequence[str]


@dataclass(frozen=True, slots=True)
class SeedSize:
    tickets: int
    fleets: int
    users: int
    staff: int
    seed: int


def _draw(key: str, salt: int, modulus: str) -> str:
    """SQL for a pseudo-random integer in [0, modulus), fixed by key and seed.

    `salt` (below 64) tells apart the several draws made for one row.
    """
    return (
        f"((hashint8extended(({key}) * 64 + {salt}, :seed) & {INT64_MAX})"
        f" % ({modulus}))"
    )


def _weighted(key: str, salt: int, weights: Sequence[tuple[str, int]]) -> str:
    """SQL CASE picking a code with the given weights (out of their total)."""
    total = sum(weight for _, weight in weights)
    roll = _draw(key, salt, str(total))
    branches, bound = [], 0
    for code, weight in weights[:-1]:
        bound += weight
        branches.append(f"WHEN {roll} < {bound} THEN '{code}'")
    return f"(CASE {' '.join(branches)} ELSE '{weights[-1][0]}' END)"


def _pick(array: str, key: str, salt: int) -> str:
    """SQL for a pseudo-random element of a text[] parameter."""
    return f"({array})[1 + {_draw(key, salt, f'cardinality({array})')}]"


def _sql_type(value: object) -> TypeEngine[Any]:
    if isinstance(value, int):
        return BigInteger()
    if isinstance(value, datetime):
        return DateTime(timezone=True)
    return ARRAY(Text())


async def _execute(
    session: AsyncSession, statement: str, params: Mapping[str, object]
) -> None:
    """Run SQL with typed parameters.

    Typed, because PostgreSQL cannot infer one type for a parameter used in
    several places (a count in generate_series and in arithmetic), nor any
    type for an array passed to cardinality().
    """
    used = {
        name: value
        for name, value in params.items()
        if re.search(rf"(?<!:):{name}\b", statement)
    }
    typed = text(statement).bindparams(
        *(bindparam(name, type_=_sql_type(value)) for name, value in used.items())
    )
    await session.execute(typed, used)


def _paths_values() -> str:
    """VALUES (final status, variant, steps, status of the noted step)."""
    rows = []
    for status, paths in WORKFLOW_PATHS.items():
        for variant, steps in enumerate(paths):
            noted = next((f"'{s.to_status}'" for s in steps if s.note), "NULL")
            rows.append(f"('{status}', {variant}, {len(steps)}, {noted})")
    return ", ".join(rows)


def _steps_values() -> str:
    """VALUES (final status, variant, step, from, to, by creator, noted)."""
    rows = []
    for status, paths in WORKFLOW_PATHS.items():
        for variant, steps in enumerate(paths):
            current = TicketStatus.OPEN
            for number, step in enumerate(steps, start=1):
                rows.append(
                    f"('{status}', {variant}, {number}, '{current}',"
                    f" '{step.to_status}', {step.by_creator}, {step.note})"
                )
                current = step.to_status
    return ", ".join(rows)


def _variants_of(status: TicketStatus) -> int:
    return len(WORKFLOW_PATHS[status])


async def database_is_empty(session: AsyncSession) -> bool:
    statement = text(
        "SELECT NOT (EXISTS (SELECT FROM fleets) OR EXISTS (SELECT FROM users)"
        " OR EXISTS (SELECT FROM support_tickets))"
    )
    return bool(await session.scalar(statement))


async def lift_statement_timeout(session: AsyncSession) -> None:
    """A large load runs for minutes; the request time limit is not for it.

    The memory is for sorting rows into id order and rebuilding indexes.
    """
    await session.execute(text("SET LOCAL statement_timeout = 0"))
    await session.execute(text("SET LOCAL work_mem = '256MB'"))
    await session.execute(text("SET LOCAL maintenance_work_mem = '512MB'"))


@dataclass(frozen=True, slots=True)
class SetAside:
    """A foreign key or index removed for the load, and how to put it back."""

    drop: str
    create: str


async def set_aside_foreign_keys_and_indexes(session: AsyncSession) -> list[SetAside]:
    """Drop the loaded tables' foreign keys and secondary indexes.

    PostgreSQL's advice for bulk loads: checking a foreign key row by row
    and growing an index entry by entry cost several times more than one
    validating join and one sorted index build at the end. Their exact
    definitions are read from the catalog, so what is put back is what the
    migrations made, and all of it happens in the load's transaction: a
    failure rolls back to the intact schema. Primary keys and unique
    constraints stay, so duplicates still fail at once.
    """
    statement = text("""
        SELECT format('ALTER TABLE %s DROP CONSTRAINT %I', conrelid::regclass,
                      conname) AS drop,
               format('ALTER TABLE %s ADD CONSTRAINT %I %s', conrelid::regclass,
                      conname, pg_get_constraintdef(oid)) AS create
        FROM pg_constraint
        WHERE contype = 'f' AND conrelid::regclass::text = ANY(:tables)
        UNION ALL
        SELECT format('DROP INDEX %s', indexrelid::regclass),
               pg_get_indexdef(indexrelid)
        FROM pg_index AS i
        WHERE indrelid::regclass::text = ANY(:tables)
          AND NOT EXISTS (SELECT FROM pg_constraint AS c
                          WHERE c.conindid = i.indexrelid
                            AND c.conrelid = i.indrelid)
        """).bindparams(bindparam("tables", type_=ARRAY(Text())))
    result = await session.execute(statement, {"tables": list(LOADED_TABLES)})
    set_aside = [SetAside(drop=row.drop, create=row.create) for row in result]
    for item in set_aside:
        await session.execute(text(item.drop))
    return set_aside


async def restore(session: AsyncSession, set_aside: Sequence[SetAside]) -> None:
    """Rebuild the indexes, then validate and re-add the foreign keys."""
    for item in reversed(set_aside):
        await session.execute(text(item.create))


async def insert_fleets_and_users(
    session: AsyncSession, size: SeedSize, words: SeedVocabulary
) -> None:
    """Fleets 1..F; staff users 1..K, then fleet users user1, user2 ...

    Fleet user j belongs to fleet ((j - 1) mod F) + 1, and one in ten also to
    the next fleet, so that every fleet has members and some users two.
    """
    params = {
        "seed": size.seed,
        "fleets": size.fleets,
        "users": size.users,
        "staff": size.staff,
        "fleet_names": list(words.fleet_names),
        "fleet_kinds": list(words.fleet_kinds),
        "first_names": list(words.first_names),
        "last_names": list(words.last_names),
        "start": PERIOD_START,
    }
    await _execute(
        session,
        f"""
        INSERT INTO fleets (id, name, created_at)
        SELECT f,
               {_pick(":fleet_names", "f", 1)} || ' '
                   || {_pick(":fleet_kinds", "f", 2)} || ' ' || f,
               :start - interval '90 days'
                   + f * interval '1 minute'
        FROM generate_series(1, :fleets) AS f
        """,
        params,
    )
    await _execute(
        session,
        f"""
        INSERT INTO users (id, username, email, is_staff, is_active, created_at)
        SELECT u,
               CASE WHEN u <= :staff THEN 'staff' || u
                    ELSE 'user' || (u - :staff) END,
               CASE WHEN u <= :staff
                    THEN 'staff' || u || '@support.example.com'
                    ELSE lower({_pick(":first_names", "u", 1)}) || '.'
                         || lower({_pick(":last_names", "u", 2)}) || '.'
                         || (u - :staff) || '@fleet'
                         || ((u - :staff - 1) % :fleets + 1) || '.example.com'
               END,
               u <= :staff,
               true,
               :start - interval '60 days'
                   + u * interval '1 minute'
        FROM generate_series(1, :users) AS u
        """,
        params,
    )
    await _execute(
        session,
        f"""
        INSERT INTO fleet_memberships (user_id, fleet_id, created_at)
        SELECT u, (u - :staff - 1) % :fleets + 1,
               :start - interval '30 days'
        FROM generate_series(:staff + 1, :users) AS u
        UNION ALL
        SELECT u, (u - :staff) % :fleets + 1,
               :start - interval '20 days'
        FROM generate_series(:staff + 1, :users) AS u
        WHERE :fleets > 1 AND {_draw("u", 3, "10")} = 0
        """,
        params,
    )


async def insert_tickets(
    session: AsyncSession, size: SeedSize, words: SeedVocabulary
) -> None:
    """Tickets with their entities, comments and a history that tells the truth.

    Each ticket's plan is drawn once into a temporary table: fleet, creator
    (a member of that fleet), reviewing staff, final status and the path of
    the workflow that led there, number of comments and entities, and the
    gap between its events. Its history runs: `opened` at created_at, one
    `commented` per comment, then one `status_changed` per step, each a gap
    later; updated_at is the last of them, resolved_at the resolving step.
    """
    params = {
        "seed": size.seed,
        "tickets": size.tickets,
        "fleets": size.fleets,
        "users": size.users,
        "staff": size.staff,
        "start": PERIOD_START,
        "words": list(words.description_words),
        "customer_comments": list(words.customer_comments),
        "staff_comments": list(words.staff_comments),
        "approvals": list(words.approval_notes),
        "denials": list(words.denial_notes),
        "settlements": list(words.settlement_notes),
    }
    resolving = ", ".join(f"'{status}'" for status in _RESOLVING)
    closed = ", ".join(f"'{status}'" for status in sorted(CLOSED_STATUSES))
    variant_counts = " ".join(
        f"WHEN '{status}' THEN {_variants_of(status)}" for status in TicketStatus
    )
    # The member of fleet f drawn as creator: fleet users f, f + F, f + 2F ...
    members_of_fleet = "((:users - :staff - fleet_id) / :fleets + 1)"
    step_seconds = f"GREATEST(1, {PERIOD_SECONDS} / GREATEST(:tickets, 1))"

    await _execute(
        session,
        f"""
        CREATE TEMPORARY TABLE seed_plan ON COMMIT DROP AS
        WITH drawn AS (
            SELECT i,
                   1 + {_draw("i", 1, ":fleets")} AS fleet_id,
                   {_weighted("i", 2, STATUS_WEIGHTS)} AS status,
                   {_weighted("i", 3, REASON_WEIGHTS)} AS reason,
                   1 + {_draw("i", 4, ":staff")} AS reviewer_id,
                   {_draw("i", 5, str(COMMENTS_PER_TICKET_MAX + 1))} AS comments,
                   1 + {_draw("i", 6, str(ENTITIES_PER_TICKET_MAX))} AS entities,
                   interval '1 minute' * (30 + {_draw("i", 7, "4320")}) AS gap,
                   :start + interval '1 second' * (
                       (i - 1) * {PERIOD_SECONDS} / :tickets
                       + {_draw("i", 8, step_seconds)}
                   ) AS created_at
            FROM generate_series(1, :tickets) AS i
        ), pathed AS (
            SELECT drawn.*,
                   :staff + fleet_id + :fleets
                       * {_draw("i", 9, members_of_fleet)} AS creator_id,
                   {_draw("i", 10, f"CASE status {variant_counts} END")}
                       AS variant
            FROM drawn
        )
        SELECT pathed.*,
               paths.steps,
               created_at + gap * (comments + paths.steps) AS updated_at,
               -- The note of the step that decided the ticket, kept on it.
               CASE paths.noted_status
                   WHEN 'APPROVED' THEN {_pick(":approvals", "i", 11)}
                   WHEN 'DENIED' THEN {_pick(":denials", "i", 11)}
                   WHEN 'RESOLVED' THEN {_pick(":settlements", "i", 11)}
                   ELSE ''
               END AS note,
               CAST(sum(comments) OVER numbered AS bigint) - comments
                   AS comments_before,
               CAST(sum(entities) OVER numbered AS bigint) - entities
                   AS entities_before,
               CAST(sum(1 + comments + paths.steps) OVER numbered AS bigint)
                   - (1 + comments + paths.steps) AS events_before
        FROM pathed
        JOIN (VALUES {_paths_values()})
            AS paths (status, variant, steps, noted_status)
            USING (status, variant)
        WINDOW numbered AS (ORDER BY i)
        """,
        params,
    )
    # Autovacuum never analyzes temporary tables; without statistics the
    # planner guesses wildly at the joins below.
    await session.execute(text("ANALYZE seed_plan"))
    await _execute(
        session,
        f"""
        INSERT INTO support_tickets (
            id, fleet_id, created_by_id, status, reason, ticket_type,
            description, resolution_note, resolved_by_id, resolved_at,
            created_at, updated_at, last_comment_sequence
        )
        SELECT i, fleet_id, creator_id, status, reason, 'DISPUTE',
               (SELECT upper(left(sentence, 1)) || substr(sentence, 2) || '.'
                FROM (
                    SELECT string_agg({_pick(":words", "i * 32 + w", 12)}, ' '
                                      ORDER BY w) AS sentence
                    FROM generate_series(1, 8 + {_draw("i", 13, "13")}) AS w
                ) AS words),
               note,
               CASE WHEN status IN ({resolving}) THEN reviewer_id END,
               CASE WHEN status IN ({resolving}) THEN updated_at END,
               created_at, updated_at, comments
        FROM seed_plan
        ORDER BY i
        """,
        params,
    )
    await _execute(
        session,
        f"""
        INSERT INTO ticket_entities (id, ticket_id, entity_type, entity_id,
                                     holds_claim)
        SELECT entities_before + e, i,
               CASE WHEN e = 1 THEN 'toll_charge'
                    WHEN {_draw("i * 4 + e", 14, "10")} < 6 THEN 'toll_charge'
                    WHEN {_draw("i * 4 + e", 14, "10")} < 8 THEN 'vehicle'
                    ELSE 'transponder' END,
               {ENTITIES_PER_TICKET_MAX} * (i - 1) + e,
               status NOT IN ({closed})
        FROM seed_plan, generate_series(1, entities) AS e
        ORDER BY i, e
        """,
        params,
    )
    await _execute(
        session,
        f"""
        INSERT INTO ticket_comments (id, ticket_id, author_id, content, sequence,
                                     created_at, updated_at)
        SELECT comments_before + c, i,
               CASE WHEN c % 2 = 1 THEN creator_id ELSE reviewer_id END,
               CASE WHEN c % 2 = 1
                    THEN {_pick(":customer_comments", "i * 8 + c", 15)}
                    ELSE {_pick(":staff_comments", "i * 8 + c", 15)} END,
               c, created_at + gap * c, created_at + gap * c
        FROM seed_plan, generate_series(1, comments) AS c
        ORDER BY i, c
        """,
        params,
    )
    await _execute(
        session,
        f"""
        INSERT INTO ticket_events (id, ticket_id, kind, actor_id, created_at,
                                   from_status, to_status, note, comment_id)
        SELECT events_before + 1, i, 'opened', creator_id, created_at,
               NULL, NULL, NULL, NULL
        FROM seed_plan
        UNION ALL
        SELECT events_before + 1 + c, i, 'commented',
               CASE WHEN c % 2 = 1 THEN creator_id ELSE reviewer_id END,
               created_at + gap * c, NULL, NULL, NULL, comments_before + c
        FROM seed_plan, generate_series(1, comments) AS c
        UNION ALL
        SELECT events_before + 1 + comments + step.number, i, 'status_changed',
               CASE WHEN step.by_creator THEN creator_id ELSE reviewer_id END,
               created_at + gap * (comments + step.number),
               step.from_status, step.to_status,
               CASE WHEN step.noted THEN note END, NULL
        FROM seed_plan
        JOIN (VALUES {_steps_values()}) AS step (
            status, variant, number, from_status, to_status, by_creator, noted
        ) USING (status, variant)
        ORDER BY 1
        """,
        params,
    )


# The statement-level triggers of migration 0004 that re-render documents,
# and the row-level one of 0005 that raises a fleet's list version for each
# document written.
_DOCUMENT_TRIGGERS = (
    ("support_tickets", "refresh_documents_insert"),
    ("ticket_entities", "refresh_documents_insert"),
    ("ticket_comments", "refresh_documents_insert"),
    ("ticket_documents", "raise_list_version"),
)


async def pause_document_rendering(session: AsyncSession) -> None:
    """Stop re-rendering documents per statement for the load's transaction.

    Each loaded table would otherwise re-render every ticket it touched
    (three renders of a million tickets, on tables without their indexes);
    `render_all_documents` renders each once at the end instead, and raises
    each fleet's list version once rather than once per document. The
    triggers come back with `resume_document_rendering`, or by rollback.
    """
    for table, trigger in _DOCUMENT_TRIGGERS:
        await session.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))


async def render_all_documents(session: AsyncSession) -> None:
    await session.execute(
        text("SELECT refresh_ticket_documents(ARRAY(SELECT id FROM support_tickets))")
    )
    await session.execute(
        text(
            "SELECT raise_ticket_list_versions("
            "ARRAY(SELECT DISTINCT fleet_id FROM support_tickets))"
        )
    )


async def resume_document_rendering(session: AsyncSession) -> None:
    for table, trigger in _DOCUMENT_TRIGGERS:
        await session.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))


async def move_identities_past_seeded_ids(session: AsyncSession) -> None:
    """Later inserts (the API, the CLI) continue after the seeded ids."""
    for table in _TABLES_WITH_IDENTITY:
        await session.execute(
            text(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                f" max(id)) FROM {table} HAVING max(id) IS NOT NULL"
            )
        )


async def refresh_statistics(connection: AsyncConnection) -> None:
    """VACUUM (ANALYZE) every loaded table, in autocommit mode.

    ANALYZE gives the planner its statistics; VACUUM sets the visibility
    map, without which index-only scans (the list's counts and deep
    offsets) read the table anyway. Done now, it also spares the next
    minutes the autovacuum a bulk insert triggers. VACUUM cannot run inside
    a transaction: `connection` must be in autocommit mode.
    """
    await connection.execute(text("SET statement_timeout = 0"))
    for table in (*LOADED_TABLES, "ticket_documents"):
        await connection.execute(text(f"VACUUM (ANALYZE) {table}"))
