"""Re-audits: the decisions of every round carried over and marked on the samples, the round
summary, idempotent requests (with and without an Idempotency-Key, also at once on SQLite,
which ignores FOR UPDATE), and options that read the upload another way checked first."""

import json
import threading
import uuid

import pytest

from service.storage import Storage
from tests.conftest import BOTH_DATABASES


def review(client, headers, audit_id, *items):
    response = client.post(f"/audits/{audit_id}/reviews", headers=headers, json={"items": items})
    assert response.status_code == 200, response.text


def reaudit(client, headers, audit_id, **request):
    return client.post(f"/audits/{audit_id}/reaudit", headers=headers, json={}, **request)


def every_sample(client, headers, audit_id):
    items, cursor = [], None
    while True:
        params = {"order": "row", "limit": 500, **({"cursor": cursor} if cursor else {})}
        page = client.get(f"/audits/{audit_id}/samples", headers=headers, params=params).json()
        items += page["items"]
        if (cursor := page["next_cursor"]) is None:
            return {item["sample_id"]: item for item in items}


@pytest.mark.slow
@pytest.mark.usefixtures("worker_process")
def test_a_reaudit_marks_earlier_decisions_and_compares_rounds(
    client, admin, reviewer, seed_audit, audit_finished
):
    parent_id = str(seed_audit(12))
    review(
        client,
        reviewer,
        parent_id,
        {"sample_id": "s0", "action": "accept"},
        {"sample_id": "s1", "action": "keep"},
        {"sample_id": "s2", "action": "relabel", "label": "nut"},
        {"sample_id": "s4", "action": "exclude"},
    )
    response = reaudit(client, admin, parent_id)
    assert response.status_code == 202, response.text
    child = audit_finished(client, reviewer, response.json()["id"])
    assert child["status"] == "succeeded", child
    assert child["corrections"] == {"relabeled": 2, "excluded": 1}

    before = every_sample(client, reviewer, parent_id)
    after = every_sample(client, reviewer, child["id"])
    assert "s4" not in after
    marked = {sample_id: s["prior_review"] for sample_id, s in after.items() if s["prior_review"]}
    assert marked == {
        "s0": {"action": "accept", "label": "nut", "reviewed_by": "reviewer-bob", "round": 1},
        "s1": {"action": "keep", "label": "nut", "reviewed_by": "reviewer-bob", "round": 1},
        "s2": {"action": "relabel", "label": "nut", "reviewed_by": "reviewer-bob", "round": 1},
    }
    assert after["s0"]["given_label"] == "nut" and after["s2"]["given_label"] == "nut"

    was_flagged = {sample_id for sample_id, s in before.items() if s["flagged"]}
    flagged = {sample_id for sample_id, s in after.items() if s["flagged"]}
    assert child["summary"]["rounds"] == {
        "round": 2,
        "resolved": len(was_flagged - flagged - {"s4"}),
        "still_flagged": len(was_flagged & flagged),
        "disputed": len(flagged & set(marked)),
        "new_suspects": len(flagged - was_flagged),
    }
    disputed = client.get(
        f"/audits/{child['id']}/samples",
        headers=reviewer,
        params={"flagged": "true", "prior_review": "true"},
    ).json()["items"]
    assert {item["sample_id"] for item in disputed} == flagged & set(marked)


def test_the_same_request_returns_the_same_reaudit(client, admin, reviewer, seed_audit):
    parent_id = str(seed_audit(12))
    review(client, reviewer, parent_id, {"sample_id": "s0", "action": "accept"})
    first = reaudit(client, admin, parent_id)
    assert first.status_code == 202, first.text
    again = reaudit(client, admin, parent_id)
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    assert again.headers["Location"] == f"/audits/{first.json()['id']}"

    # Another decision is another request; so are other options.
    review(client, reviewer, parent_id, {"sample_id": "s2", "action": "exclude"})
    changed = reaudit(client, admin, parent_id)
    assert changed.status_code == 202 and changed.json()["id"] != first.json()["id"]
    other_options = client.post(
        f"/audits/{parent_id}/reaudit", headers=admin, json={"config": {"k": 0.4}}
    )
    assert other_options.status_code == 202
    assert other_options.json()["id"] not in (first.json()["id"], changed.json()["id"])

    # A cancelled re-audit is not handed out again.
    assert client.post(f"/audits/{changed.json()['id']}/cancel", headers=admin).status_code == 200
    retried = reaudit(client, admin, parent_id)
    assert retried.status_code == 202 and retried.json()["id"] != changed.json()["id"]


