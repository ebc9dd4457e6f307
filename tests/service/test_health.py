"""Health, readiness and metrics need no key."""

from fastapi.testclient import TestClient


def test_healthz_and_readyz(client):
    assert client.get("/healthz").json() == {"status": "ok"}
    ready = client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "broker": True}


def test_readyz_says_what_is_down(settings, database):
    from service.app import create_app

    broken = settings.model_copy(update={"celery_broker_url": "redis://127.0.0.1:1/0"})
    with TestClient(create_app(broken)) as client:
        response = client.get("/readyz")
    assert response.status_code == 503
    error = response.json()["error"]
    assert error["code"] == "not_ready" and "broker" in error["message"]
    assert error["details"] == {"database": True, "broker": False}


def test_upload_with_the_broker_down_is_503_and_leaves_nothing(settings, database, make_key):
    from service.app import create_app

    broken = settings.model_copy(update={"celery_broker_url": "redis://127.0.0.1:1/0"})
    headers = {"Authorization": f"Bearer {make_key('admin', 'admin')}"}
    with TestClient(create_app(broken)) as client:
        response = client.post(
            "/audits", headers=headers, files={"file": ("d.csv", b"f,label\n1,x\n2,x\n3,y\n4,y\n")}
        )
        assert response.status_code == 503
        assert response.json()["error"]["code"] == "broker_unavailable"
        assert client.get("/audits", headers=headers).json()["items"] == []
    assert list((settings.data_dir / "audits").iterdir()) == []


def test_metrics_are_prometheus_text(client, admin):
    client.get("/audits", headers=admin)
    text = client.get("/metrics").text
    assert 'labelaudit_audits{status="queued"} 0.0' in text
    assert "labelaudit_audit_duration_seconds_count" in text
    assert "labelaudit_samples_audited_total" in text
    assert 'labelaudit_http_request_duration_seconds_count{method="GET",route="/audits"' in text


def test_unknown_route_and_method_use_the_error_shape(client, admin):
    missing = client.get("/nowhere", headers=admin)
    assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"
    wrong = client.put("/audits", headers=admin)
    assert wrong.status_code == 405 and set(wrong.json()["error"]) == {"code", "message", "details"}
