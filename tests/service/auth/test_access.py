"""Who may call what, over every operation of the OpenAPI schema; keys kept out of logs and
compared by hash; no path parameter reaches a file outside what the API means to serve."""

from __future__ import annotations

import hmac
import io
import logging
import os
import time
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event, func, select

from tests.seeding import write_audit
from tests.service.embedded import start_serve

PUBLIC = {"GET /healthz", "GET /readyz", "GET /metrics"}
ADMIN = {
    "POST /audits",
    "POST /audits/{audit_id}/cancel",
    "DELETE /audits/{audit_id}",
    "POST /audits/{audit_id}/reaudit",
    "GET /keys",
    "POST /keys",
    "DELETE /keys/{name}",
}
CSV = b"id,f1,label\na,1,x\nb,2,x\nc,3,y\nd,4,y\n"
# JSON answers: browsers asking for HTML get the dashboard's pages on some of these paths.
JSON = {"Accept": "application/json"}


def operations(client: Any, headers: dict[str, str]) -> list[str]:
    paths = client.get("/openapi.json", headers=headers).json()["paths"]
    return sorted(
        f"{method.upper()} {path}" for path, methods in paths.items() for method in methods
    )


def call(client: Any, operation: str, headers: dict[str, str], audit_id: str) -> Any:
    """Send ``operation`` as a well-formed request that would succeed with the right key, so
    that a missing check shows as a success."""
    method, template = operation.split(" ")
    path = template.format(audit_id=audit_id, sample_id="s0", row_index=0, name="reviewer-bob")
    options: dict[str, Any] = {}
    if operation == "POST /audits":
        options["files"] = {"file": ("data.csv", CSV)}
    elif operation == "POST /keys":
        options["json"] = {"name": "intruder", "role": "admin"}
    elif operation == "POST /audits/{audit_id}/reviews":
        options["json"] = {"items": [{"sample_id": "s0", "action": "keep"}]}
    elif operation == "POST /audits/{audit_id}/reaudit":
        options["json"] = {}
    return client.request(method, path, headers={**JSON, **headers}, **options)


def test_every_operation_needs_a_key_and_admin_ones_an_admin_key(
    client, reviewer, seed_audit, database, settings, report
):
    from service.audits.models import Audit
    from service.auth.models import ApiKey

    audit_id = str(seed_audit())
    every = operations(client, reviewer)
    assert set(every) >= PUBLIC | ADMIN, "a classified operation is no longer in the schema"
    wrong = {"Authorization": f"Bearer la_{uuid.uuid4().hex}"}
    requests = 0
    for operation in every:
        if operation in PUBLIC:
            assert call(client, operation, {}, audit_id).status_code == 200, operation
            requests += 1
            continue
        for headers, code in (({}, "missing_key"), (wrong, "invalid_key")):
            response = call(client, operation, headers, audit_id)
            assert response.status_code == 401, (operation, response.text)
            assert response.json()["error"]["code"] == code, operation
            assert response.headers["www-authenticate"] == "Bearer"
        response = call(client, operation, reviewer, audit_id)
        if operation in ADMIN:
            assert response.status_code == 403, (operation, response.text)
            assert response.json()["error"]["code"] == "admin_required"
        else:
            # Accepted: what follows is the operation's own answer (a table has no image).
            assert response.status_code < 400 or (
                response.status_code == 404 and response.json()["error"]["code"] == "no_image"
            ), (operation, response.text)
        requests += 3
    with database.session_scope() as session:
        assert session.scalar(select(func.count()).select_from(Audit)) == 1
        assert session.scalars(select(ApiKey.name)).all() == ["reviewer-bob"]
    assert list((settings.data_dir / "incoming").iterdir()) == []
    report(
        f"access matrix: {len(every)} operations ({len(PUBLIC)} public, {len(ADMIN)} "
        f"admin, {len(every) - len(PUBLIC) - len(ADMIN)} reviewer), {requests} requests: "
        "401 without and with a wrong key, 403 for a reviewer on admin operations"
    )


def test_keys_are_looked_up_by_hash_and_compared_in_constant_time(client, reviewer, monkeypatch):
    from service.auth.service import hash_key

    key = reviewer["Authorization"].removeprefix("Bearer ")
    wrong = f"la_{uuid.uuid4().hex}"
    compared: list[tuple[str, str]] = []
    compare_digest = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        compared.append((a, b))
        return compare_digest(a, b)

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        statements.append(f"{statement} {parameters!r}")

    monkeypatch.setattr(hmac, "compare_digest", spy)
    engine = client.app.state.database.engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        assert client.get("/audits", headers=reviewer).status_code == 200
        assert (
            client.get("/audits", headers={"Authorization": f"Bearer {wrong}"}).status_code == 401
        )
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert (hash_key(key), hash_key(key)) in compared
    sql = "\n".join(statements)
    assert hash_key(key) in sql and hash_key(wrong) in sql
    assert key not in sql and wrong not in sql, "a plaintext key reached the database"


