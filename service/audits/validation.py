"""The checks an upload gets while its request is open, so that bad data answers 422.

The dataset rules are :mod:`formats`' (the worker loads with the same readers, so an
upload accepted here loads there, and they refuse what the database could not store: NUL
characters, over-long labels and ids); this module maps their errors to
:class:`InvalidInput` and adds the training-memory budget. The check streams the file (its
memory does not grow with the rows) and stops between chunks once the client has gone away.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path, PurePosixPath
from typing import TypeVar

from fastapi.concurrency import run_in_threadpool
from starlette.requests import Request

from formats import DatasetError, Limits, Summary, check_dataset
from formats.options import AuditConfig, ConfigError
from formats.training_memory import check_training_memory

from ..errors import InvalidInput, ServiceError

T = TypeVar("T")


class ClientDisconnected(ServiceError):
    """The client went away while its upload was checked; nothing of it is kept. (499, as
    proxies log it; nobody reads the answer.)"""

    status = 499
    code = "client_disconnected"


async def run_while_connected(request: Request, work: Callable[[threading.Event], T]) -> T:
    """Run ``work`` in the thread pool with an event that is set as soon as the client of
    ``request`` disconnects, so that a long check can stop at its next chunk; return its
    result or raise its error. The body must have been read: the next ASGI message is then
    the disconnect (awaited, not polled: ``request.is_disconnected`` answers False through
    a ``BaseHTTPMiddleware``)."""
    gone = threading.Event()

    async def watch() -> None:
        try:
            while (await request.receive())["type"] != "http.disconnect":
                pass
        finally:
            gone.set()

    watcher = asyncio.ensure_future(watch())
    try:
        return await run_in_threadpool(work, gone)
    finally:
        watcher.cancel()


@contextmanager
def dataset_errors() -> Iterator[None]:
    """The one place a :class:`DatasetError` becomes the API's :class:`InvalidInput`: same
    code, same message, its file, row or member as details."""
    try:
        yield
    except DatasetError as exc:
        raise InvalidInput(str(exc), code=exc.code, details=exc.details or None) from None
    except ConfigError as exc:
        # An option that the data rules out (a backbone for a table), named like the others.
        problem = {"option": exc.option or "config", "message": str(exc)}
        raise InvalidInput(
            f"invalid config: {exc}", code="invalid_config", details=[problem]
        ) from None


def inspect_upload(
    path: Path,
    filename: str,
    *,
    label_column: str,
    id_column: str,
    limits: Limits,
    abandoned: threading.Event | None = None,
    engine: AuditConfig | None = None,
) -> Summary:
    """Check a stored upload, its format named by ``filename``'s ending, as the worker will
    load it, and that its training fits the memory budget with the ``engine`` options
    (default: the defaults); raise :class:`InvalidInput` naming the first problem, or
    :class:`ClientDisconnected` once ``abandoned`` is set."""
    if "\0" in filename:
        raise InvalidInput(f"the file name {filename!r} holds a NUL character", code="bad_filename")

    def interrupt() -> None:
        if abandoned is not None and abandoned.is_set():
            raise ClientDisconnected("the client disconnected; the upload was not kept")

    with dataset_errors():
        summary = check_dataset(
            path,
            name=PurePosixPath(filename.replace("\\", "/")).name,
            label_column=label_column,
            id_column=id_column,
            limits=limits,
            interrupt=interrupt,
        )
    interrupt()
    with dataset_errors():
        samples = sum(summary.class_counts.values())
        plan = (engine or AuditConfig()).plan(samples, is_image=summary.kind == "image")
        check_training_memory(
            samples, len(summary.class_counts), plan, budget=limits.max_training_bytes
        )
    return summary
