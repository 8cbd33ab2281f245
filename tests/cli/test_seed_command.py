"""seed: deterministic, consistent demo data, loaded into an empty database."""

from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from sqlalchemy.engine import URL

from app.services.seed import VOCABULARY
from tests.cli.conftest import assert_refused, async_engine, run_cli
from tests.database import create_database, drop_database, schema_drift

TICKETS = 600
# Scaled down for 600 tickets: N/50 fleets, N/5 users, one in 20 staff.
FLEETS, USERS, STAFF = 12, 120, 6

# Issue #4's workflow: (from, to) -> whether a note is required (None: optional).
ALLOWED_MOVES: dict[tuple[str, str], bool | None] = {
    ("OPEN", "UNDER_REVIEW"): False,
    ("UNDER_REVIEW", "OPEN"): False,
    ("UNDER_REVIEW", "APPROVED"): True,
    ("UNDER_REVIEW", "DENIED"): True,
    ("OPEN", "RESOLVED"): True,
    ("APPROVED", "RESOLVED"): None,
    ("DENIED", "RESOLVED"): None,
    ("OPEN", "CANCELLED"): False,
    ("UNDER_REVIEW", "CANCELLED"): False,
}
RESOLVING = {"APPROVED", "DENIED", "RESOLVED"}
CLOSED = {"CANCELLED", "DENIED", "RESOLVED"}

CHECKSUMS = {
    "fleets": "id",
    "users": "id",
    "fleet_memberships": "user_id, fleet_id",
    "support_tickets": "id",
    "ticket_entities": "id",
    "ticket_comments": "id",
    "ticket_events": "id",
    "ticket_counters": "fleet_id, status, reason",
}


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


async def _seed(url: URL, cwd: Path, *args: str) -> None:
    result = await run_cli("seed", *args, database_url=url, cwd=cwd)
    assert result.returncode == 0, result
    assert result.stdout == ""


async def _checksums(url: URL) -> dict[str, str]:
    connection = await asyncpg.connect(_dsn(url))
    try:
        return {
            table: await connection.fetchval(
                f"SELECT md5(string_agg(t::text, '|' ORDER BY {order}))"
                f" FROM {table} AS t"
            )
            for table, order in CHECKSUMS.items()
        }
    finally:
        await connection.close()


@pytest.fixture(scope="module")
async def seeded(
    database_server: URL, tmp_path_factory: pytest.TempPathFactory
) -> AsyncIterator[URL]:
    """One database seeded with 600 tickets, read (never changed) by the tests."""
    url = await create_database(database_server)
    await _seed(url, tmp_path_factory.mktemp("seed"), "--tickets", str(TICKETS))
    yield url
    await drop_database(database_server, url)


@pytest.fixture
async def db(seeded: URL) -> AsyncIterator[asyncpg.Connection]:
    connection = await asyncpg.connect(_dsn(seeded))
    yield connection
    await connection.close()


async def test_seed_loads_the_sizes_scaled_to_the_ticket_count(
    db: asyncpg.Connection,
) -> None:
    counts = await db.fetchrow(
        "SELECT (SELECT count(*) FROM support_tickets) AS tickets,"
        " (SELECT count(*) FROM fleets) AS fleets,"
        " (SELECT count(*) FROM users) AS users,"
        " (SELECT count(*) FROM users WHERE is_staff) AS staff"
    )

    assert dict(counts) == {
        "tickets": TICKETS,
        "fleets": FLEETS,
        "users": USERS,
        "staff": STAFF,
    }


async def test_every_fleet_user_belongs_to_one_or_two_fleets(
    db: asyncpg.Connection,
) -> None:
    memberships = await db.fetch(
        "SELECT u.is_staff, count(m.fleet_id) AS fleets FROM users AS u"
        " LEFT JOIN fleet_memberships AS m ON m.user_id = u.id GROUP BY u.id"
    )

    assert {row["fleets"] for row in memberships if row["is_staff"]} == {0}
    assert {row["fleets"] for row in memberships if not row["is_staff"]} == {1, 2}


async def test_tickets_cover_every_status_and_reason(db: asyncpg.Connection) -> None:
    statuses = await db.fetchval(
        "SELECT array_agg(DISTINCT status) FROM support_tickets"
    )
    reasons = await db.fetchval(
        "SELECT array_agg(DISTINCT reason) FROM support_tickets"
    )

    assert set(statuses) == {
        "OPEN", "UNDER_REVIEW", "APPROVED", "DENIED", "CANCELLED", "RESOLVED"
    }  # fmt: skip
    assert len(reasons) == 6


async def test_each_ticket_is_opened_by_a_member_of_its_fleet(
    db: asyncpg.Connection,
) -> None:
    outsiders = await db.fetchval(
        "SELECT count(*) FROM support_tickets AS t WHERE NOT EXISTS ("
        " SELECT FROM fleet_memberships AS m"
        " WHERE m.user_id = t.created_by_id AND m.fleet_id = t.fleet_id)"
    )

    assert outsiders == 0


