"""Bearer tokens (API and calendar feeds): what is stored instead of the token itself.

A token is a kind prefix (``pi_``, ``cal_``, ``ech_``…) followed by 32 random bytes in
URL-safe base64. Only its SHA-256 is stored, with its first characters to show the user
which one is live; the plaintext is shown once, when it is created.
"""

from __future__ import annotations

import hashlib
import secrets

#: Characters kept in clear (``prefix`` columns) so that a user can tell their tokens apart.
SHOWN_LENGTH = 10
#: No token is longer: a longer value is refused before it is hashed or looked up.
MAX_LENGTH = 100


def token_hash(plaintext: str) -> str:
    """SHA-256 of a token, hex: tokens are long random strings, so a fast unsalted hash suffices."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()


def new_token(kind: str) -> tuple[str, str, str]:
    """A fresh random token starting with ``kind``: (plaintext, its hash, the beginning shown to the user)."""
    plaintext = kind + secrets.token_urlsafe(32)
    return plaintext, token_hash(plaintext), plaintext[:SHOWN_LENGTH]


def plausible(plaintext: str, kind: str) -> bool:
    """True if ``plaintext`` may be a token of ``kind`` (checked before any lookup: no hashing of junk)."""
    return (bool(plaintext) and len(plaintext) <= MAX_LENGTH and plaintext.isascii()
            and plaintext.startswith(kind) and len(plaintext) > len(kind))