def test_an_idempotency_key_returns_the_reaudit_it_made(client, admin, reviewer, seed_audit):
    parent_id = str(seed_audit(12))
    key = {"Idempotency-Key": str(uuid.uuid4())}
    first = reaudit(client, {**admin, **key}, parent_id)
    assert first.status_code == 202, first.text
    # Retried after a decision came in: the key still names the first re-audit.
    review(client, reviewer, parent_id, {"sample_id": "s0", "action": "keep"})
    again = reaudit(client, {**admin, **key}, parent_id)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    fresh = reaudit(client, {**admin, "Idempotency-Key": "another"}, parent_id)
    assert fresh.status_code == 202 and fresh.json()["id"] != first.json()["id"]

    too_long = reaudit(client, {**admin, "Idempotency-Key": "k" * 201}, parent_id)
    assert too_long.status_code == 422
    assert "idempotency-key" in too_long.json()["error"]["message"].lower()
    assert reaudit(client, reviewer, parent_id).status_code == 403, "re-audits are for admins"


def test_a_third_round_carries_both_earlier_rounds(client, admin, reviewer, seed_audit, database):
    from service.audits.models import Audit

    second_id = seed_audit(12)
    earlier = {
        "relabel": {"s3": "bolt"},
        "exclude": ["s11"],
        "reviews": {
            "s3": {"action": "relabel", "label": "bolt", "reviewed_by": "ana", "round": 1},
            "s5": {"action": "keep", "label": "nut", "reviewed_by": "ana", "round": 1},
        },
        "round": 2,
    }
    with database.session_scope() as session:
        session.get(Audit, second_id).corrections = earlier
    review(
        client,
        reviewer,
        str(second_id),
        {"sample_id": "s5", "action": "relabel", "label": "bolt"},
        {"sample_id": "s6", "action": "exclude"},
    )
    response = reaudit(client, admin, str(second_id))
    assert response.status_code == 202, response.text
    assert response.json()["corrections"] == {"relabeled": 2, "excluded": 2}
    with database.session_scope() as session:
        third = session.get(Audit, uuid.UUID(response.json()["id"]))
        assert third.corrections == {
            "relabel": {"s3": "bolt", "s5": "bolt"},
            "exclude": ["s11", "s6"],
            "reviews": {
                **earlier["reviews"],
                "s5": {
                    "action": "relabel",
                    "label": "bolt",
                    "reviewed_by": "reviewer-bob",
                    "round": 2,
                },
                "s6": {
                    "action": "exclude",
                    "label": None,
                    "reviewed_by": "reviewer-bob",
                    "round": 2,
                },
            },
            "round": 3,
        }


