"""Each ticket's JSON, kept rendered by the database.

The list sends up to 1000 tickets a page, each with its creator, resolver,
entities and comments. Rendering them on every read cost most of a list
request's database time (bench/results). Here PostgreSQL renders a ticket
once per change, in the transaction of the change, into ticket_documents;
reads concatenate stored documents.

Triggers keep the documents exact: every statement that changes a ticket,
its entities or comments, or a user's name or email, re-renders the tickets
it touched. A re-render reads the committed state as of its own statement;
the service's writers hold the ticket's row lock (SELECT ... FOR UPDATE or
UPDATE) before changing anything of it, so a writer that waited renders
after the previous one committed and no change is lost.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_API_TIMESTAMP = """
CREATE FUNCTION api_timestamp(value timestamptz) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE
        WHEN date_trunc('second', value) = value
            THEN to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS"Z"')
        ELSE to_char(value AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')
    END
$$
"""

_API_USER = """
CREATE FUNCTION api_user(person users) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', person.id, 'username', person.username, 'email', person.email
    )
$$
"""

_API_COMMENT = """
CREATE FUNCTION api_comment(comment ticket_comments, author users) RETURNS json
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT json_build_object(
        'id', comment.id,
        'author', api_user(author),
        'content', comment.content,
        'sequence', comment.sequence,
        'created_at', api_timestamp(comment.created_at),
        'updated_at', api_timestamp(comment.updated_at)
    )
$$
"""

# Labels as the contract lists them (app/models/enums.py has the same).
_RENDER = """
CREATE FUNCTION render_ticket_documents(ticket_ids bigint[])
RETURNS TABLE (ticket_id bigint, body text)
LANGUAGE sql STABLE AS $$
    SELECT t.id, json_build_object(
        'id', t.id,
        'created_by', api_user(creator),
        'status', t.status,
        'status_display', CASE t.status
            WHEN 'OPEN' THEN 'Open'
            WHEN 'UNDER_REVIEW' THEN 'Under Review'
            WHEN 'APPROVED' THEN 'Approved'
            WHEN 'DENIED' THEN 'Denied'
            WHEN 'CANCELLED' THEN 'Cancelled'
            WHEN 'RESOLVED' THEN 'Resolved'
        END,
        'reason', t.reason,
        'reason_display', CASE t.reason
            WHEN 'INCORRECT_AMOUNT' THEN 'Incorrect Amount'
            WHEN 'WRONG_VEHICLE' THEN 'Wrong Vehicle'
            WHEN 'DUPLICATE_CHARGE' THEN 'Duplicate Charge'
            WHEN 'NOT_MY_TOLL' THEN 'Not My Toll'
            WHEN 'ALREADY_PAID' THEN 'Already Paid'
            WHEN 'OTHER' THEN 'Other'
        END,
        'resolved_by', CASE WHEN resolver.id IS NOT NULL THEN api_user(resolver) END,
        'resolved_at', api_timestamp(t.resolved_at),
        'created_at', api_timestamp(t.created_at),
        'updated_at', api_timestamp(t.updated_at),
        'entities', coalesce(
            (SELECT json_agg(
                        json_build_object(
                            'id', e.id,
                            'entity_type', e.entity_type,
                            'entity_id', e.entity_id
                        )
                        ORDER BY e.id
                    )
             FROM ticket_entities e WHERE e.ticket_id = t.id),
            '[]'::json
        ),
        'comments', coalesce(
            (SELECT json_agg(api_comment(c, author) ORDER BY c.sequence)
             FROM ticket_comments c JOIN users author ON author.id = c.author_id
             WHERE c.ticket_id = t.id),
            '[]'::json
        ),
        'ticket_type', t.ticket_type,
        'description', t.description,
        'resolution_note', t.resolution_note
    )::text
    FROM unnest(ticket_ids) AS wanted (id)
    JOIN support_tickets t ON t.id = wanted.id
    JOIN users creator ON creator.id = t.created_by_id
    LEFT JOIN users resolver ON resolver.id = t.resolved_by_id
$$
"""

_REFRESH = """
CREATE FUNCTION refresh_ticket_documents(ticket_ids bigint[]) RETURNS void
LANGUAGE sql AS $$
    INSERT INTO ticket_documents (ticket_id, body)
    SELECT ticket_id, body FROM render_ticket_documents(ticket_ids)
    ON CONFLICT (ticket_id) DO UPDATE SET body = excluded.body
