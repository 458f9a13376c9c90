"""Bearer tokens (API and calendar feeds): what is stored instead of the token itself."""

from __future__ import annotations

import hashlib


def token_hash(plaintext: str) -> str:
    """SHA-256 of a token, hex: tokens are long random strings, so a fast unsalted hash suffices."""
    return hashlib.sha256(plaintext.encode("utf-8")).hexdigest()
