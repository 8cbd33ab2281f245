from pydantic import BaseModel, ConfigDict, Field

from app.models.enums import TicketStatus
from app.schemas.fields import ResolutionNote


class TransitionRequest(BaseModel):
    """A move of the ticket to another status, with the note a decision needs."""

    model_config = ConfigDict(extra="forbid")

    to: TicketStatus
    resolution_note: ResolutionNote | None = Field(
        default=None,
        description="Required (not blank) when approving, denying, or resolving "
        "an OPEN ticket; optional when resolving a decided ticket (the "
        "decision's note is kept when absent); refused for any other move.",
    )
