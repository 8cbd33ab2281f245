"""The documented `ordering` pattern accepts exactly what the parser accepts."""

import re

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic_core import PydanticCustomError

from app.schemas.ticket_query import ORDERING_PATTERN, OrderingField, parse_ordering

PIECES = [field.value for field in OrderingField] + [
    "-", ",", " ", "\t", "x", "ID", "fleet", "- ", "--",
]  # fmt: skip


def parser_accepts(text: str) -> bool:
    try:
        parse_ordering(text)
    except PydanticCustomError:
        return False
    return True


@settings(max_examples=500, derandomize=True, database=None)
@given(st.lists(st.sampled_from(PIECES), max_size=8).map("".join))
def test_pattern_and_parser_agree(text: str) -> None:
    # Found by Schemathesis: the schema admitted any string, the parser
    # refused unknown fields with 422.
    assert (re.search(ORDERING_PATTERN, text) is not None) == parser_accepts(text)


def test_pattern_examples() -> None:
    for accepted in ["", "id", "-created_at, status", ",,reason,", " -id "]:
        assert re.search(ORDERING_PATTERN, accepted), accepted
    for refused in ["priority", "- id", "--id", "id status", "Id"]:
        assert not re.search(ORDERING_PATTERN, refused), refused