$$
"""


def _refreshing_trigger(table: str, moment: str, ids: str, tables: str) -> list[str]:
    """A statement-level trigger re-rendering the tickets a statement touched."""
    function = f"{table}_refresh_documents_{moment.lower()}"
    return [
        f"""
        CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            PERFORM refresh_ticket_documents(ARRAY({ids}));
            RETURN NULL;
        END
        $$
        """,
        f"""
        CREATE TRIGGER refresh_documents_{moment.lower()} AFTER {moment} ON {table}
        REFERENCING {tables}
        FOR EACH STATEMENT EXECUTE FUNCTION {function}()
        """,
    ]


_TICKET_IDS_OF_USERS = """
    SELECT t.id FROM support_tickets t
    WHERE t.created_by_id IN (SELECT id FROM changed)
       OR t.resolved_by_id IN (SELECT id FROM changed)
    UNION
    SELECT c.ticket_id FROM ticket_comments c
    WHERE c.author_id IN (SELECT id FROM changed)
"""

_USER_RENAMES = """
CREATE FUNCTION users_refresh_documents() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    PERFORM refresh_ticket_documents(ARRAY(
        WITH changed AS (
            SELECT new_rows.id FROM new_rows JOIN old_rows USING (id)
            WHERE (new_rows.username, new_rows.email)
                  IS DISTINCT FROM (old_rows.username, old_rows.email)
        )
        {ids}
    ));
    RETURN NULL;
END
$$
""".replace("{ids}", _TICKET_IDS_OF_USERS)

TRIGGERS = (
    *_refreshing_trigger(
        "support_tickets",
        "INSERT",
        "SELECT id FROM new_rows",
        "NEW TABLE AS new_rows",
    ),
    *_refreshing_trigger(
        "support_tickets",
        "UPDATE",
        "SELECT id FROM new_rows",
        "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    ),
    *[
        statement
        for table in ("ticket_entities", "ticket_comments")
        for moment, ids, tables in (
            (
                "INSERT",
                "SELECT DISTINCT ticket_id FROM new_rows",
                "NEW TABLE AS new_rows",
            ),
            (
                "UPDATE",
                "SELECT ticket_id FROM new_rows UNION SELECT ticket_id FROM old_rows",
                "OLD TABLE AS old_rows NEW TABLE AS new_rows",
            ),
            (
                "DELETE",
                "SELECT DISTINCT ticket_id FROM old_rows",
                "OLD TABLE AS old_rows",
            ),
        )
        for statement in _refreshing_trigger(table, moment, ids, tables)
    ],
    _USER_RENAMES,
    """
    CREATE TRIGGER refresh_documents_update AFTER UPDATE ON users
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION users_refresh_documents()
    """,
)

FUNCTIONS = (
    "users_refresh_documents()",
    *(
        f"{table}_refresh_documents_{moment}()"
        for table, moments in (
            ("support_tickets", ("insert", "update")),
            ("ticket_entities", ("insert", "update", "delete")),
            ("ticket_comments", ("insert", "update", "delete")),
        )
        for moment in moments
    ),
    "refresh_ticket_documents(bigint[])",
    "render_ticket_documents(bigint[])",
    "api_comment(ticket_comments, users)",
    "api_user(users)",
    "api_timestamp(timestamptz)",
)


def upgrade() -> None:
    op.create_table(
        "ticket_documents",
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_ticket_documents_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("ticket_id", name=op.f("pk_ticket_documents")),
    )
    for statement in (_API_TIMESTAMP, _API_USER, _API_COMMENT, _RENDER, _REFRESH):
        op.execute(statement)
    for statement in TRIGGERS:
        op.execute(statement)
    # Tickets that exist already get their documents now.
    op.execute("SELECT refresh_ticket_documents(ARRAY(SELECT id FROM support_tickets))")


def downgrade() -> None:
    for table in ("support_tickets", "ticket_entities", "ticket_comments", "users"):
        for moment in ("insert", "update", "delete"):
            op.execute(f"DROP TRIGGER IF EXISTS refresh_documents_{moment} ON {table}")
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}")
    op.drop_table("ticket_documents")
