"""Initial schema: tenants, users, tokens, tickets and their history.

Revision ID: 0001
Revises:
Create Date: 2026-12-03 17:48:32.872687
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# Exact counts for the list endpoint: each statement on support_tickets adds
# its net change per (fleet, status, reason) to ticket_counters, in the same
# transaction. Transition tables make a bulk load cost one upsert per key, and
# keys are upserted in a fixed order so that concurrent writers cannot
# deadlock on the counter rows.
_COUNT_UPSERT = """
    INSERT INTO ticket_counters AS c (fleet_id, status, reason, ticket_count)
    SELECT fleet_id, status, reason, sum(delta)
    FROM ({changes}) AS changes
    GROUP BY fleet_id, status, reason
    HAVING sum(delta) <> 0
    ORDER BY fleet_id, status, reason
    ON CONFLICT (fleet_id, status, reason)
    DO UPDATE SET ticket_count = c.ticket_count + excluded.ticket_count
"""
_ADDED = "SELECT fleet_id, status, reason, 1 AS delta FROM new_rows"
_REMOVED = "SELECT fleet_id, status, reason, -1 AS delta FROM old_rows"


def _counting_function(name: str, changes: str) -> str:
    upsert = _COUNT_UPSERT.format(changes=changes)
    return f"""
        CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            {upsert};
            RETURN NULL;
        END
        $$
    """


FUNCTIONS = (
    "support_tickets_count_inserted",
    "support_tickets_count_updated",
    "support_tickets_count_deleted",
    "support_tickets_release_claims",
    "ticket_events_refuse_update",
)

TRIGGERS = (
    _counting_function("support_tickets_count_inserted", _ADDED),
    _counting_function(
        "support_tickets_count_updated", f"{_ADDED} UNION ALL {_REMOVED}"
    ),
    _counting_function("support_tickets_count_deleted", _REMOVED),
    """
    CREATE TRIGGER count_inserted AFTER INSERT ON support_tickets
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION support_tickets_count_inserted()
    """,
    """
    CREATE TRIGGER count_updated AFTER UPDATE ON support_tickets
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION support_tickets_count_updated()
    """,
    """
    CREATE TRIGGER count_deleted AFTER DELETE ON support_tickets
    REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION support_tickets_count_deleted()
    """,
    # A closed ticket (CANCELLED, DENIED, RESOLVED) gives up its charges, so
    # that the partial unique index lets a new ticket dispute them.
    """
    CREATE FUNCTION support_tickets_release_claims() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        UPDATE ticket_entities SET holds_claim = false
        WHERE ticket_id = NEW.id AND holds_claim;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER release_claims AFTER UPDATE OF status ON support_tickets
    FOR EACH ROW
    WHEN (NEW.status IN ('CANCELLED', 'DENIED', 'RESOLVED')
          AND OLD.status IS DISTINCT FROM NEW.status)
    EXECUTE FUNCTION support_tickets_release_claims()
    """,
    """
    CREATE FUNCTION ticket_events_refuse_update() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'ticket_events is append-only';
    END
    $$
    """,
    """
    CREATE TRIGGER append_only BEFORE UPDATE ON ticket_events
    FOR EACH ROW EXECUTE FUNCTION ticket_events_refuse_update()
    """,
)


def upgrade() -> None:
    op.create_table(
        "fleets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_fleets")),
        sa.UniqueConstraint("name", name=op.f("uq_fleets_name")),
    )
    op.create_table(
        "users",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("username", sa.String(length=150), nullable=False),
        sa.Column("email", sa.String(length=254), nullable=False),
        sa.Column("is_staff", sa.Boolean(), server_default="false", nullable=False),
        sa.Column("is_active", sa.Boolean(), server_default="true", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "position('@' in email) > 1", name=op.f("ck_users_email_format")
        ),
        sa.CheckConstraint(
            "username ~ '^[A-Za-z0-9.@+_-]{1,150}$'",
            name=op.f("ck_users_username_format"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("prefix", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_api_tokens_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("prefix", name=op.f("uq_api_tokens_prefix")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(
        op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"], unique=False
    )
    op.create_table(
        "fleet_memberships",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("fleet_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.ForeignKeyConstraint(
            ["fleet_id"],
            ["fleets.id"],
            name=op.f("fk_fleet_memberships_fleet_id_fleets"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_fleet_memberships_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "user_id", "fleet_id", name=op.f("pk_fleet_memberships")
        ),
    )
    op.create_index(
        op.f("ix_fleet_memberships_fleet_id"),
        "fleet_memberships",
        ["fleet_id"],
        unique=False,
    )
    op.create_table(
        "idempotency_records",
        sa.Column("user_id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("method", sa.String(length=10), nullable=False),
        sa.Column("path", sa.String(length=2048), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(length=32), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.Column("location", sa.String(length=2048), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_idempotency_records_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", "key", name=op.f("pk_idempotency_records")),
    )
    op.create_index(
        op.f("ix_idempotency_records_expires_at"),
        "idempotency_records",
        ["expires_at"],
        unique=False,
    )
    op.create_table(
        "support_tickets",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("fleet_id", sa.BigInteger(), nullable=False),
        sa.Column("created_by_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20, collation="C"), nullable=False),
        sa.Column("reason", sa.String(length=20, collation="C"), nullable=False),
        sa.Column("ticket_type", sa.String(length=20, collation="C"), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("resolution_note", sa.Text(), server_default="", nullable=False),
        sa.Column("resolved_by_id", sa.BigInteger(), nullable=True),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "last_comment_sequence", sa.Integer(), server_default="0", nullable=False
        ),
        sa.CheckConstraint(
            "reason IN ('INCORRECT_AMOUNT', 'WRONG_VEHICLE', 'DUPLICATE_CHARGE',"
            " 'NOT_MY_TOLL', 'ALREADY_PAID', 'OTHER')",
            name=op.f("ck_support_tickets_reason_known"),
        ),
        sa.CheckConstraint(
            "status IN ('OPEN', 'UNDER_REVIEW', 'APPROVED', 'DENIED',"
            " 'CANCELLED', 'RESOLVED')",
            name=op.f("ck_support_tickets_status_known"),
        ),
        sa.CheckConstraint(
            "ticket_type IN ('DISPUTE')", name=op.f("ck_support_tickets_type_known")
        ),
        sa.CheckConstraint(
            "(resolved_at IS NULL) = (resolved_by_id IS NULL)",
            name=op.f("ck_support_tickets_resolved_together"),
        ),
        sa.CheckConstraint(
            "char_length(description) <= 5000",
            name=op.f("ck_support_tickets_description_length"),
        ),
        sa.CheckConstraint(
            "last_comment_sequence >= 0",
            name=op.f("ck_support_tickets_sequence_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["users.id"],
            name=op.f("fk_support_tickets_created_by_id_users"),
        ),
        sa.ForeignKeyConstraint(
            ["fleet_id"], ["fleets.id"], name=op.f("fk_support_tickets_fleet_id_fleets")
        ),
        sa.ForeignKeyConstraint(
            ["resolved_by_id"],
            ["users.id"],
            name=op.f("fk_support_tickets_resolved_by_id_users"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_support_tickets")),
    )
    op.create_index(
        "ix_support_tickets_created_at_id",
        "support_tickets",
        ["created_at", "id"],
        unique=False,
    )
    op.create_index(
        op.f("ix_support_tickets_created_by_id"),
        "support_tickets",
        ["created_by_id"],
        unique=False,
    )
    op.create_index(
        "ix_support_tickets_fleet_id_created_at_id",
        "support_tickets",
        ["fleet_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_support_tickets_fleet_id_status_created_at_id",
        "support_tickets",
        ["fleet_id", "status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_support_tickets_reason_created_at_id",
        "support_tickets",
        ["reason", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_support_tickets_resolved_at_id",
        "support_tickets",
        ["resolved_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_support_tickets_status_created_at_id",
        "support_tickets",
        ["status", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_support_tickets_updated_at_id",
        "support_tickets",
        ["updated_at", "id"],
        unique=False,
    )
    op.create_table(
        "ticket_counters",
        sa.Column("fleet_id", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.String(length=20), nullable=False),
        sa.Column("ticket_count", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["fleet_id"],
            ["fleets.id"],
            name=op.f("fk_ticket_counters_fleet_id_fleets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "fleet_id", "status", "reason", name=op.f("pk_ticket_counters")
        ),
    )
    op.create_table(
        "ticket_comments",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("author_id", sa.BigInteger(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("sequence", sa.Integer(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column(
            "updated_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.CheckConstraint(
            "char_length(content) BETWEEN 1 AND 10000",
            name=op.f("ck_ticket_comments_content_length"),
        ),
        sa.CheckConstraint(
            "sequence >= 1", name=op.f("ck_ticket_comments_sequence_positive")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_ticket_comments_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_ticket_comments_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_comments")),
        sa.UniqueConstraint(
            "ticket_id", "sequence", name=op.f("uq_ticket_comments_ticket_id_sequence")
        ),
    )
    op.create_index(
        op.f("ix_ticket_comments_author_id"),
        "ticket_comments",
        ["author_id"],
        unique=False,
    )
    op.create_table(
        "ticket_entities",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("entity_type", sa.String(length=50), nullable=False),
        sa.Column("entity_id", sa.Integer(), nullable=False),
        sa.Column("holds_claim", sa.Boolean(), server_default="true", nullable=False),
        sa.CheckConstraint(
            "entity_type ~ '^[a-z][a-z0-9_]{0,49}$'",
            name=op.f("ck_ticket_entities_type_format"),
        ),
        sa.CheckConstraint(
            "entity_id BETWEEN 1 AND 2147483647",
            name=op.f("ck_ticket_entities_entity_id_positive"),
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_ticket_entities_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_entities")),
        sa.UniqueConstraint(
            "ticket_id",
            "entity_type",
            "entity_id",
            name=op.f("uq_ticket_entities_ticket_id_entity_type_entity_id"),
        ),
    )
    op.create_index(
        "uq_ticket_entities_open_claim",
        "ticket_entities",
        ["entity_type", "entity_id"],
        unique=True,
        postgresql_where=sa.text("holds_claim"),
    )
    op.create_table(
        "ticket_events",
        sa.Column("id", sa.BigInteger(), sa.Identity(always=False), nullable=False),
        sa.Column("ticket_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("actor_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("from_status", sa.String(length=20), nullable=True),
        sa.Column("to_status", sa.String(length=20), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("fields", postgresql.ARRAY(sa.String(length=30)), nullable=True),
        sa.Column("comment_id", sa.BigInteger(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('opened', 'edited', 'commented', 'comment_edited',"
            " 'status_changed')",
            name=op.f("ck_ticket_events_kind_known"),
        ),
        sa.ForeignKeyConstraint(
            ["actor_id"], ["users.id"], name=op.f("fk_ticket_events_actor_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["comment_id"],
            ["ticket_comments.id"],
            name=op.f("fk_ticket_events_comment_id_ticket_comments"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["ticket_id"],
            ["support_tickets.id"],
            name=op.f("fk_ticket_events_ticket_id_support_tickets"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ticket_events")),
    )
    op.create_index(
        "ix_ticket_events_ticket_id_id",
        "ticket_events",
        ["ticket_id", "id"],
        unique=False,
    )

    for statement in TRIGGERS:
        op.execute(statement)


def downgrade() -> None:
    for table in (
        "ticket_events",
        "ticket_entities",
        "ticket_comments",
        "ticket_counters",
        "support_tickets",
        "idempotency_records",
        "fleet_memberships",
        "api_tokens",
        "users",
        "fleets",
    ):
        op.drop_table(table)
    for function in FUNCTIONS:
        op.execute(f"DROP FUNCTION {function}()")
