"""Bearer keys: every endpoint but health needs one; admin and reviewer roles."""

import os
import subprocess
import sys

import pytest
from sqlalchemy import select

CSV = ("data.csv", b"f1,label\n1,x\n2,x\n3,y\n4,y\n")


def test_request_without_a_key_is_401(client):
    for method, path in (("get", "/audits"), ("post", "/audits"), ("get", "/keys")):
        response = client.request(method, path)
        assert response.status_code == 401, path
        assert response.headers["www-authenticate"] == "Bearer"
        assert response.json()["error"]["code"] == "missing_key"


def test_unknown_key_is_401(client):
    response = client.get("/audits", headers={"Authorization": "Bearer la_nope"})
    assert response.status_code == 401
    assert response.json()["error"] == {
        "code": "invalid_key",
        "message": "the API key is not valid",
        "details": None,
    }


def test_reviewer_cannot_create_audits_and_nothing_is_stored(client, reviewer, settings):
    response = client.post("/audits", headers=reviewer, files={"file": CSV})
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "admin_required"
    assert list((settings.data_dir / "incoming").iterdir()) == []
    assert client.get("/audits", headers=reviewer).json()["items"] == []
    assert (
        client.post("/keys", headers=reviewer, json={"name": "x", "role": "admin"}).status_code
        == 403
    )


def test_admin_manages_keys_over_http(client, admin):
    response = client.post("/keys", headers=admin, json={"name": "carol", "role": "reviewer"})
    assert response.status_code == 201, response.text
    key = response.json()["key"]
    carol = {"Authorization": f"Bearer {key}"}
    assert client.get("/audits", headers=carol).status_code == 200
    assert (
        client.post("/keys", headers=admin, json={"name": "carol", "role": "admin"}).status_code
        == 409
    )
    names = [row["name"] for row in client.get("/keys", headers=admin).json()]
    assert names == ["admin-alice", "carol"]
    assert "key" not in client.get("/keys", headers=admin).json()[0]
    assert client.delete("/keys/carol", headers=admin).status_code == 204
    assert client.get("/audits", headers=carol).status_code == 401


def test_keys_are_stored_hashed(client, admin, database):
    from service.auth.models import ApiKey

    key = admin["Authorization"].removeprefix("Bearer ")
    with database.session_scope() as session:
        stored = session.scalars(select(ApiKey)).one()
    assert key not in (stored.key_hash, stored.prefix) and len(stored.key_hash) == 64


@pytest.mark.slow
def test_keys_create_command_prints_a_working_key(client, service_environment):
    environment = {**os.environ, **service_environment}
    completed = subprocess.run(
        [
            sys.executable,
            "-m",
            "labelaudit",
            "keys",
            "create",
            "--name",
            "dave",
            "--role",
            "reviewer",
        ],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert completed.returncode == 0, completed.stderr
    key = completed.stdout.strip()
    assert key.startswith("la_") and "shown only now" in completed.stderr
    assert client.get("/audits", headers={"Authorization": f"Bearer {key}"}).status_code == 200
    again = subprocess.run(
        [sys.executable, "-m", "labelaudit", "keys", "create", "--name", "dave", "--role", "admin"],
        env=environment,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert again.returncode == 2 and "exists" in again.stderr


def test_admin_key_from_the_environment_is_ensured(settings, database):
    from fastapi.testclient import TestClient
    from pydantic import SecretStr

    from service.app import create_app

    configured = settings.model_copy(update={"admin_key": SecretStr("la_from-compose-secret")})
    with TestClient(create_app(configured)) as client:
        headers = {"Authorization": "Bearer la_from-compose-secret"}
        assert client.get("/keys", headers=headers).status_code == 200
