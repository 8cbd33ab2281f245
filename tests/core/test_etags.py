"""Entity tags and If-Match parsing."""

import pytest

from app.core.etags import IfMatch, etag_of


def test_a_tag_is_a_quoted_hash_of_the_exact_bytes() -> None:
    tag = etag_of(b'{"id": 1}')

    assert tag.startswith('"')
    assert tag.endswith('"')
    assert len(tag) == 34
    assert etag_of(b'{"id":1}') != tag
    assert etag_of(b'{"id": 1}') == tag


@pytest.mark.parametrize(
    ("header", "matches"),
    [
        ('"a"', True),
        (' "b" , "a" ', True),
        ('"b"', False),
        ('W/"a"', False),
        ('W/"a", "a"', True),
        ("a", False),
        ('"a" junk', False),
        ("", False),
        ("*", True),
    ],
)
def test_if_match_compares_strongly(header: str, matches: bool) -> None:
    assert IfMatch.parse(header).matches('"a"') is matches