async def test_descriptions_are_8_to_20_words_of_the_vocabulary(
    db: asyncpg.Connection,
) -> None:
    descriptions = await db.fetch("SELECT description FROM support_tickets")
    vocabulary = set(VOCABULARY.description_words)

    for row in descriptions:
        words = row["description"].rstrip(".").lower().split()
        assert 8 <= len(words) <= 20
        assert set(words) <= vocabulary


async def test_resolution_fields_are_set_exactly_for_resolving_statuses(
    db: asyncpg.Connection,
) -> None:
    tickets = await db.fetch(
        "SELECT t.status, t.resolved_by_id, t.resolved_at, t.resolution_note,"
        " t.created_at, t.updated_at, u.is_staff AS resolver_is_staff"
        " FROM support_tickets AS t LEFT JOIN users AS u ON u.id = t.resolved_by_id"
    )

    for ticket in tickets:
        resolved = ticket["status"] in RESOLVING
        assert (ticket["resolved_by_id"] is not None) is resolved
        assert (ticket["resolved_at"] is not None) is resolved
        assert bool(ticket["resolution_note"]) is resolved
        assert ticket["updated_at"] >= ticket["created_at"]
        if resolved:
            assert ticket["resolver_is_staff"]


async def test_entities_are_one_to_three_and_only_open_tickets_hold_claims(
    db: asyncpg.Connection,
) -> None:
    rows = await db.fetch(
        "SELECT t.status, count(*) AS entities,"
        " bool_and(e.holds_claim) AS all_held, bool_or(e.holds_claim) AS any_held"
        " FROM support_tickets AS t JOIN ticket_entities AS e ON e.ticket_id = t.id"
        " GROUP BY t.id"
    )
    duplicates = await db.fetchval(
        "SELECT count(*) FROM (SELECT FROM ticket_entities"
        " GROUP BY entity_type, entity_id HAVING count(*) > 1) AS d"
    )

    assert len(rows) == TICKETS
    assert {row["entities"] for row in rows} == {1, 2, 3}
    for row in rows:
        if row["status"] in CLOSED:
            assert not row["any_held"]
        else:
            assert row["all_held"]
    assert duplicates == 0


async def test_comments_are_numbered_from_one_without_gaps(
    db: asyncpg.Connection,
) -> None:
    rows = await db.fetch(
        "SELECT t.last_comment_sequence,"
        " coalesce(array_agg(c.sequence ORDER BY c.sequence)"
        "   FILTER (WHERE c.id IS NOT NULL), '{}') AS sequences"
        " FROM support_tickets AS t"
        " LEFT JOIN ticket_comments AS c ON c.ticket_id = t.id GROUP BY t.id"
    )

    assert {row["last_comment_sequence"] for row in rows} == {0, 1, 2, 3, 4, 5}
    for row in rows:
        assert row["sequences"] == list(range(1, row["last_comment_sequence"] + 1))


async def test_each_history_is_a_legal_path_to_the_ticket_status(
    db: asyncpg.Connection,
) -> None:
    tickets = {
        row["id"]: row
        for row in await db.fetch(
            "SELECT id, status, created_by_id, created_at, updated_at,"
            " resolved_at, last_comment_sequence FROM support_tickets"
        )
    }
    comment_ids = {
        row["id"]: row["ticket_id"]
        for row in await db.fetch("SELECT id, ticket_id FROM ticket_comments")
    }
    history = defaultdict(list)
    for event in await db.fetch("SELECT * FROM ticket_events ORDER BY ticket_id, id"):
        history[event["ticket_id"]].append(event)

    assert history.keys() == tickets.keys()
    for ticket_id, events in history.items():
        ticket = tickets[ticket_id]
        opened, *rest = events
        assert opened["kind"] == "opened"
        assert opened["actor_id"] == ticket["created_by_id"]
        assert opened["created_at"] == ticket["created_at"]

        commented = [event for event in rest if event["kind"] == "commented"]
        assert len(commented) == ticket["last_comment_sequence"]
        assert all(comment_ids[event["comment_id"]] == ticket_id for event in commented)

        status, resolved_at = "OPEN", None
        for event in rest:
            if event["kind"] != "status_changed":
                continue
            move = (event["from_status"], event["to_status"])
            assert move in ALLOWED_MOVES, move
            assert event["from_status"] == status
            note_required = ALLOWED_MOVES[move]
            if note_required is not None:
                assert bool(event["note"]) is note_required, move
            if event["to_status"] in RESOLVING:
                resolved_at = event["created_at"]
            status = event["to_status"]
        assert status == ticket["status"]
        if status in RESOLVING:
            assert resolved_at == ticket["resolved_at"]

        times = [event["created_at"] for event in events]
        assert times == sorted(times)
        assert times[-1] == ticket["updated_at"]


