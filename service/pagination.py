"""Opaque keyset cursors: the sort key of the last item of a page, base64-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
import math
from typing import Any

from .errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
# Ours are under 100 characters (a timestamp and a UUID at most).
MAX_CURSOR_CHARS = 512


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The key a cursor holds; a cursor that is not one of ours answers 422.

    A key holds ``length`` values, each a string, a 64-bit integer or a finite number, as
    :func:`encode_cursor` writes them: a tampered one (``[10**400, 1]``, booleans, nested
    values, NaN) would otherwise reach the database and fail there as a 500.
    """
    key = None
    if len(cursor) <= MAX_CURSOR_CHARS:
        try:
            padded = cursor + "=" * (-len(cursor) % 4)
            key = json.loads(base64.urlsafe_b64decode(padded.encode()))
        except (binascii.Error, ValueError, UnicodeDecodeError):
            key = None
    if not isinstance(key, list) or len(key) != length or not all(map(_storable, key)):
        raise InvalidInput(
            "the cursor is not valid; pass next_cursor from the previous page unchanged",
            code="invalid_cursor",
        )
    return key


def _storable(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return -(2**63) <= value < 2**63
    if isinstance(value, float):
        return math.isfinite(value)
    return isinstance(value, str) and len(value) <= MAX_CURSOR_CHARS
