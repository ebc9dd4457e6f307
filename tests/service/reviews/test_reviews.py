"""Review batches: all or nothing, checked against the audit's samples and classes."""

import uuid

import pytest

from tests.seeding import write_audit


@pytest.fixture
def audit_id(database):
    """A succeeded audit with three samples, the first one flagged."""
    samples = [{"flagged": row == 0} for row in range(3)]
    return str(write_audit(database, samples, name="a", upload_filename="a.csv"))


def review(client, headers, audit_id, *items):
    return client.post(f"/audits/{audit_id}/reviews", headers=headers, json={"items": list(items)})


@pytest.mark.parametrize(
    ("items", "status", "code"),
    [
        ([{"sample_id": "s0", "action": "relabel"}], 422, "invalid_request"),
        ([{"sample_id": "s0", "action": "keep", "label": "nut"}], 422, "invalid_request"),
        ([{"sample_id": "s0", "action": "delete"}], 422, "invalid_request"),
        ([{"sample_id": "s0", "action": "relabel", "label": "screw"}], 422, "unknown_label"),
        (
            [{"sample_id": "s0", "action": "keep"}, {"sample_id": "s0", "action": "accept"}],
            422,
            "duplicate_sample",
        ),
        (
            [{"sample_id": "s1", "action": "keep"}, {"sample_id": "nope", "action": "keep"}],
            404,
            "sample_not_found",
        ),
        (
            [
                {"sample_id": "s1", "action": "keep"},
                {"sample_id": "s2", "action": "keep", "version": 4},
            ],
            409,
            "review_conflict",
        ),
    ],
)
def test_a_bad_batch_applies_nothing(client, reviewer, audit_id, items, status, code):
    response = review(client, reviewer, audit_id, *items)
    assert response.status_code == status, response.text
    assert response.json()["error"]["code"] == code
    sample = client.get(f"/audits/{audit_id}/samples/s1", headers=reviewer).json()
    assert sample["review"] == {
        "action": None,
        "final_label": None,
        "reviewed_by": None,
        "reviewed_at": None,
        "version": 0,
    }
    assert client.get(f"/audits/{audit_id}/reviews", headers=reviewer).json()["items"] == []


def test_the_log_keeps_every_decision_and_the_sample_shows_the_latest(
    client, reviewer, admin, audit_id
):
    assert review(client, reviewer, audit_id, {"sample_id": "s0", "action": "accept"}).is_success
    assert review(
        client,
        admin,
        audit_id,
        {"sample_id": "s0", "action": "relabel", "label": "bolt", "version": 1},
    ).is_success
    sample = client.get(f"/audits/{audit_id}/samples/s0", headers=reviewer).json()["review"]
    assert sample["action"] == "relabel" and sample["version"] == 2
    assert sample["reviewed_by"] == "admin-alice"
    log = client.get(f"/audits/{audit_id}/reviews?sample_id=s0&limit=1", headers=reviewer).json()
    assert log["items"][0]["actor"] == "reviewer-bob" and log["next_cursor"]
    rest = client.get(
        f"/audits/{audit_id}/reviews?sample_id=s0&cursor={log['next_cursor']}", headers=reviewer
    ).json()
    assert rest["items"][0]["before"] == {"action": "accept", "final_label": "nut", "version": 1}
    assert rest["items"][0]["after"] == {"action": "relabel", "final_label": "bolt", "version": 2}


def test_reviews_need_a_succeeded_audit(client, reviewer, audit_id, database):
    from service.audits.models import Audit

    with database.session_scope() as session:
        session.get(Audit, uuid.UUID(audit_id)).status = "running"
    response = review(client, reviewer, audit_id, {"sample_id": "s0", "action": "keep"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "audit_not_succeeded"
    missing = review(client, reviewer, str(uuid.uuid4()), {"sample_id": "s0", "action": "keep"})
    assert missing.status_code == 404


def test_clear_makes_a_decided_sample_pending_again(client, reviewer, audit_id):
    relabel = {"sample_id": "s0", "action": "relabel", "label": "bolt"}
    assert review(client, reviewer, audit_id, relabel).is_success
    clear = {"sample_id": "s0", "action": "clear", "version": 1}
    response = review(client, reviewer, audit_id, clear)
    assert response.status_code == 200, response.text
    assert response.json()["items"][0]["review"] == {
        "action": None,
        "final_label": None,
        "reviewed_by": None,
        "reviewed_at": None,
        "version": 2,
    }
    pending = client.get(f"/audits/{audit_id}/samples?review=pending", headers=reviewer).json()
    assert "s0" in [sample["sample_id"] for sample in pending["items"]]
    last = client.get(f"/audits/{audit_id}/reviews", headers=reviewer).json()["items"][-1]
    assert last["action"] == "clear" and last["actor"] == "reviewer-bob"
    assert last["before"]["action"] == "relabel" and last["after"]["action"] is None

    assert review(client, reviewer, audit_id, clear).status_code == 409, "version 1 is stale"
    labelled = review(client, reviewer, audit_id, {**clear, "version": 2, "label": "nut"})
    assert labelled.status_code == 422
