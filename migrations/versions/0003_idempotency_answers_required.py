"""Idempotency records: always an answer, and a Location of any length.

A request in flight is marked by a transaction-scoped advisory lock, not by
a row without a status (see app/services/idempotency.py), so every stored
record has its status code and body. The Location is an absolute URL built
from the Host the client sent, whose length the service does not choose.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-04 09:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Rows left by an earlier protocol carry no answer to replay.
    op.execute("DELETE FROM idempotency_records WHERE status_code IS NULL")
    op.execute("DELETE FROM idempotency_records WHERE response_body IS NULL")
    op.alter_column("idempotency_records", "status_code", nullable=False)
    op.alter_column("idempotency_records", "response_body", nullable=False)
    op.alter_column(
        "idempotency_records",
        "location",
        type_=sa.Text(),
        existing_type=sa.String(length=2048),
    )


def downgrade() -> None:
    op.alter_column(
        "idempotency_records",
        "location",
        type_=sa.String(length=2048),
        existing_type=sa.Text(),
        postgresql_using="left(location, 2048)",
    )
    op.alter_column("idempotency_records", "response_body", nullable=True)
    op.alter_column("idempotency_records", "status_code", nullable=True)
