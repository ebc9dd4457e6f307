"""The embedded broker never shows a worker a message that is still being written."""

import json
import uuid
from pathlib import Path

import pytest
from kombu import Connection
from kombu.transport.virtual import Empty

from service import filesystem_broker
from service.config import Settings
from service.queue import AuditQueue, create_celery


def embedded_queue(tmp_path: Path) -> AuditQueue:
    settings = Settings(data_dir=tmp_path, database_url=None, celery_broker_url=None)
    return AuditQueue(create_celery(settings), default_queue="cpu")


def test_the_embedded_default_uses_the_atomic_transport(tmp_path):
    with embedded_queue(tmp_path).celery.connection_for_write() as connection:
        assert isinstance(connection.transport, filesystem_broker.AtomicFilesystemTransport)


def test_a_message_is_invisible_until_it_is_whole(tmp_path, monkeypatch):
    queue = embedded_queue(tmp_path)
    folder = tmp_path / "broker" / "queue"
    with Connection("filesystem://", transport=filesystem_broker.TRANSPORT) as connection:
        connection.transport_options = {"data_folder_in": str(folder)}
        consumer = connection.default_channel
        real_replace = filesystem_broker.os.replace
        seen_while_writing: list[str] = []

        def replace_after_polling(source: str, target: str) -> None:
            # A worker polling now, the message written but not yet renamed into the queue.
            assert Path(source).stat().st_size > 0
            with pytest.raises(Empty):
                consumer._get("cpu")
            seen_while_writing.extend(path.name for path in folder.iterdir())
            real_replace(source, target)

        monkeypatch.setattr(filesystem_broker.os, "replace", replace_after_polling)
        audit_id = uuid.uuid4()
        queue.enqueue(audit_id, "cpu")

        assert [name.startswith(".incoming-") for name in seen_while_writing] == [True]
        message = consumer._get("cpu")
    assert message["headers"]["argsrepr"] == repr([str(audit_id)])


def put_and_take(folder: Path, names: list[str], clock_ns: list[int], monkeypatch) -> list[str]:
    """Put one message per name, the wall clock reading the next of ``clock_ns`` each time,
    then take every message the way a worker does; returns the names in the order taken."""
    readings = iter(clock_ns)
    monkeypatch.setattr(filesystem_broker, "time_ns", lambda: next(readings))
    # A fresh clock, as in a process that just started.
    monkeypatch.setattr(filesystem_broker, "_clock", filesystem_broker._OrderingClock())
    with Connection("filesystem://", transport=filesystem_broker.TRANSPORT) as connection:
        connection.transport_options = {
            "data_folder_in": str(folder),
            "data_folder_out": str(folder),
        }
        channel = connection.default_channel
        for name in names:
            channel._put("cpu", {"name": name})
        taken = []
        while True:
            try:
                taken.append(channel._get("cpu")["name"])
            except Empty:
                return taken


MS = 1_000_000


@pytest.mark.parametrize(
    "clock_ns",
    [
        # One more digit between the two messages: kombu's own names (unpadded
        # milliseconds) sorted "10000_…" before "9999_…".
        [9_999 * MS, 10_000 * MS],
        [99_999 * MS, 100_000 * MS],
        # The same tick twice, and the clock set back (NTP) before the second message.
        [1_800_000_000_000 * MS, 1_800_000_000_000 * MS],
        [1_800_000_000_000 * MS, 1_799_999_999_000 * MS],
    ],
)
def test_messages_are_taken_in_the_order_they_were_put(tmp_path, monkeypatch, clock_ns):
    taken = put_and_take(tmp_path, ["older", "newer"], clock_ns, monkeypatch)
    assert taken == ["older", "newer"]


def test_messages_from_an_earlier_run_are_taken_first_in_their_order(tmp_path, monkeypatch):
    """A restart resets monotonic(): messages an older version left on disk, named by it,
    still go first, the oldest first."""
    for milliseconds, name in ((10_000, "left-second"), (9_999, "left-first")):
        payload = {"body": "", "headers": {}, "properties": {}, "name": name}
        message = tmp_path / f"{milliseconds}_{uuid.uuid4()}.cpu.msg"
        message.write_text(json.dumps(payload))
    taken = put_and_take(tmp_path, ["new"], [1_800_000_000_000 * MS], monkeypatch)
    assert taken == ["left-first", "left-second", "new"]


def test_a_message_given_back_goes_before_those_queued_after_it(tmp_path):
    """A worker shutting down gives its audit back (a task rejected with requeue): kombu
    puts it again as new, behind every audit queued since."""
    with Connection("filesystem://", transport=filesystem_broker.TRANSPORT) as connection:
        connection.transport_options = {
            "data_folder_in": str(tmp_path),
            "data_folder_out": str(tmp_path),
        }
        queue = connection.SimpleQueue("cpu")
        for name in ("first", "second"):
            queue.put({"name": name})
        taken = queue.get(timeout=1)
        assert taken.payload == {"name": "first"}
        queue.put({"name": "third"})
        taken.requeue()  # basic_reject(requeue=True): the QoS restores it "at the beginning"
        order = []
        for _ in range(3):
            message = queue.get(timeout=5)
            order.append(message.payload["name"])
            message.ack()
        assert len(queue) == 0
        queue.close()
    assert order == ["first", "second", "third"]
