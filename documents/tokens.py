"""Bearer tokens (API and calendar feeds): how they are made, and what is stored instead of them.

A token is a kind prefix (``pi_``, ``cal_``, ``ech_``…) followed by 32 random bytes in
URL-safe base64. Only its SHA-256 is stored, with its first characters to show the user
which one is live; the plaintext is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

#: Characters of the plaintext kept to show which token is which (kind marker included).
SHOWN_PREFIX = 10
#: No token is longer: a longer value is refused before it is hashed or looked up.
MAX_LENGTH = 100


@dataclass(frozen=True)
class NewToken:
    """A token just made: the plaintext is shown once; only ``hash`` and ``prefix`` are stored."""

    plaintext: str
    hash: str
    prefix: str


def token_hash(plaintext: str) -> str:
    """SHA-256 of a token, hex: tokens are long random strings, so a fast unsalted hash suffices."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def new_token(kind: str) -> NewToken:
    """A new random token starting with ``kind`` (``"pi_"`` for the API, ``"cal_"`` for feeds)."""
    plaintext = kind + secrets.token_urlsafe(32)
    return NewToken(plaintext=plaintext, hash=token_hash(plaintext), prefix=plaintext[:SHOWN_PREFIX])


def plausible(plaintext: str, kind: str) -> bool:
    """True if ``plaintext`` may be a token of ``kind`` (checked before any lookup: no hashing of junk)."""
    return (bool(plaintext) and len(plaintext) <= MAX_LENGTH and plaintext.isascii()
            and plaintext.startswith(kind) and len(plaintext) > len(kind))
