"""Trigram indexes for substring search, where pg_trgm is available.

`search=` matches terms anywhere inside descriptions, resolution notes,
comments, usernames and emails (ILIKE '%term%'); B-tree indexes cannot serve
that, trigram GIN indexes can. PostgreSQL servers without the pg_trgm
extension (the embedded server used by `make run` and `make test`) skip
this step: search then scans, which is correct but slow on large data.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-03
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The names start with trgm_ so that the drift test can tell these optional
# indexes from the ones the models declare.
INDEXED_COLUMNS = (
    ("support_tickets", "description"),
    ("support_tickets", "resolution_note"),
    ("ticket_comments", "content"),
    ("users", "username"),
    ("users", "email"),
)


def _trigram_available() -> bool:
    available = op.get_bind().scalar(
        sa.text("SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'")
    )
    return bool(available)


def upgrade() -> None:
    if not _trigram_available():
        return
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for table, column in INDEXED_COLUMNS:
        op.execute(
            f"CREATE INDEX IF NOT EXISTS trgm_{table}_{column} "
            f"ON {table} USING gin ({column} gin_trgm_ops)"
        )


def downgrade() -> None:
    for table, column in INDEXED_COLUMNS:
        op.execute(f"DROP INDEX IF EXISTS trgm_{table}_{column}")
    # The extension stays: other schemas of the database may rely on it.
