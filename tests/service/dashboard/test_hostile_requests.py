"""Forged requests from a signed-in browser: every operation that changes data, sent with the
sign-in cookie but without the CSRF token, with a wrong one, or from another origin, is
refused (403, its code) and changes nothing: no row, no review, no file in `incoming/` or
`audits/`, and the signed-in session goes on working."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from .test_sign_in import sign_in

CSV = b"id,f1,label\na,1,x\nb,2,x\nc,3,y\nd,4,y\n"
# (method, path, request options); {id} is a finished audit's id.
OPERATIONS = {
    "upload": ("POST", "/audits", {"files": {"file": ("data.csv", CSV)}}),
    "review": (
        "POST",
        "/audits/{id}/reviews",
        {"json": {"items": [{"sample_id": "s0", "action": "exclude", "version": 0}]}},
    ),
    "reaudit": ("POST", "/audits/{id}/reaudit", {"json": {}}),
    "cancel": ("POST", "/audits/{id}/cancel", {}),
    "delete-audit": ("DELETE", "/audits/{id}", {}),
    "create-key": ("POST", "/keys", {"json": {"name": "intruder", "role": "admin"}}),
    "revoke-key": ("DELETE", "/keys/admin-alice", {}),
}
FORGERIES = {
    "no-token": ({}, "csrf_failed"),
    "wrong-token": ({"X-CSRF-Token": "guessed"}, "csrf_failed"),
    "other-site": ({"X-CSRF-Token": "<token>", "Origin": "https://evil.example"}, "cross_origin"),
    "opaque-origin": ({"X-CSRF-Token": "<token>", "Origin": "null"}, "cross_origin"),
}


def state(client: Any, settings: Any) -> dict[str, Any]:
    """Everything a forged request could change."""
    from service.audits.models import Audit, Sample
    from service.auth.models import ApiKey
    from service.reviews.models import ReviewEvent

    with client.app.state.database.session_scope() as session:
        counted = {
            model.__name__: session.scalar(select(func.count()).select_from(model))
            for model in (Audit, ApiKey, ReviewEvent)
        }
        counted["audit statuses"] = sorted(session.scalars(select(Audit.status)).all())
        counted["sample versions"] = session.scalar(select(func.sum(Sample.version)))
        counted["decided"] = session.scalar(
            select(func.count()).select_from(Sample).where(Sample.review_action.is_not(None))
        )
    data_dir = Path(settings.data_dir)
    for folder in ("incoming", "audits"):
        counted[folder] = (
            sorted(str(path.relative_to(data_dir)) for path in (data_dir / folder).rglob("*"))
            if (data_dir / folder).exists()
            else []
        )
    return counted


@pytest.mark.parametrize("forgery", list(FORGERIES))
@pytest.mark.parametrize("operation", list(OPERATIONS))
def test_a_forged_cookie_request_changes_nothing(
    client, admin, settings, finished_audit, operation, forgery
):
    sign_in(client, admin)
    before = state(client, settings)
    assert before["incoming"] == [] and before["audits"] == []
    method, path, options = OPERATIONS[operation]
    headers, code = FORGERIES[forgery]
    token = client.cookies["labelaudit_csrf"]
    headers = {name: token if value == "<token>" else value for name, value in headers.items()}
    response = client.request(
        method,
        path.format(id=finished_audit),
        headers={"Accept": "application/json", **headers},
        **options,
    )
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert set(error) == {"code", "message", "details"} and error["code"] == code
    assert state(client, settings) == before
    assert client.get("/audits").status_code == 200, "the session itself still works"


def test_a_forged_sign_out_keeps_the_session(client, admin):
    sign_in(client, admin)
    for data, headers in (({}, {}), ({"csrf_token": "guessed"}, {})):
        response = client.post("/sign-out", data=data, headers=headers, follow_redirects=False)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "csrf_failed"
        assert "set-cookie" not in response.headers
    token = client.cookies["labelaudit_csrf"]
    foreign = client.post(
        "/sign-out",
        data={"csrf_token": token},
        headers={"Origin": "https://evil.example"},
        follow_redirects=False,
    )
    assert foreign.status_code == 403 and foreign.json()["error"]["code"] == "cross_origin"
    assert client.get("/audits").status_code == 200


def test_a_batch_of_bad_items_answers_a_small_error(client, reviewer, finished_audit):
    """999 items with neither sample id nor action: 1,998 problems, 20 of them listed."""
    response = client.post(
        f"/audits/{finished_audit}/reviews", json={"items": [{}] * 999}, headers=reviewer
    )
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "invalid_request" and len(error["details"]) == 20
    assert error["details"][0] == {
        "location": "body.items.0.sample_id",
        "message": "Field required",
    }
    assert error["message"].endswith("; and 1,978 more problems")
    assert len(response.content) < 8 * 1024
