"""The API key: where a client may give it and how it is compared (both APIs share this)."""

from __future__ import annotations

import hmac


def header_key(headers) -> str | None:
    """The key in 'Authorization: Bearer KEY' or else 'X-API-Key: KEY' (None: neither)."""
    header = headers.get("authorization", "")
    return header[7:].strip() if header[:7].lower() == "bearer " else headers.get("x-api-key")


def key_matches(given, expected: str) -> bool:
    # compare_digest: the time taken does not tell an attacker how much of the key was right.
    return isinstance(given, str) and hmac.compare_digest(given.encode(), expected.encode())
