"""A version per fleet, raised in the transaction of every change to its tickets.

The list's answers are kept per worker (app/api/list_cache.py) and reused only
while the versions of the fleets the caller sees are what they were when the
answer was computed. For that, every change that can alter a list answer
raises its fleet's version in the writing transaction:

- every write of a ticket's document (migration 0004 re-renders it when the
  ticket, its entities or comments are written, or a user named in it is
  renamed);
- a ticket deleted or moved to another fleet (its old fleet), or the table
  truncated (every fleet).

The versions are raised when the transaction commits (deferred constraint
triggers), after every other lock it takes: raised mid-transaction, the
fleet's row would be locked in a different order by different writers (a
ticket closed releases its charges through a nested statement) and they
deadlock. Versions only grow and rows are never deleted (no foreign key to
fleets), so the sum of the versions of a set of fleets changes whenever any
of them changes. A fleet with no row has not changed since the versions
began: it counts as 0.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_RAISE = """
CREATE FUNCTION raise_ticket_list_versions(fleet_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ticket_list_versions AS v (fleet_id, version)
    SELECT DISTINCT fleet_id, 1 FROM unnest(fleet_ids) AS changed (fleet_id)
    ORDER BY fleet_id
    ON CONFLICT (fleet_id) DO UPDATE SET version = v.version + 1
$$
"""

_DOCUMENT_WRITTEN = """
CREATE FUNCTION ticket_documents_raise_list_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM raise_ticket_list_versions(ARRAY(
        SELECT fleet_id FROM support_tickets WHERE id = NEW.ticket_id
    ));
    RETURN NULL;
END
$$
"""

_TICKET_LEFT = """
CREATE FUNCTION support_tickets_raise_list_version() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        PERFORM raise_ticket_list_versions(ARRAY(
            SELECT fleet_id FROM ticket_list_versions
        ));
    ELSIF TG_OP = 'DELETE' OR OLD.fleet_id <> NEW.fleet_id THEN
        PERFORM raise_ticket_list_versions(ARRAY[OLD.fleet_id]);
    END IF;
    RETURN NULL;
END
$$
"""

TRIGGERS = (
    """
    CREATE CONSTRAINT TRIGGER raise_list_version
    AFTER INSERT OR UPDATE ON ticket_documents
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION ticket_documents_raise_list_version()
    """,
    """
    CREATE CONSTRAINT TRIGGER raise_list_version
    AFTER DELETE OR UPDATE OF fleet_id ON support_tickets
    DEFERRABLE INITIALLY DEFERRED
    FOR EACH ROW EXECUTE FUNCTION support_tickets_raise_list_version()
    """,
    # TRUNCATE locks the whole table: nobody else writes tickets meanwhile.
    """
    CREATE TRIGGER raise_list_versions_truncate AFTER TRUNCATE ON support_tickets
    FOR EACH STATEMENT EXECUTE FUNCTION support_tickets_raise_list_version()
    """,
)


def upgrade() -> None:
    op.create_table(
        "ticket_list_versions",
        sa.Column("fleet_id", sa.BigInteger(), nullable=False),
        sa.Column("version", sa.BigInteger(), nullable=False),
        sa.CheckConstraint(
            "version >= 1", name=op.f("ck_ticket_list_versions_version_positive")
        ),
        sa.PrimaryKeyConstraint("fleet_id", name=op.f("pk_ticket_list_versions")),
    )
    for statement in (_RAISE, _DOCUMENT_WRITTEN, _TICKET_LEFT, *TRIGGERS):
        op.execute(statement)


def downgrade() -> None:
    op.execute("DROP TRIGGER raise_list_version ON ticket_documents")
    op.execute("DROP TRIGGER raise_list_version ON support_tickets")
    op.execute("DROP TRIGGER raise_list_versions_truncate ON support_tickets")
    op.execute("DROP FUNCTION support_tickets_raise_list_version()")
    op.execute("DROP FUNCTION ticket_documents_raise_list_version()")
    op.execute("DROP FUNCTION raise_ticket_list_versions(bigint[])")
    op.drop_table("ticket_list_versions")
