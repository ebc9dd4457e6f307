"""The embedded default's broker: kombu's filesystem transport, with messages that appear
whole and are taken first in, first out.

kombu creates a message's file, then writes it; a worker polling the folder at that moment
takes the empty file, cannot decode it, and the audit it carried is never run. Here a
message is written under a name no consumer reads, then renamed into the queue, which is
atomic on one filesystem.

A consumer takes the queue's messages in the text order of their names. kombu names them
by ``monotonic()`` milliseconds without padding, so "10000_…" sorted before "9999_…" and
a newer audit ran before an older one; and ``monotonic()`` restarts at boot while the
messages stay on disk. Names here start with the wall clock in nanoseconds, zero-padded to
a fixed width and never going back within a process. A message keeps its key in its
properties, so one given back (a worker shutting down, a task rejected to be re-queued) takes
its old place, ahead of the audits queued after it, where kombu would send it to the back.
"""

from __future__ import annotations

import os
import re
import threading
import uuid
from contextlib import suppress
from time import time_ns
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Celery's `broker_transport` takes "module:Class".
TRANSPORT = f"{__name__}:AtomicFilesystemTransport"
# Nanoseconds since 1970 fit 20 digits until the year 5138.
ORDER_DIGITS = 20
# The property a message carries its ordering key in, from its first put to its last.
ORDER_PROPERTY = "labelaudit_order"
# A name kombu's own transport (and this module before it padded) gave a message.
UNPADDED_NAME = re.compile(rf"^(\d{{1,{ORDER_DIGITS - 1}}})_([^.]+\..+\.msg)$")


class _OrderingClock:
    """Nanoseconds of the wall clock that only increase within the process, also when two
    messages are put in the same tick or the clock is set back."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()

    def next(self) -> int:
        with self._lock:
            self._last = max(time_ns(), self._last + 1)
            return self._last


_clock = _OrderingClock()


def message_name(queue: str, order: int) -> str:
    """``<ordering key>_<uuid>.<queue>.msg``: kombu reads the queue from the part after the
    first dot, and takes messages in the names' text order."""
    return f"{order:0{ORDER_DIGITS}d}_{uuid.uuid4()}.{queue}.msg"


def ordering_key(payload: dict[str, Any]) -> int:
    """The key ``payload`` was first put with (a message given back), else a new one, kept
    in its properties."""
    properties = payload.setdefault("properties", {})
    order = properties.get(ORDER_PROPERTY)
    if not isinstance(order, int) or isinstance(order, bool) or order < 0:
        order = properties[ORDER_PROPERTY] = _clock.next()
    return order


def pad_unpadded_names(folder: str) -> None:
    """Give messages left by an older version (unpadded ``monotonic()`` milliseconds) the
    fixed width, which puts them before every newer message and keeps their own order."""
    try:
        names = os.listdir(folder)
    except FileNotFoundError:
        return
    for name in names:
        if match := UNPADDED_NAME.match(name):
            key, rest = match.groups()
            # OSError: taken by a consumer or renamed by another process meanwhile.
            with suppress(OSError):
                os.replace(
                    os.path.join(folder, name),
                    os.path.join(folder, f"{int(key):0{ORDER_DIGITS}d}_{rest}"),
                )


class AtomicFilesystemChannel(filesystem.Channel):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        pad_unpadded_names(self.data_folder_in)

    # kombu names the second argument "payload" here and "message" in the base class.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        final = os.path.join(self.data_folder_out, message_name(queue, ordering_key(payload)))
        # The temporary name has no "<queue>.msg", so no consumer reads it.
        temporary = os.path.join(self.data_folder_out, f".incoming-{uuid.uuid4()}")
        try:
            with open(temporary, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicFilesystemChannel
