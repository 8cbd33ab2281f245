"""Strong entity tags and the `If-Match` precondition (RFC 9110, 8.8.3 and 13.1.1).

A representation's tag is a hash of its exact bytes, so two responses carry
the same tag exactly when they are byte-identical, whatever changed the row.
"""

import hashlib
import re
from dataclasses import dataclass

# One entity tag in an If-Match list: optional weakness marker, quoted value.
_ENTITY_TAG = re.compile(r'\s*(W/)?("[\x21\x23-\x7e\x80-\xff]*")\s*(?:,|$)')


def etag_of(representation: bytes) -> str:
    """The strong tag of a representation: 128 bits of its SHA-256, quoted."""
    return '"' + hashlib.sha256(representation).hexdigest()[:32] + '"'


@dataclass(frozen=True, slots=True)
class IfMatch:
    """A parsed `If-Match` header: `*`, or the strong tags it lists."""

    any_current: bool
    tags: frozenset[str]

    @classmethod
    def parse(cls, header: str) -> "IfMatch":
        """Weak tags never match (If-Match compares strongly); junk matches none."""
        value = header.strip()
        if value == "*":
            return cls(any_current=True, tags=frozenset())
        tags = set()
        position = 0
        while position < len(value):
            found = _ENTITY_TAG.match(value, position)
            if found is None:
                return cls(any_current=False, tags=frozenset())
            if found.group(1) is None:
                tags.add(found.group(2))
            position = found.end()
        return cls(any_current=False, tags=frozenset(tags))

    def matches(self, current_etag: str) -> bool:
        return self.any_current or current_etag in self.tags
