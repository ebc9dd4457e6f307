"""Request bodies: the key is checked before a byte of the body is read, and a body other
than an upload stops at LABELAUDIT_MAX_BODY_BYTES, declared or streamed (issue 25, item 3)."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from typing import Any

from tests.service.backends import backend

__all__ = ["backend"]
MIB = 2**20


class Body:
    """A chunked request body that counts the chunks the server pulled from it."""

    def __init__(self, chunks: int, chunk: bytes) -> None:
        self.chunks, self.chunk, self.pulled = chunks, chunk, 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.chunks):
            self.pulled += 1
            yield self.chunk


def review_body(items: int) -> bytes:
    item = {"sample_id": "s0", "action": "keep"}
    return json.dumps({"items": [item] * items}).encode()


def assert_error(response: Any, status: int, code: str) -> None:
    assert response.status_code == status, response.text
    assert set(response.json()["error"]) == {"code", "message", "details"}
    assert response.json()["error"]["code"] == code


def test_a_keyless_100_mb_body_is_refused_before_it_is_read(backend):
    client = backend.open_client()
    path = f"/audits/{uuid.uuid4()}/reviews"
    wrong = {"Authorization": f"Bearer la_{uuid.uuid4().hex}"}
    for headers, code in (({}, "missing_key"), (wrong, "invalid_key")):
        body = Body(100, b" " * MIB)
        response = client.post(
            path, content=iter(body), headers={**headers, "Content-Type": "application/json"}
        )
        assert_error(response, 401, code)
        assert body.pulled == 0, f"{body.pulled} MiB read before the key was checked"


def test_a_body_past_the_limit_is_413_declared_or_streamed(backend):
    client = backend.open_client(max_body_bytes=4096)
    headers = {**backend.headers("big"), "Content-Type": "application/json"}
    path = f"/audits/{uuid.uuid4()}/reviews"
    declared = client.post(path, content=review_body(200), headers=headers)
    assert_error(declared, 413, "body_too_large")
    assert "4,096 bytes (LABELAUDIT_MAX_BODY_BYTES)" in declared.json()["error"]["message"]
    # Chunked, so no Content-Length to go by: counted as it comes.
    streamed = iter(Body(1000, b" " * 1024))
    assert_error(client.post(path, content=streamed, headers=headers), 413, "body_too_large")
    # Under the limit the body is read as before: a missing audit.
    assert_error(client.post(path, content=review_body(2), headers=headers), 404, "audit_not_found")


def test_forms_have_the_limit_and_uploads_their_own(backend):
    client = backend.open_client(max_body_bytes=1024)
    form = client.post("/sign-in", data={"key": "x" * 2000})
    assert_error(form, 413, "body_too_large")
    admin = backend.headers("uploader", "admin")
    rows = "".join(f"s{row},{row},{'ab'[row % 2]}\n" for row in range(200))
    upload = ("data.csv", ("id,f1,label\n" + rows).encode())
    response = client.post("/audits", headers=admin, files={"file": upload})
    assert response.status_code == 202, response.text