async def test_counters_match_the_tickets_exactly(db: asyncpg.Connection) -> None:
    counted = await db.fetch(
        "SELECT fleet_id, status, reason, count(*) AS n FROM support_tickets"
        " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"
    )
    kept = await db.fetch(
        "SELECT fleet_id, status, reason, ticket_count AS n FROM ticket_counters"
        " WHERE ticket_count > 0 ORDER BY 1, 2, 3"
    )

    assert [tuple(row) for row in kept] == [tuple(row) for row in counted]


async def test_every_ticket_has_its_document_rendered_once(
    db: asyncpg.Connection,
) -> None:
    stale = await db.fetchval(
        "SELECT count(*) FROM support_tickets t"
        " LEFT JOIN ticket_documents d ON d.ticket_id = t.id"
        " LEFT JOIN render_ticket_documents(ARRAY[t.id]) r ON true"
        " WHERE d.body IS DISTINCT FROM r.body"
    )
    triggers_off = await db.fetchval(
        "SELECT count(*) FROM pg_trigger"
        " WHERE tgname LIKE 'refresh_documents_%' AND tgenabled = 'D'"
    )

    assert stale == 0
    assert triggers_off == 0


async def test_every_fleet_with_tickets_has_its_list_version_raised_once(
    db: asyncpg.Connection,
) -> None:
    versions = await db.fetch(
        "SELECT fleet_id, version FROM ticket_list_versions ORDER BY fleet_id"
    )
    fleets = await db.fetch(
        "SELECT DISTINCT fleet_id FROM support_tickets ORDER BY fleet_id"
    )
    trigger_off = await db.fetchval(
        "SELECT count(*) FROM pg_trigger"
        " WHERE tgname = 'raise_list_version' AND tgenabled = 'D'"
    )

    assert [row["fleet_id"] for row in versions] == [row[0] for row in fleets]
    assert {row["version"] for row in versions} == {1}
    assert trigger_off == 0


async def test_seeded_database_still_matches_the_models(seeded: URL) -> None:
    """The load sets foreign keys and indexes aside; all must be back."""

    engine = async_engine(seeded)
    try:
        async with engine.connect() as connection:
            assert await connection.run_sync(schema_drift) == []
    finally:
        await engine.dispose()


async def test_same_size_and_seed_give_the_same_rows(
    seeded: URL, empty_database: URL, tmp_path: Path
) -> None:
    await _seed(empty_database, tmp_path, "--tickets", str(TICKETS), "--seed", "1")

    assert await _checksums(empty_database) == await _checksums(seeded)


async def test_another_seed_gives_other_rows(
    seeded: URL, empty_database: URL, tmp_path: Path
) -> None:
    await _seed(empty_database, tmp_path, "--tickets", str(TICKETS), "--seed", "2")

    mine, theirs = await _checksums(empty_database), await _checksums(seeded)
    assert mine["support_tickets"] != theirs["support_tickets"]
    assert mine["ticket_events"] != theirs["ticket_events"]


async def test_ids_continue_after_the_seeded_ones(
    empty_database: URL, tmp_path: Path
) -> None:
    await _seed(empty_database, tmp_path, "--tickets", "50", "--fleets", "4")

    result = await run_cli(
        "create-fleet", "After the seed", database_url=empty_database, cwd=tmp_path
    )

    assert result.last_line == "5"


async def test_seed_refuses_a_database_that_holds_data(
    seeded: URL, tmp_path: Path
) -> None:
    before = await _checksums(seeded)

    result = await run_cli("seed", "--tickets", "10", database_url=seeded, cwd=tmp_path)

    assert_refused(result, says="seed fills an empty database")
    assert await _checksums(seeded) == before


@pytest.mark.parametrize(
    ("args", "says", "code"),
    [
        (("--tickets", "-1"), "--tickets must be 0 to", 1),
        (("--tickets", "10000001"), "--tickets must be 0 to", 1),
        (("--tickets", "many"), "expected a whole number", 2),
        (("--tickets", "10", "--seed", "-1"), "--seed must be", 1),
        (("--tickets", "10", "--fleets", "0"), "--fleets must be", 1),
        (("--tickets", "10", "--fleets", "10", "--users", "5"), "--users must be", 1),
        ((), "required: --tickets", 2),
    ],
)
async def test_seed_refuses_bad_sizes_and_writes_nothing(
    empty_database: URL,
    tmp_path: Path,
    args: tuple[str, ...],
    says: str,
    code: int,
) -> None:
    result = await run_cli("seed", *args, database_url=empty_database, cwd=tmp_path)

    assert_refused(result, says=says, code=code)
    connection = await asyncpg.connect(_dsn(empty_database))
    try:
        tables = await connection.fetchval(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'"
        )
    finally:
        await connection.close()
    assert tables == 0
