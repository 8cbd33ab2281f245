"""Request bodies for a ticket's comments; `CommentRead` is in schemas.ticket."""

from pydantic import BaseModel, ConfigDict

from app.schemas.fields import CommentContent


class CommentCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    content: CommentContent


class CommentUpdate(BaseModel):
    """The new text of a comment; only its author may send it."""

    model_config = ConfigDict(extra="forbid")

    content: CommentContent
