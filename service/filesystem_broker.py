"""The embedded default's broker: kombu's filesystem transport, with messages that appear
whole.

kombu creates a message's file, then writes it; a worker polling the folder at that moment
takes the empty file, cannot decode it, and the audit it carried is never run. Here a
message is written under a name no consumer reads, then renamed into the queue, which is
atomic on one filesystem.
"""

from __future__ import annotations

import os
import uuid
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

# Celery's `broker_transport` takes "module:Class".
TRANSPORT = f"{__name__}:AtomicFilesystemTransport"


class AtomicFilesystemChannel(filesystem.Channel):
    # kombu names the second argument "payload" here and "message" in the base class.
    def _put(self, queue: Any, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        # Same name as kombu's (ordered by time); the temporary one has no "<queue>.msg".
        name = f"{int(round(monotonic() * 1000))}_{uuid.uuid4()}.{queue}.msg"
        final = os.path.join(self.data_folder_out, name)
        temporary = os.path.join(self.data_folder_out, f".incoming-{uuid.uuid4()}")
        try:
            with open(temporary, "wb") as handle:
                handle.write(str_to_bytes(dumps(payload)))
            os.replace(temporary, final)
        except OSError as exc:
            raise ChannelError(f"Cannot add file {final!r} to directory") from exc


class AtomicFilesystemTransport(filesystem.Transport):
    Channel = AtomicFilesystemChannel
