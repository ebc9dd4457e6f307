"""The smaller findings of issue 25 (item 9) that the API's edges answer: a bounded metrics
label set, tampered cursors, the docs behind a key, and the headers on every answer."""

from __future__ import annotations

import base64
import json
import uuid

import pytest

from tests.service.auth.test_access import seed_image_audit

DOCS = ("/docs", "/docs/assets/swagger-ui.css", "/openapi.json")


def cursor_of(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


TAMPERED = [
    cursor_of(f"[{10**400}, 1]"),
    cursor_of("[true, 1]"),
    cursor_of("[1, false]"),
    cursor_of("[NaN, 1]"),
    cursor_of("[Infinity, 1]"),
    cursor_of('[[1], {"a": 1}]'),
    cursor_of("[null, 1]"),
    cursor_of(f"[{2**63}, 1]"),
    "!!!not base64!!!",
    cursor_of("not json"),
    "A" * 5000,
    # A time without its zone, where the audits list keys on a UTC one.
    cursor_of(f'["2026-01-01T00:00:00", "{uuid.UUID(int=1)}"]'),
]


def test_made_up_http_methods_share_one_metrics_label(client):
    for number in range(20):
        client.request(f"MADEUP{number}", "/healthz")
    text = client.get("/metrics").text
    assert "MADEUP" not in text
    assert 'labelaudit_http_request_duration_seconds_count{method="other"' in text


@pytest.mark.parametrize("cursor", TAMPERED)
def test_a_tampered_cursor_is_422_on_every_paged_list(client, reviewer, seed_audit, cursor):
    audit_id = seed_audit()
    for path in (
        f"/audits/{audit_id}/samples",
        f"/audits/{audit_id}/samples?order=row",
        f"/audits/{audit_id}/samples?order=margin",
        f"/audits/{audit_id}/reviews",
        "/audits",
    ):
        separator = "&" if "?" in path else "?"
        response = client.get(f"{path}{separator}cursor={cursor}", headers=reviewer)
        assert response.status_code == 422, (path, response.text)
        assert response.json()["error"]["code"] == "invalid_cursor", path


def test_the_docs_need_a_key_by_header_or_sign_in(client, reviewer):
    for path in DOCS:
        response = client.get(path)
        assert response.status_code == 401, path
        assert response.json()["error"]["code"] == "missing_key"
        assert client.get(path, headers=reviewer).status_code == 200, path
    key = reviewer["Authorization"].removeprefix("Bearer ")
    assert client.post("/sign-in", data={"key": key}, follow_redirects=False).status_code == 303
    for path in DOCS:
        assert client.get(path).status_code == 200, path


def test_every_answer_is_nosniff_and_keyed_answers_stay_private(
    client, reviewer, database, settings
):
    audit_id = seed_image_audit(database, settings, ["ok/0.png"])
    image = client.get(f"/audits/{audit_id}/samples/img0/image", headers=reviewer)
    assert image.status_code == 200 and image.headers["content-type"] == "image/jpeg"
    assert image.headers["cache-control"].startswith("private")
    assert image.headers["x-content-type-options"] == "nosniff"
    listed = client.get("/audits", headers=reviewer)
    assert listed.headers["cache-control"] == "no-store"
    for response in (
        listed,
        client.get("/healthz"),
        client.get(f"/audits/{uuid.uuid4()}", headers=reviewer),
        client.get("/audits"),
        client.post("/keys", headers=reviewer, content=json.dumps({}).encode()),
    ):
        assert response.headers["x-content-type-options"] == "nosniff", response.url
    assert "cache-control" not in client.get("/healthz").headers
