"""The list endpoint's query parameters, parsed into typed values.

Parsing follows the replaced system (comma lists, DRF-style search terms and
ordering) but refuses what it silently ignored: unknown codes and fields, and
numbers out of range, are 422 naming the parameter.
"""

import re
from dataclasses import dataclass
from enum import StrEnum

from pydantic_core import PydanticCustomError, PydanticUseDefault

from app.models.enums import TicketReason, TicketStatus

MAX_SEARCH_LENGTH = 200
MAX_SEARCH_TERMS = 10
# Every field, reversed, comma-separated, is under 60 characters.
MAX_ORDERING_LENGTH = 200
BIGINT_MAX = 2**63 - 1
# The largest id, fleet or offset a request may name. PostgreSQL's bigint
# holds more, but a JSON number past 2**53 is not exact in JavaScript
# clients, nor in the OpenAPI document (FastAPI writes bounds as floats, so
# 2**63 - 1 was published as 2**63).
MAX_ID = 2**53 - 1

# A token runs to the next whitespace, except inside a closed pair of quotes
# (where a backslash escapes the next character). A token without such a
# pair, like "it's", is just its characters.
_QUOTED = r""""(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'"""
_UNQUOTED = r"""[^\s"']*"""
_SEARCH_TOKEN = re.compile(rf"{_UNQUOTED}(?:(?:{_QUOTED}){_UNQUOTED})+|\S+")


class OrderingField(StrEnum):
    ID = "id"
    CREATED_AT = "created_at"
    UPDATED_AT = "updated_at"
    RESOLVED_AT = "resolved_at"
    STATUS = "status"
    REASON = "reason"


_ORDERING_NAME = "(?:" + "|".join(field.value for field in OrderingField) + ")"
_ORDERING_ITEM = rf"\s*(?:-?{_ORDERING_NAME}\s*)?"
# What `parse_ordering` accepts, for the OpenAPI description: comma-separated
# known fields, each optionally reversed, spaces and empty items ignored.
ORDERING_PATTERN = rf"^{_ORDERING_ITEM}(?:,{_ORDERING_ITEM})*$"


@dataclass(frozen=True, slots=True)
class OrderKey:
    field: OrderingField
    descending: bool


DEFAULT_ORDERING = (OrderKey(OrderingField.CREATED_AT, descending=True),)


@dataclass(frozen=True, slots=True)
class TicketListQuery:
    fleet_id: int | None
    statuses: tuple[TicketStatus, ...]
    reasons: tuple[TicketReason, ...]
    search_terms: tuple[str, ...]
    ordering: tuple[OrderKey, ...]
    limit: int
    offset: int


# Marks a query parameter whose empty value (`limit=`) means "not sent";
# app/api/openapi.py documents the empty string next to the parameter's type.
BLANK_MEANS_ABSENT = "x-blank-means-absent"
# Text the service refuses to store (PostgreSQL cannot): for the schema.
NO_NUL_PATTERN = r"^[^\x00]*$"


def code_list_items(component: str, codes: type[StrEnum]) -> dict[str, object]:
    """The schema of one value of a code filter: a code, or a comma list of them.

    The enumeration stays visible; the pattern admits what `split_codes`
    accepts (spaces around codes and empty items ignored).
    """
    names = "|".join(re.escape(member.value) for member in codes)
    item = rf"\s*(?:(?:{names})\s*)?"
    return {
        "anyOf": [
            {"$ref": f"#/components/schemas/{component}"},
            {"type": "string", "pattern": rf"^{item}(?:,{item})*$"},
        ]
    }


def blank_as_absent(value: object) -> object:
    """An empty parameter (`limit=`) means the parameter was not sent."""
    if value in ("", [""]):
        raise PydanticUseDefault()
    return value


def split_codes(values: object) -> list[str]:
    """`OPEN, DENIED` (or the parameter repeated) -> ["OPEN", "DENIED"]."""
    raw = values if isinstance(values, list) else [values]
    return [
        code.strip() for item in raw for code in str(item).split(",") if code.strip()
    ]


def _unquote(phrase: str) -> str:
    inner = phrase[1:-1]
    return inner.replace(f"\\{phrase[0]}", phrase[0]).replace("\\\\", "\\")


def split_search_terms(text: str) -> tuple[str, ...]:
    """Whitespace separates terms, quotes keep a phrase, commas split the rest."""
    if "\x00" in text:
        raise PydanticCustomError("nul_character", "must not contain a NUL character")

    terms: list[str] = []
    for raw_token in _SEARCH_TOKEN.findall(text):
        token = raw_token.strip(",")
        if len(token) >= 2 and token[0] in "\"'" and token[0] == token[-1]:
            terms.append(_unquote(token))
            continue
        terms.extend(piece.strip() for piece in token.split(",") if piece.strip())

    terms = [term for term in terms if term]
    if len(terms) > MAX_SEARCH_TERMS:
        raise PydanticCustomError(
            "too_many_terms",
            "must have at most {limit} terms",
            {"limit": MAX_SEARCH_TERMS},
        )
    return tuple(terms)


def parse_ordering(text: str) -> tuple[OrderKey, ...]:
    """`-updated_at,id` -> keys; unknown fields are refused, not ignored."""
    keys: list[OrderKey] = []
    seen: set[OrderingField] = set()
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name = item.removeprefix("-")
        try:
            field = OrderingField(name)
        except ValueError:
            allowed = ", ".join(field.value for field in OrderingField)
            raise PydanticCustomError(
                "unknown_ordering",
                "unknown field '{name}'; allowed: {allowed} (prefix - to reverse)",
                {"name": name, "allowed": allowed},
            ) from None
        if field not in seen:
            seen.add(field)
            keys.append(OrderKey(field, descending=item.startswith("-")))
    return tuple(keys) or DEFAULT_ORDERING


def with_tie_breaker(ordering: tuple[OrderKey, ...]) -> tuple[OrderKey, ...]:
    """Append id in the last key's direction, so that pages never overlap."""
    if any(key.field is OrderingField.ID for key in ordering):
        return ordering
    return (*ordering, OrderKey(OrderingField.ID, ordering[-1].descending))
