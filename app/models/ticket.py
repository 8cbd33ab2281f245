from datetime import datetime

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    ForeignKey,
    Identity,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from app.models.base import Base, created_at_column
from app.models.enums import (
    TicketReason,
    TicketStatus,
    TicketType,
    check_in,
)

ENTITY_TYPE_PATTERN = r"^[a-z][a-z0-9_]{0,49}$"
MAX_DESCRIPTION_LENGTH = 5000
MAX_COMMENT_LENGTH = 10000
MAX_ENTITY_ID = 2_147_483_647


class SupportTicket(Base):
    __tablename__ = "support_tickets"
    __table_args__ = (
        CheckConstraint(check_in("status", TicketStatus), name="status_known"),
        CheckConstraint(check_in("reason", TicketReason), name="reason_known"),
        CheckConstraint(check_in("ticket_type", TicketType), name="type_known"),
        CheckConstraint(
            f"char_length(description) <= {MAX_DESCRIPTION_LENGTH}",
            name="description_length",
        ),
        CheckConstraint(
            "(resolved_at IS NULL) = (resolved_by_id IS NULL)",
            name="resolved_together",
        ),
        CheckConstraint("last_comment_sequence >= 0", name="sequence_positive"),
        # The list endpoint's access paths. Every index ends in id, the
        # tie-breaker of every ordering, so a page is read straight from it:
        # - default ordering (-created_at) and created_at with any filter
        #   the planner prefers to apply while walking it (status, reason);
        Index("ix_support_tickets_created_at_id", "created_at", "id"),
        # - ordering by updated_at, and deep offsets counted over this index
        #   alone (index-only scan) before the page's rows are read;
        Index("ix_support_tickets_updated_at_id", "updated_at", "id"),
        Index("ix_support_tickets_resolved_at_id", "resolved_at", "id"),
        # - a fleet user's view and the fleet filter, newest first;
        Index(
            "ix_support_tickets_fleet_id_created_at_id", "fleet_id", "created_at", "id"
        ),
        # - fleet + status together (the support queue of one customer);
        Index(
            "ix_support_tickets_fleet_id_status_created_at_id",
            "fleet_id",
            "status",
            "created_at",
            "id",
        ),
        # - reason or status alone with the default ordering.
        Index("ix_support_tickets_reason_created_at_id", "reason", "created_at", "id"),
        Index("ix_support_tickets_status_created_at_id", "status", "created_at", "id"),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    fleet_id: Mapped[int] = mapped_column(ForeignKey("fleets.id"))
    # Indexed for the search's "creator's username or email" branch.
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    # Codes compare bytewise ("C"), so ordering by them is the same on every
    # server whatever its locale, and their indexes serve that ordering.
    status: Mapped[str] = mapped_column(String(20, collation="C"))
    reason: Mapped[str] = mapped_column(String(20, collation="C"))
    ticket_type: Mapped[str] = mapped_column(String(20, collation="C"))
    description: Mapped[str] = mapped_column(Text, server_default="")
    resolution_note: Mapped[str] = mapped_column(Text, server_default="")
    resolved_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    resolved_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()
    # The sequence of the last comment: incrementing it under the row lock
    # hands out gap-free comment sequences to concurrent writers.
    last_comment_sequence: Mapped[int] = mapped_column(Integer, server_default="0")


class TicketEntity(Base):
    """A charge (or vehicle, transponder, ...) that a ticket disputes."""

    __tablename__ = "ticket_entities"
    __table_args__ = (
        CheckConstraint(f"entity_type ~ '{ENTITY_TYPE_PATTERN}'", name="type_format"),
        CheckConstraint(
            f"entity_id BETWEEN 1 AND {MAX_ENTITY_ID}", name="entity_id_positive"
        ),
        UniqueConstraint("ticket_id", "entity_type", "entity_id"),
        # One open dispute per charge: the flag is cleared by a trigger when
        # the ticket closes, so the database itself refuses a second claim.
        Index(
            "uq_ticket_entities_open_claim",
            "entity_type",
            "entity_id",
            unique=True,
            postgresql_where=text("holds_claim"),
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="CASCADE")
    )
    entity_type: Mapped[str] = mapped_column(String(50))
    entity_id: Mapped[int] = mapped_column(Integer)
    holds_claim: Mapped[bool] = mapped_column(server_default="true")


class TicketComment(Base):
    __tablename__ = "ticket_comments"
    __table_args__ = (
        UniqueConstraint("ticket_id", "sequence"),
        CheckConstraint("sequence >= 1", name="sequence_positive"),
        CheckConstraint(
            f"char_length(content) BETWEEN 1 AND {MAX_COMMENT_LENGTH}",
            name="content_length",
        ),
    )

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="CASCADE")
    )
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    content: Mapped[str] = mapped_column(Text)
    sequence: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = created_at_column()
    updated_at: Mapped[datetime] = created_at_column()


class TicketCounter(Base):
    """Exact ticket counts per (fleet, status, reason), kept by triggers.

    Statement-level triggers on support_tickets add every insert, update and
    delete to these rows inside the writing transaction, so the list's
    `count` is a sum over a few hundred rows instead of a scan of millions,
    and is never stale. See the initial migration for the triggers. There is
    no CHECK (ticket_count >= 0): PostgreSQL checks the proposed row of an
    upsert before resolving the conflict, so a decrement could not pass.
    """

    __tablename__ = "ticket_counters"

    fleet_id: Mapped[int] = mapped_column(
        ForeignKey("fleets.id", ondelete="CASCADE"), primary_key=True
    )
    status: Mapped[str] = mapped_column(String(20), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20), primary_key=True)
    ticket_count: Mapped[int] = mapped_column(BigInteger)


class TicketDocument(Base):
    """A ticket's JSON as the API sends it, kept current by triggers.

    See migration 0004: every change to a ticket, its entities, comments or
    the people named in it re-renders the ticket in the same transaction.
    """

    __tablename__ = "ticket_documents"

    ticket_id: Mapped[int] = mapped_column(
        ForeignKey("support_tickets.id", ondelete="CASCADE"), primary_key=True
    )
    body: Mapped[str] = mapped_column(Text)


class TicketListVersion(Base):
    """How often the tickets of a fleet changed, raised by triggers.

    Every change that can alter a list answer raises the version of the
    fleets it touched, in the writing transaction (migration 0005), so that
    list answers kept in memory are reused only while the versions they were
    computed at still hold. Rows are never deleted and have no foreign key:
    a sum of versions over a set of fleets must never go back.
    """

    __tablename__ = "ticket_list_versions"
    __table_args__ = (CheckConstraint("version >= 1", name="version_positive"),)

    fleet_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    version: Mapped[int] = mapped_column(BigInteger)
