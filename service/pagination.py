"""Opaque keyset cursors: the sort key of the last item of a page, base64-encoded JSON."""

from __future__ import annotations

import base64
import binascii
import json
from typing import Any

from .errors import InvalidInput

DEFAULT_LIMIT = 50
MAX_LIMIT = 500


def encode_cursor(key: list[Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(key).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, length: int) -> list[Any]:
    """The key a cursor holds; a cursor that is not one of ours answers 422."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        key = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        key = None
    if not isinstance(key, list) or len(key) != length:
        raise InvalidInput(
            "the cursor is not valid; pass next_cursor from the previous page unchanged",
            code="invalid_cursor",
        )
    return key
