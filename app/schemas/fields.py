"""Constrained input types shared by the request bodies.

Numbers are strict (no `true` or `"7"` for an id) and text refuses the NUL
character, which PostgreSQL cannot store: it must be a 422, never a 500.
"""

from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field
from pydantic_core import PydanticCustomError

from app.models.ticket import (
    ENTITY_TYPE_PATTERN,
    MAX_COMMENT_LENGTH,
    MAX_DESCRIPTION_LENGTH,
    MAX_ENTITY_ID,
)
from app.schemas.ticket_query import MAX_ID, NO_NUL_PATTERN

MAX_RESOLUTION_NOTE_LENGTH = 5000


def refuse_nul(text: str) -> str:
    if "\x00" in text:
        raise PydanticCustomError("nul_character", "must not contain a NUL character")
    return text


def whole_number(value: object) -> object:
    """`7.0` is the number 7: JSON has one number type, and JSON Schema's
    "integer" admits any number without a fractional part."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


FleetId = Annotated[
    int, Field(strict=True, ge=1, le=MAX_ID), BeforeValidator(whole_number)
]
EntityType = Annotated[
    str,
    Field(
        strict=True,
        pattern=ENTITY_TYPE_PATTERN,
        examples=["toll_charge"],
        description="Lower-case letters, digits and `_`, starting with a letter; "
        "at most 50 characters.",
    ),
]
EntityNumber = Annotated[
    int,
    Field(strict=True, ge=1, le=MAX_ENTITY_ID, examples=[48151623]),
    BeforeValidator(whole_number),
]
Description = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=MAX_DESCRIPTION_LENGTH,
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    ),
    AfterValidator(refuse_nul),
]
CommentContent = Annotated[
    str,
    Field(
        strict=True,
        min_length=1,
        max_length=MAX_COMMENT_LENGTH,
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    ),
    AfterValidator(refuse_nul),
]
ResolutionNote = Annotated[
    str,
    Field(
        strict=True,
        max_length=MAX_RESOLUTION_NOTE_LENGTH,
        json_schema_extra={"pattern": NO_NUL_PATTERN},
    ),
    AfterValidator(refuse_nul),
]
