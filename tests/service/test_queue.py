"""The queue counts the messages no worker has taken yet, on Redis and on the embedded
broker alike (what the sweeper compares with the queued audits)."""

import uuid

import redis

from service.queue import AuditQueue
from tests.service.test_filesystem_broker import embedded_queue


def test_waiting_counts_the_messages_of_one_queue_on_the_embedded_broker(tmp_path):
    queue = embedded_queue(tmp_path)
    for _ in range(2):
        queue.enqueue(uuid.uuid4(), "cpu")
    queue.enqueue(uuid.uuid4(), "gpu")

    assert (queue.waiting("cpu"), queue.waiting("gpu"), queue.waiting("other")) == (2, 1, 0)


def test_waiting_counts_the_messages_of_one_queue_on_redis(settings, redis_url):
    queue = AuditQueue.from_settings(settings)
    name = f"count-{uuid.uuid4().hex[:8]}"
    assert queue.waiting(name) == 0
    for _ in range(3):
        queue.enqueue(uuid.uuid4(), name)

    assert queue.waiting(name) == 3
    redis.Redis.from_url(redis_url).delete(name)
