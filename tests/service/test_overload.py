"""Under more requests than the API can serve: a quick 503 with Retry-After, never a 500 or
a hang; /healthz answers throughout; on PostgreSQL and on SQLite (issue 25, item 1)."""

from __future__ import annotations

import logging
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from typing import Any

import pytest

from tests.seeding import write_audit
from tests.service.backends import Backend, backend

__all__ = ["backend"]
# A guard against a hang, not a timing assertion: a deadlocked API never answers.
HANG_S = 60


def assert_busy(response: Any, code: str = "server_busy") -> None:
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"].isdigit()
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code, error


def samples_path(backend: Backend) -> str:
    audit_id = write_audit(backend.database, [{"flagged": True} for _ in range(60)])
    return f"/audits/{audit_id}/samples?flagged=true&limit=50"


def test_eighty_clients_at_once_are_all_answered_with_the_shipped_defaults(backend):
    """The issue's deadlock: 80 requests in flight with one key, each answered, none 500."""
    client = backend.open_client()
    headers = backend.headers("eighty")
    path = samples_path(backend)
    with ThreadPoolExecutor(80) as pool:
        answers = list(pool.map(lambda _: client.get(path, headers=headers), range(80)))
    statuses = sorted(answer.status_code for answer in answers)
    assert statuses == [200] * 80, statuses


def test_past_capacity_a_request_is_answered_503_at_once(backend, caplog):
    client = backend.open_client(
        max_active_requests=1, max_waiting_requests=0, busy_timeout_s=HANG_S
    )
    headers = backend.headers("busy")
    path = samples_path(backend)
    caplog.set_level(logging.WARNING)
    with ThreadPoolExecutor(4) as pool, backend.keys_locked():
        # One request is admitted and stalls on the lock; the other three find no room.
        pending: set[Future[Any]] = {pool.submit(client.get, path, headers=headers) for _ in "abcd"}
        refused = []
        while len(refused) < 3:
            done, pending = wait(pending, timeout=HANG_S, return_when=FIRST_COMPLETED)
            assert done, "no request was turned away"
            refused += [future.result() for future in done]
        assert client.get("/healthz").json() == {"status": "ok"}
    for response in refused:
        assert_busy(response)
    (admitted,) = pending
    assert admitted.result(timeout=HANG_S).status_code == 200
    busy_lines = [r for r in caplog.records if "answered 503" in r.getMessage()]
    assert len(busy_lines) == 3 and not any(r.exc_info for r in caplog.records)


def test_healthz_answers_while_every_admitted_request_waits_on_the_database(backend):
    client = backend.open_client(max_active_requests=4, busy_timeout_s=HANG_S)
    headers = backend.headers("stalled")
    path = samples_path(backend)
    with ThreadPoolExecutor(51) as pool:  # one thread for the probe
        with backend.keys_locked():
            stalled = [pool.submit(client.get, path, headers=headers) for _ in range(50)]
            backend.wait_for_stalled(4)
            probe = pool.submit(client.get, "/healthz")
            assert probe.result(timeout=HANG_S).json() == {"status": "ok"}
        statuses = sorted(future.result(timeout=HANG_S).status_code for future in stalled)
    assert statuses == [200] * 50, statuses


def test_no_free_connection_is_a_503_with_one_log_line_and_healthz_still_answers(backend, caplog):
    client = backend.open_client(busy_timeout_s=0.2)
    headers = backend.headers("pool")
    engine = client.app.state.database.engine
    held = [engine.connect() for _ in range(engine.pool.size() + engine.pool._max_overflow)]
    caplog.set_level(logging.WARNING)
    try:
        assert client.get("/healthz").json() == {"status": "ok"}
        assert_busy(client.get("/audits", headers=headers))
    finally:
        for connection in held:
            connection.close()
    assert [r.getMessage() for r in caplog.records] == [
        "no database connection free on GET /audits"
    ]
    assert not any(r.exc_info for r in caplog.records)
    assert client.get("/audits", headers=headers).status_code == 200


def test_sqlite_write_lock_held_past_the_busy_timeout_is_a_503(backend):
    if backend.name != "sqlite":
        pytest.skip("PostgreSQL has row locks; SQLite locks the whole database to write")
    client = backend.open_client(busy_timeout_s=0.2)
    headers = backend.headers("writer")
    with backend.keys_locked():
        # The key's first use records it, which needs the write lock.
        assert_busy(client.get("/audits", headers=headers), "database_busy")
    assert client.get("/audits", headers=headers).status_code == 200
