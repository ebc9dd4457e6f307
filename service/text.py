"""Text from clients: what reaches the database, which stores neither NUL characters nor
lone surrogates (invalid Unicode that JSON's ``\\ud800`` escapes can carry), and how pages
show it without letting its bidirectional controls reorder the text around it."""

from __future__ import annotations

import re
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


# Bidirectional controls: embeddings and overrides (closed by PDF) and isolates (by PDI).
EMBEDDINGS = frozenset("\u202a\u202b\u202d\u202e")
ISOLATES = frozenset("\u2066\u2067\u2068")
PDF, PDI, FSI = "\u202c", "\u2069", "\u2068"


def balanced(text: str) -> str:
    """``text`` with each bidirectional control it opens closed inside it and stray closers
    dropped, so that none reorders what a page shows after it ("bolt\\u202e" would turn
    "98%" into "%89"). The controls themselves stay: right-to-left names may need them."""
    opened: list[str] = []
    kept: list[str] = []
    for char in text:
        if char in EMBEDDINGS or char in ISOLATES:
            opened.append(char)
        elif char == PDF:
            if not opened or opened[-1] not in EMBEDDINGS:
                continue
            opened.pop()
        elif char == PDI:
            isolates = [i for i, opener in enumerate(opened) if opener in ISOLATES]
            if not isolates:
                continue
            del opened[isolates[-1] :]
        kept.append(char)
    closers = (PDI if opener in ISOLATES else PDF for opener in reversed(opened))
    return "".join(kept) + "".join(closers)


# Right-to-left letters (Hebrew, Arabic, Syriac, Thaana, N'Ko … and their presentation
# forms) or bidirectional controls: only text holding one can reorder what surrounds it.
BIDI_SENSITIVE = re.compile(
    "[\u0590-\u08ff\ufb1d-\ufdff\ufe70-\ufeff\U00010800-\U00010fff\U0001e800-\U0001efff"
    "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]"
)


def isolated(text: str) -> str:
    """Text from users for a sentence or a title: balanced and first-strong isolated when it
    holds anything right-to-left, else as it is."""
    return f"{FSI}{balanced(text)}{PDI}" if BIDI_SENSITIVE.search(text) else text
