"""Request bodies that open and edit a ticket.

Unknown fields, and fields only the service sets (status, created_by,
resolved_*, timestamps, ids), are refused with 422 rather than ignored.
"""

from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from app.models.enums import TicketReason, TicketType
from app.schemas.fields import Description, EntityNumber, EntityType, FleetId

MAX_ENTITIES = 50


class EntityInput(BaseModel):
    """A charge (or other entity) that the ticket disputes."""

    model_config = ConfigDict(extra="forbid")

    entity_type: EntityType
    entity_id: EntityNumber


# Repeats are refused by `_refuse_repeats`; the schema says so too.
EntityList = Annotated[
    list[EntityInput], Field(json_schema_extra={"uniqueItems": True})
]


def _refuse_repeats(entities: EntityList) -> EntityList:
    pairs = [(entity.entity_type, entity.entity_id) for entity in entities]
    if len(set(pairs)) != len(pairs):
        raise ValueError("each (entity_type, entity_id) pair may appear only once")
    return entities


class TicketCreate(BaseModel):
    """A new dispute. The caller becomes its creator; it starts OPEN."""

    model_config = ConfigDict(extra="forbid")

    fleet: FleetId = Field(description="The fleet whose charges are disputed.")
    reason: TicketReason
    description: Description
    ticket_type: TicketType = TicketType.DISPUTE
    entities: EntityList = Field(min_length=1, max_length=MAX_ENTITIES)

    _unique_entities = field_validator("entities")(_refuse_repeats)


def _documented_without_null(schema: dict[str, Any]) -> None:
    """A field that may be left out but is never null: the schema says so.

    Python's None stands for "left out" here, so the generated schema would
    offer null, which `_not_null` refuses.
    """
    schema.pop("default", None)
    for branch in schema.pop("anyOf", []):
        if branch != {"type": "null"}:
            schema.update(branch)


class TicketUpdate(BaseModel):
    """The fields a creator (while OPEN) or staff (until decided) may change.

    Fields left out keep their value; `entities` replaces the whole set.
    """

    # minProperties: what `_something_to_change` enforces, for the schema.
    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    description: Description | None = Field(
        default=None, json_schema_extra=_documented_without_null
    )
    reason: TicketReason | None = Field(
        default=None, json_schema_extra=_documented_without_null
    )
    entities: EntityList | None = Field(
        default=None,
        min_length=1,
        max_length=MAX_ENTITIES,
        json_schema_extra=_documented_without_null,
    )

    _unique_entities = field_validator("entities")(_refuse_repeats)

    @field_validator("description", "reason", "entities", mode="before")
    @classmethod
    def _not_null(cls, value: Any) -> Any:
        if value is None:
            raise ValueError("may not be null; leave the field out to keep it")
        return value

    @model_validator(mode="after")
    def _something_to_change(self) -> "TicketUpdate":
        if not self.model_fields_set:
            raise ValueError("send at least one of: description, reason, entities")
        return self

    def changed_fields(self) -> list[str]:
        return sorted(self.model_fields_set)
