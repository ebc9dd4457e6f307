"""The one error every reader raises: a stable code, where the problem is, and what it is."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

# What an error lists at most (class names, members, rows) in its message and its details;
# the rest is counted. Without a cap, 200,000 single-sample classes made a 4.6 MB answer.
LISTED_ITEMS = 20


def listing(items: Iterable[Any], *, shown: Callable[[Any], str] = repr) -> str:
    """``'a', 'b', 'c'``, or past :data:`LISTED_ITEMS` items ``'a', … 't' and 1,980 more``."""
    listed = list(items)
    head = ", ".join(shown(item) for item in listed[:LISTED_ITEMS])
    rest = len(listed) - LISTED_ITEMS
    return f"{head} and {rest:,} more" if rest > 0 else head


class DatasetError(ValueError):
    """A dataset cannot be audited.

    Parameters
    ----------
    message : str
        What is wrong, in words a user can act on; it names the row, line, column or member.
    code : str
        A stable identifier of the problem (``missing_label``, ``archive_too_large`` ...),
        the same whether the CLI, the engine or the API meets it.
    file : str, optional
        The dataset's file name. The public entry points fill it in, so ``str(error)`` reads
        ``data.csv: line 3 has 4 fields but the header has 3`` everywhere.
    row, line, column, member, index : optional
        Where the problem is: a 1-based table row or text line, a column, an archive member
        or an array index, as they apply.
    """

    def __init__(
        self,
        message: str,
        *,
        code: str,
        file: str | None = None,
        row: int | None = None,
        line: int | None = None,
        column: str | None = None,
        member: str | None = None,
        index: int | None = None,
        **facts: Any,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.file = file
        self.location = {
            key: value
            for key, value in (
                ("row", row),
                ("line", line),
                ("column", column),
                ("member", member),
                ("index", index),
            )
            if value is not None
        }
        self.facts = _capped(facts)

    def __str__(self) -> str:
        return f"{self.file}: {self.message}" if self.file else self.message

    @property
    def details(self) -> dict[str, Any]:
        """The file, location and any other facts (a limit, the columns found) as a dict."""
        file = {"file": self.file} if self.file else {}
        return {**file, **self.location, **self.facts}

    def naming(self, file: str) -> DatasetError:
        """This error with ``file`` as its file, unless it already names one."""
        if self.file is None:
            self.file = file
        return self


def _capped(facts: dict[str, Any]) -> dict[str, Any]:
    """``facts`` with each list, tuple or dict cut to its first :data:`LISTED_ITEMS`
    entries; a cut one gains ``<name>_total``, how many entries it had."""
    capped: dict[str, Any] = {}
    for name, value in facts.items():
        if isinstance(value, list | tuple | dict) and len(value) > LISTED_ITEMS:
            capped[f"{name}_total"] = len(value)
            value = (
                dict(list(value.items())[:LISTED_ITEMS])
                if isinstance(value, dict)
                else list(value[:LISTED_ITEMS])
            )
        capped[name] = value
    return capped
