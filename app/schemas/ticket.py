from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import TicketReason, TicketStatus, TicketType
from app.schemas.user import UserSummary


class EntityRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    entity_type: str = Field(examples=["toll_charge"])
    entity_id: int = Field(ge=1, le=2_147_483_647)


class CommentRead(BaseModel):
    model_config = ConfigDict(extra="forbid")

    id: int
    author: UserSummary
    content: str
    sequence: int = Field(ge=1, description="1, 2, 3 ... within the ticket.")
    created_at: datetime
    updated_at: datetime


class TicketRead(BaseModel):
    """A support ticket, field for field as the replaced system rendered it."""

    model_config = ConfigDict(extra="forbid")

    id: int
    created_by: UserSummary
    status: TicketStatus
    status_display: str = Field(examples=["Under Review"])
    reason: TicketReason
    reason_display: str = Field(examples=["Not My Toll"])
    resolved_by: UserSummary | None
    resolved_at: datetime | None
    created_at: datetime
    updated_at: datetime
    entities: list[EntityRead] = Field(description="Ordered by id.")
    comments: list[CommentRead] = Field(description="Ordered by sequence.")
    ticket_type: TicketType
    description: str = Field(description="Empty when there is none.")
    resolution_note: str = Field(description="Empty until a resolution is noted.")
