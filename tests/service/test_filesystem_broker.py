"""The embedded broker never shows a worker a message that is still being written."""

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
