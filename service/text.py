"""Text from clients that reaches the database, which stores neither NUL characters nor
lone surrogates (invalid Unicode that JSON's ``\\ud800`` escapes can carry)."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator


def storable(value: str) -> str:
    if "\0" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (it holds a lone surrogate)") from None
    return value


StoredText = Annotated[str, AfterValidator(storable)]