@pytest.mark.slow
def test_keys_never_appear_in_logs(
    service_environment, database, tmp_path, caplog, redis_url, seed_audit, free_port
):
    """`labelaudit serve` (uvicorn's access log included) and the in-process loggers, at
    their most verbose, over requests with good, wrong and new keys."""
    admin_key = f"la_{uuid.uuid4().hex}"
    wrong_key = f"la_{uuid.uuid4().hex}"
    port = free_port
    queue = f"logs-{uuid.uuid4().hex[:8]}"
    environment = {
        **os.environ,
        **service_environment,
        "LABELAUDIT_ADMIN_KEY": admin_key,
        "AUDIT_QUEUE": queue,
    }
    server, log_path = start_serve(tmp_path, port, environment)
    audit_id = str(seed_audit())
    caplog.set_level(logging.DEBUG)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                httpx.get(f"{base}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert server.poll() is None and time.monotonic() < deadline, log_path.read_text()
                time.sleep(0.2)
        admin = {"Authorization": f"Bearer {admin_key}"}
        with httpx.Client(base_url=base, timeout=30) as http:
            created = http.post("/keys", headers=admin, json={"name": "eve", "role": "reviewer"})
            assert created.status_code == 201, created.text
            new_key = created.json()["key"]
            for headers in (admin, {"Authorization": f"Bearer {new_key}"}):
                assert http.get("/audits", headers=headers).status_code == 200
                assert http.get(f"/audits/{audit_id}/samples/s0", headers=headers).is_success
                assert http.get(f"/audits/{uuid.uuid4()}", headers=headers).status_code == 404
            assert http.get("/audits", headers={"Authorization": f"Bearer {wrong_key}"}).is_error
            upload = http.post("/audits", headers=admin, files={"file": ("d.csv", CSV)})
            assert upload.status_code == 202, upload.text
            # The dashboard's sign-in takes the key in a form.
            http.post("/sign-in", data={"key": wrong_key})
    finally:
        server.terminate()
        server.wait(timeout=30)
        import redis

        redis.Redis.from_url(redis_url).delete(queue)
    served = log_path.read_text()
    assert "GET /audits HTTP/1.1" in served, "the access log is not in the captured output"
    for secret in (admin_key, new_key, wrong_key):
        assert secret not in served
        assert secret not in caplog.text


def seed_image_audit(database: Any, settings: Any, image_paths: list[str]) -> str:
    """A succeeded image audit whose stored zip holds one real PNG (``ok/0.png``) and whose
    samples name ``image_paths`` (hostile ones included, as no upload could)."""
    from PIL import Image

    from service.storage import Storage

    audit_id = uuid.uuid4()
    upload = Storage(settings.data_dir).upload_path(audit_id, "zip")
    upload.parent.mkdir(parents=True)
    png = io.BytesIO()
    Image.new("L", (8, 8), 100).save(png, format="PNG")
    with zipfile.ZipFile(upload, "w") as archive:
        archive.writestr("ok/0.png", png.getvalue())
    samples = [
        {"sample_id": f"img{row}", "given_label": "ok", "suggested_label": "ok", "image_path": path}
        for row, path in enumerate(image_paths)
    ]
    write_audit(
        database,
        samples,
        id=audit_id,
        name="images",
        upload_filename="i.zip",
        upload_kind="zip",
        upload_size=upload.stat().st_size,
        dataset_kind="image",
        class_names=["ok", "scratch"],
        summary=None,
    )
    return str(audit_id)


TRAVERSALS = [
    "../../../../etc/passwd",
    "..%2F..%2F..%2F..%2Fetc%2Fpasswd",
    "%2e%2e/%2e%2e/%2e%2e/%2e%2e/etc/passwd",
    "%2e%2e%2f%2e%2e%2f%2e%2e%2fetc%2fpasswd",
    "/etc/passwd",
    "%2Fetc%2Fpasswd",
    "..%5C..%5C..%5Cetc%5Cpasswd",
    "ok%2F..%2F..%2F..%2Fconfig.py",
]


def test_path_parameters_cannot_reach_files_outside_the_data(
    client, admin, reviewer, database, settings
):
    hostile = ["ok/0.png", "../../../../etc/passwd", "/etc/passwd", "../upload.zip"]
    audit_id = seed_image_audit(database, settings, hostile)
    base = f"/audits/{audit_id}/samples"
    assert client.get(f"{base}/img0/image", headers=reviewer).status_code == 200
    refused = 0
    for traversal in TRAVERSALS:
        for path in (
            f"{base}/{traversal}/image",
            f"{base}/{traversal}",
            f"/audits/{traversal}",
            f"/audits/{traversal}/export.csv",
            f"/audits/{traversal}/samples/img0/image",
        ):
            response = client.get(path, headers={**JSON, **reviewer})
            assert response.status_code in (404, 422), (path, response.status_code)
            assert "root:" not in response.text and "BaseSettings" not in response.text
            refused += 1
        response = client.delete(f"/keys/{traversal}", headers=admin)
        assert response.status_code in (404, 422), (traversal, response.text)
        refused += 1
    # Samples whose stored image path is hostile are read from the archive only: not found.
    for row in range(1, len(hostile)):
        response = client.get(f"{base}/img{row}/image", headers=reviewer)
        assert response.status_code == 404 and response.json()["error"]["code"] == "no_image"
    assert refused == 6 * len(TRAVERSALS)


def test_uploads_are_never_served_as_files(client, admin, reviewer, settings):
    created = client.post("/audits", headers=admin, files={"file": ("secret.csv", CSV)})
    assert created.status_code == 202, created.text
    audit_id = created.json()["id"]
    assert (Path(settings.data_dir) / "audits" / audit_id / "upload.csv").read_bytes() == CSV
    static = next(route.path for route in client.app.routes if type(route).__name__ == "Mount")
    for path in (
        f"/audits/{audit_id}/upload.csv",
        f"/{Path(settings.data_dir).name}/audits/{audit_id}/upload.csv",
        f"/audits/{audit_id}/samples/upload.csv",
        f"{static}/..%2F..%2F..%2Faudits%2F{audit_id}%2Fupload.csv",
        f"{static}/../../config.py",
        f"{static}/%2e%2e/%2e%2e/config.py",
    ):
        for headers in ({}, reviewer, admin):
            response = client.get(path, headers={**JSON, **headers})
            assert response.status_code in (401, 404, 409, 422), (path, response.status_code)
            assert b"a,1,x" not in response.content and b"BaseSettings" not in response.content
