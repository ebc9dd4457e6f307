"""The one error every reader raises: a stable code, where the problem is, and what it is."""

from __future__ import annotations

from typing import Any


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
        self.facts = facts

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
