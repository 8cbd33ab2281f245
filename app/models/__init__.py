"""Every table, imported here so that Alembic and the tests see them all."""

from app.models.base import Base
from app.models.event import TicketEvent
from app.models.fleet import Fleet, FleetMembership
from app.models.idempotency import IdempotencyRecord
from app.models.ticket import (
    SupportTicket,
    TicketComment,
    TicketCounter,
    TicketDocument,
    TicketEntity,
    TicketListVersion,
)
from app.models.user import ApiToken, User

__all__ = [
    "ApiToken",
    "Base",
    "Fleet",
    "FleetMembership",
    "IdempotencyRecord",
    "SupportTicket",
    "TicketComment",
    "TicketCounter",
    "TicketDocument",
    "TicketEntity",
    "TicketEvent",
    "TicketListVersion",
    "User",
]
