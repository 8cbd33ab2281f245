"""What must hold in the database whatever happened to the requests.

Each check returns the violations it found, as sentences; an empty list
means the database tells a consistent story.
"""

from collections import defaultdict

import asyncpg
import httpx

from app.models.enums import EventKind, TicketStatus


async def comment_sequence_gaps(connection: asyncpg.Connection) -> list[str]:
    """Every ticket's comments are numbered 1..n, and n is its counter."""
    rows = await connection.fetch(
        """
        SELECT t.id, t.last_comment_sequence,
               coalesce(array_agg(c.sequence ORDER BY c.sequence)
                        FILTER (WHERE c.id IS NOT NULL), '{}') AS sequences
        FROM support_tickets AS t
        LEFT JOIN ticket_comments AS c ON c.ticket_id = t.id
        GROUP BY t.id
        """
    )
    return [
        f"ticket {row['id']}: comment sequences {row['sequences']}, "
        f"counter {row['last_comment_sequence']}"
        for row in rows
        if list(row["sequences"]) != list(range(1, row["last_comment_sequence"] + 1))
    ]


async def histories_that_disagree(connection: asyncpg.Connection) -> list[str]:
    """Replaying a ticket's status changes from OPEN ends in its status.

    Only tickets opened through the API have a history to replay; rows the
    factories made have none (`partial_writes` finds API tickets without one).
    """
    tickets = {
        row["id"]: row["status"]
        for row in await connection.fetch("SELECT id, status FROM support_tickets")
    }
    events = defaultdict(list)
    for row in await connection.fetch(
        "SELECT ticket_id, kind, from_status, to_status FROM ticket_events ORDER BY id"
    ):
        events[row["ticket_id"]].append(row)

    problems = []
    for ticket_id, history in events.items():
        kinds = [event["kind"] for event in history]
        if EventKind.OPENED not in kinds:
            continue  # made by a factory, not opened through the API
        if kinds[0] != EventKind.OPENED:
            problems.append(f"ticket {ticket_id}: history starts with {kinds[0]}")
            continue
        status = TicketStatus.OPEN.value
        for event in history:
            if event["kind"] != EventKind.STATUS_CHANGED:
                continue
            if event["from_status"] != status:
                problems.append(
                    f"ticket {ticket_id}: moved from {event['from_status']} "
                    f"while {status}"
                )
            status = event["to_status"]
        if status != tickets[ticket_id]:
            problems.append(
                f"ticket {ticket_id}: history ends in {status}, "
                f"the ticket is {tickets[ticket_id]}"
            )
    return problems


async def counters_that_drifted(connection: asyncpg.Connection) -> list[str]:
    """ticket_counters hold exactly the rows of support_tickets."""
    rows = await connection.fetch(
        """
        SELECT fleet_id, status, reason, actual.n AS actual, kept.ticket_count AS kept
        FROM (
            SELECT fleet_id, status, reason, count(*) AS n
            FROM support_tickets GROUP BY 1, 2, 3
        ) AS actual
        FULL JOIN (SELECT * FROM ticket_counters WHERE ticket_count <> 0) AS kept
            USING (fleet_id, status, reason)
        WHERE actual.n IS DISTINCT FROM kept.ticket_count
        """
    )
    return [
        f"counter {row['fleet_id']}/{row['status']}/{row['reason']}: "
        f"kept {row['kept']}, rows {row['actual']}"
        for row in rows
    ]


async def api_counts_that_differ(
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    connection: asyncpg.Connection,
) -> list[str]:
    """The counts the API reports, for staff, equal the rows."""
    problems = []
    filters: list[dict[str, str]] = [{}]
    filters += [{"status": status.value} for status in TicketStatus]
    fleets = await connection.fetch("SELECT id FROM fleets")
    filters += [{"fleet": str(row["id"])} for row in fleets]
    for params in filters:
        response = await client.get(
            "/v2/support-tickets/",
            params={**params, "limit": "1"},
            headers=staff_headers,
        )
        conditions = " AND ".join(
            f"{'fleet_id' if name == 'fleet' else name} = ${index}"
            for index, name in enumerate(params, start=1)
        )
        values = [int(v) if name == "fleet" else v for name, v in params.items()]
        rows = await connection.fetchval(
            "SELECT count(*) FROM support_tickets"
            + (f" WHERE {conditions}" if conditions else ""),
            *values,
        )
        if response.json()["count"] != rows:
            problems.append(
                f"list {params}: count {response.json()['count']}, rows {rows}"
            )

    for row in await connection.fetch(
        """
        SELECT t.id,
            (SELECT count(*) FROM ticket_comments WHERE ticket_id = t.id) AS comments,
            (SELECT count(*) FROM ticket_events WHERE ticket_id = t.id) AS events
        FROM support_tickets AS t ORDER BY t.id
        """
    ):
        for kind in ("comments", "events"):
            response = await client.get(
                f"/v2/support-tickets/{row['id']}/{kind}/",
                params={"limit": "1"},
                headers=staff_headers,
            )
            if response.json()["count"] != row[kind]:
                problems.append(
                    f"ticket {row['id']} {kind}: count {response.json()['count']}, "
                    f"rows {row[kind]}"
                )
    return problems


async def everything_that_is_wrong(
    client: httpx.AsyncClient,
    staff_headers: dict[str, str],
    connection: asyncpg.Connection,
) -> list[str]:
    return [
        *await comment_sequence_gaps(connection),
        *await histories_that_disagree(connection),
        *await counters_that_drifted(connection),
        *await api_counts_that_differ(client, staff_headers, connection),
    ]


async def copies_of(connection: asyncpg.Connection, kind: str, marker: str) -> int:
    """How many complete copies of a marked write the database holds.

    A ticket is complete with its entities and its `opened` event; a comment
    with its `commented` event. A copy that lacks any of them is reported by
    `partial_writes`.
    """
    if kind == "open":
        count: int = await connection.fetchval(
            "SELECT count(*) FROM support_tickets WHERE description = $1", marker
        )
    else:
        count = await connection.fetchval(
            "SELECT count(*) FROM ticket_comments WHERE content = $1", marker
        )
    return count


async def partial_writes(connection: asyncpg.Connection) -> list[str]:
    """Rows that a write left without the rows written with them."""
    rows = await connection.fetch(
        """
        SELECT 'ticket ' || t.id || ' has no entity' AS problem
        FROM support_tickets AS t
        WHERE NOT EXISTS (SELECT 1 FROM ticket_entities WHERE ticket_id = t.id)
        UNION ALL
        SELECT 'ticket ' || t.id || ' has no opened event'
        FROM support_tickets AS t
        WHERE t.description LIKE 'load-%' AND NOT EXISTS (
            SELECT 1 FROM ticket_events WHERE ticket_id = t.id AND kind = 'opened'
        )
        UNION ALL
        SELECT 'comment ' || c.id || ' has no commented event'
        FROM ticket_comments AS c
        WHERE c.content LIKE 'load-%' AND NOT EXISTS (
            SELECT 1 FROM ticket_events WHERE comment_id = c.id AND kind = 'commented'
        )
        """
    )
    return [row["problem"] for row in rows]
