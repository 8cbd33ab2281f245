from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import EventKind, TicketStatus
from app.schemas.user import UserSummary


class EventRead(BaseModel):
    """One step of a ticket's history; the optional fields appear when they apply."""

    model_config = ConfigDict(extra="forbid")

    id: int
    kind: EventKind
    actor: UserSummary
    created_at: datetime
    from_status: TicketStatus | None = Field(
        default=None, description="status_changed: the status left."
    )
    to_status: TicketStatus | None = Field(
        default=None, description="status_changed: the status entered."
    )
    note: str | None = Field(
        default=None, description="status_changed: the resolution note sent."
    )
    fields: list[str] | None = Field(
        default=None, description="edited: the names of the fields that changed."
    )
    comment_id: int | None = Field(
        default=None, description="commented, comment_edited: the comment."
    )
