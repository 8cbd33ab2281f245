"""Bearer tokens: how they look, how they are made and how they are stored."""

import hashlib
import re
import secrets
from dataclasses import dataclass

TOKEN_SCHEME = "stk"  # noqa: S105 - a public marker, not a secret
# stk_<8 hex: public prefix>_<43 url-safe characters: 256 random bits>
TOKEN_PATTERN = re.compile(r"^(stk_[0-9a-f]{8})_[A-Za-z0-9_-]{43}$")
PREFIX_PATTERN = re.compile(r"^stk_[0-9a-f]{8}$")


@dataclass(frozen=True, slots=True)
class IssuedToken:
    token: str
    prefix: str
    token_hash: bytes


def hash_token(token: str) -> bytes:
    """SHA-256 is enough: tokens carry 256 random bits, nothing to brute-force."""
    return hashlib.sha256(token.encode()).digest()


def issue_token() -> IssuedToken:
    prefix = f"{TOKEN_SCHEME}_{secrets.token_hex(4)}"
    token = f"{prefix}_{secrets.token_urlsafe(32)}"
    return IssuedToken(token=token, prefix=prefix, token_hash=hash_token(token))


def prefix_of(token_or_prefix: str) -> str | None:
    """The public prefix of a whole token or of a prefix; None if neither."""
    if PREFIX_PATTERN.match(token_or_prefix):
        return token_or_prefix
    match = TOKEN_PATTERN.match(token_or_prefix)
    return match.group(1) if match else None


def is_well_formed(token: str) -> bool:
    return TOKEN_PATTERN.match(token) is not None
