"""Ticket counters: let a status or reason change, or a delete, lower a count.

The counting triggers of 0001 upserted each key's net change as the row to
insert, with `ON CONFLICT DO UPDATE` adding it to the stored count. But
PostgreSQL checks a proposed row's CHECK constraints before it looks for a
conflict, so a negative change (-1 for the status a ticket leaves) broke
`ticket_count >= 0` and every status change failed. The proposed row now
carries only what a new key can hold (a positive change); the update adds
the key's real change, read from the same CTE.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-04 08:30:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ADDED = "SELECT fleet_id, status, reason, 1 AS delta FROM new_rows"
_REMOVED = "SELECT fleet_id, status, reason, -1 AS delta FROM old_rows"
_CHANGES = {
    "support_tickets_count_inserted": _ADDED,
    "support_tickets_count_updated": f"{_ADDED} UNION ALL {_REMOVED}",
    "support_tickets_count_deleted": _REMOVED,
}

# Keys are still upserted in a fixed order, so that concurrent writers
# cannot deadlock on the counter rows.
_COUNT_UPSERT = """
    WITH changes AS (
        SELECT fleet_id, status, reason, sum(delta) AS delta
        FROM ({changes}) AS changed_rows
        GROUP BY fleet_id, status, reason
        HAVING sum(delta) <> 0
    )
    INSERT INTO ticket_counters AS c (fleet_id, status, reason, ticket_count)
    SELECT fleet_id, status, reason, greatest(delta, 0)
    FROM changes
    ORDER BY fleet_id, status, reason
    ON CONFLICT (fleet_id, status, reason)
    DO UPDATE SET ticket_count = c.ticket_count + (
        SELECT changes.delta FROM changes
        WHERE (changes.fleet_id, changes.status, changes.reason)
            = (c.fleet_id, c.status, c.reason)
    )
"""

# As 0001 wrote it, for the downgrade.
_0001_COUNT_UPSERT = """
    INSERT INTO ticket_counters AS c (fleet_id, status, reason, ticket_count)
    SELECT fleet_id, status, reason, sum(delta)
    FROM ({changes}) AS changes
    GROUP BY fleet_id, status, reason
    HAVING sum(delta) <> 0
    ORDER BY fleet_id, status, reason
    ON CONFLICT (fleet_id, status, reason)
    DO UPDATE SET ticket_count = c.ticket_count + excluded.ticket_count
"""


def _replace_functions(upsert: str) -> None:
    for name, changes in _CHANGES.items():
        op.execute(
            f"""
            CREATE OR REPLACE FUNCTION {name}() RETURNS trigger
            LANGUAGE plpgsql AS $$
            BEGIN
                {upsert.format(changes=changes)};
                RETURN NULL;
            END
            $$
            """
        )


def upgrade() -> None:
    _replace_functions(_COUNT_UPSERT)


def downgrade() -> None:
    _replace_functions(_0001_COUNT_UPSERT)