def reaudits_at_once(database, settings, parent_id, requests: int, idempotency_key):
    """``requests`` identical re-audit requests, each in a thread and a unit of work of its
    own; returns each one's (re-audit id, whether it was made by that request)."""
    from service.audits import reaudits
    from service.audits.schemas import ReauditCreate
    from service.auth.schemas import Principal
    from service.queue import AuditQueue

    storage, queue = Storage(settings.data_dir), AuditQueue.from_settings(settings)
    admin = Principal(name="admin-alice", role="admin")
    answers: list = []

    def ask() -> None:
        with database.session_scope() as session:
            audit, created = reaudits.reaudit(
                session,
                storage,
                queue,
                parent_id,
                ReauditCreate(),
                admin,
                limits=settings.limits,
                idempotency_key=idempotency_key,
            )
            answers.append((audit.id, created))

    threads = [threading.Thread(target=ask) for _ in range(requests)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return answers


@pytest.mark.slow
@BOTH_DATABASES
@pytest.mark.parametrize("idempotency_key", [None, "retried-key"])
def test_identical_reaudits_at_once_make_one(
    database, settings, seed_audit, meet_after, idempotency_key
):
    from sqlalchemy import func, select

    from service.audits import reaudits_repository
    from service.audits.models import Audit

    parent_id = seed_audit(12)
    # All ten have looked for a re-audit made before, and found none, before any writes.
    meet_after(reaudits_repository, "reaudit_of", 10)
    answers = reaudits_at_once(database, settings, parent_id, 10, idempotency_key)

    assert len(answers) == 10
    assert sorted(created for _, created in answers) == [False] * 9 + [True]
    assert len({audit_id for audit_id, _ in answers}) == 1
    with database.session_scope() as session:
        children = session.scalar(select(func.count()).where(Audit.parent_id == parent_id))
    assert children == 1
    # Only the one made has files: the parent's upload, shared. Counted by the upload files:
    # on PostgreSQL the data folder is the session's, where the session's worker may still
    # checkpoint an audit an earlier test left running.
    (made,) = {audit_id for audit_id, _ in answers}
    holding_uploads = {
        path.parent.name for path in (settings.data_dir / "audits").glob("*/upload.*")
    }
    assert holding_uploads == {str(parent_id), str(made)}


def write_coded_parent(database, settings) -> str:
    """A succeeded audit of a table with two numeric columns that can be the label: `label`
    (classes 7, 9, the one audited) and `code` (classes 1, 2)."""
    from tests.seeding import write_audit

    rows = [(f"s{row}", row, 1 + row % 2, 7 + 2 * (row % 2)) for row in range(8)]
    parent_id = write_audit(
        database,
        [{"sample_id": sample_id, "given_label": str(label)} for sample_id, _, _, label in rows],
        config={"label_column": "label", "id_column": "id"},
        class_names=["7", "9"],
    )
    upload = Storage(settings.data_dir).upload_path(parent_id, "csv")
    upload.parent.mkdir(parents=True)
    upload.write_text("id,f1,code,label\n" + "".join(f"{','.join(map(str, r))}\n" for r in rows))
    return str(parent_id)


@BOTH_DATABASES
def test_a_reaudit_reading_other_columns_is_checked_like_an_upload(
    client, admin, reviewer, database, settings
):
    from sqlalchemy import func, select

    from service.audits.models import Audit

    parent_id = write_coded_parent(database, settings)
    upload = Storage(settings.data_dir).upload_path(uuid.UUID(parent_id), "csv").read_bytes()
    for config, code in (
        ({"label_column": "grade"}, "missing_label_column"),
        ({"id_column": "f1"}, None),
    ):
        answer = client.post(f"/audits/{parent_id}/reaudit", headers=admin, json={"config": config})
        # The same answer as uploading the file with those options.
        uploaded = client.post(
            "/audits",
            headers=admin,
            files={"file": ("parts.csv", upload)},
            data={"config": json.dumps(config)},
        )
        assert answer.status_code == uploaded.status_code == 422, (answer.text, uploaded.text)
        assert answer.json()["error"]["code"] == uploaded.json()["error"]["code"]
        if code is not None:
            assert answer.json()["error"]["code"] == code

    # Readable with `code` as the label: queued with that column's classes.
    answer = client.post(
        f"/audits/{parent_id}/reaudit", headers=admin, json={"config": {"label_column": "code"}}
    )
    assert answer.status_code == 202, answer.text
    assert sorted(answer.json()["dataset"]["class_names"]) == ["1", "2"]
    # A relabel to a class the `code` column lacks could not be applied: refused up front.
    review(client, reviewer, parent_id, {"sample_id": "s0", "action": "relabel", "label": "9"})
    refused = client.post(
        f"/audits/{parent_id}/reaudit", headers=admin, json={"config": {"label_column": "code"}}
    )
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == "unknown_class"
    assert refused.json()["error"]["details"]["labels"] == ["9"]
    with database.session_scope() as session:
        parent = uuid.UUID(parent_id)
        children = session.scalar(select(func.count()).where(Audit.parent_id == parent))
    assert children == 1, "a refused re-audit leaves no audit behind"


def test_without_row_locks_postgresql_still_makes_one_reaudit(
    database, settings, seed_audit, meet_after, monkeypatch
):
    """The parent's row lock only makes twins wait; the unique indexes keep them out."""
    from sqlalchemy.sql.selectable import Select

    from service.audits import reaudits_repository

    monkeypatch.setattr(Select, "with_for_update", lambda self, **_: self)
    parent_id = seed_audit(12)
    meet_after(reaudits_repository, "reaudit_of", 5)
    answers = reaudits_at_once(database, settings, parent_id, 5, None)
    assert sorted(created for _, created in answers) == [False] * 4 + [True]
    assert len({audit_id for audit_id, _ in answers}) == 1


def test_a_reaudit_over_the_training_memory_budget_is_refused(client_for, admin, seed_audit):
    # Its options can need more memory than the parent's (another mode, more epochs), and the
    # worker would only fail it after it waited in the queue.
    parent_id = str(seed_audit(12))
    api = client_for(max_training_memory_bytes=1000)
    refused = api.post(f"/audits/{parent_id}/reaudit", headers=admin, json={"config": {"k": 0.4}})
    assert refused.status_code == 422, refused.text
    error = refused.json()["error"]
    assert error["code"] == "dataset_too_large_to_train"
    assert "12 samples" in error["message"]
    assert "LABELAUDIT_MAX_TRAINING_MEMORY_BYTES" in error["message"]
    audits = api.get("/audits", headers=admin).json()["items"]
    assert [audit["id"] for audit in audits] == [parent_id]


def test_a_retry_with_its_key_gets_its_reaudit_without_the_checks_again(
    client_for, admin, seed_audit
):
    # The first request's checks passed; its retry (the client timed out) is answered from
    # the key at once, even where the checks would now refuse (a smaller budget here).
    parent_id = str(seed_audit(12))
    path = f"/audits/{parent_id}/reaudit"
    headers = {**admin, "Idempotency-Key": "retry-1"}
    first = client_for().post(path, headers=headers, json={})
    assert first.status_code == 202, first.text
    strict = client_for(max_training_memory_bytes=1000)
    again = strict.post(path, headers=headers, json={})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]
    other = strict.post(path, headers={**admin, "Idempotency-Key": "retry-2"}, json={})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "dataset_too_large_to_train"
