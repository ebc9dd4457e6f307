"""The evidence for a flag on the sample resource: the given-label history, the window,
the threshold, the top classes; and the reference examples per class. On PostgreSQL, with
a separate `labelaudit worker` process running the audits."""

import json

import numpy as np
import pytest

from formats.evidence import history_blobs, top_class_blobs
from tests.conftest import BOTH_DATABASES
from tests.seeding import DEFAULT_SUMMARY, write_audit

from .learned_flip_audit import store_learned_flip_audit

FAST = {"epochs": 8, "window": 3}


@pytest.mark.slow
def test_a_worker_keeps_the_evidence_of_every_sample(
    client, admin, reviewer, make_blobs, audit_finished, worker_process
):
    table, _ = make_blobs(40, noise=0.1)
    created = client.post(
        "/audits",
        headers=admin,
        files={"file": ("parts.csv", table.to_csv(index=False).encode())},
        data={"config": json.dumps(FAST)},
    ).json()
    audit = audit_finished(client, reviewer, created["id"])
    assert audit["status"] == "succeeded", audit
    assert audit["summary"]["window"] == 3
    thresholds = audit["summary"]["thresholds"]

    page = client.get(
        f"/audits/{created['id']}/samples", headers=reviewer, params={"flagged": "true"}
    ).json()
    assert page["items"], "the noisy blobs have suspects"
    for item in page["items"]:
        assert len(item["history"]) == 8
        assert item["window"] == [6, 7, 8]
        assert item["threshold"] == thresholds[item["given_label"]]
        window = [item["history"][epoch - 1] for epoch in item["window"]]
        # Flagged: below k in every epoch of the window (to the history's 1/255).
        assert max(window) < item["threshold"] + 1 / 255
        assert item["confidence"] == pytest.approx(np.mean(window), abs=1 / 255)
        assert 1 / 3 <= item["suggested_probability"] <= 1
        # Pages leave the top classes to the sample resource.
        assert item["top_classes"] is None

    for item in page["items"]:
        sample = client.get(
            f"/audits/{created['id']}/samples/{item['sample_id']}", headers=reviewer
        ).json()
        kept = ("history", "window", "threshold", "suggested_probability")
        assert {key: sample[key] for key in kept} == {key: item[key] for key in kept}
        top = sample["top_classes"]
        assert len(top) == 3 and top[0]["probability"] >= top[1]["probability"]
        assert top[0] == {
            "label": item["suggested_label"],
            "probability": item["suggested_probability"],
        }

    examples = client.get(f"/audits/{created['id']}/examples", headers=reviewer).json()
    assert set(examples["examples"]) == {"bolt", "nut", "washer"}
    flagged_ids = {
        item["sample_id"]
        for item in client.get(
            f"/audits/{created['id']}/samples",
            headers=reviewer,
            params={"flagged": "true", "limit": 500},
        ).json()["items"]
    }
    for label, chosen in examples["examples"].items():
        assert 3 <= len(chosen) <= 5
        assert all(example["image_url"] is None for example in chosen), "a table has no images"
        ids = [example["sample_id"] for example in chosen]
        assert not set(ids) & flagged_ids
        given = [
            client.get(f"/audits/{created['id']}/samples/{sample_id}", headers=reviewer).json()
            for sample_id in ids
        ]
        assert {sample["given_label"] for sample in given} == {label}
        confidences = [sample["confidence"] for sample in given]
        assert confidences == sorted(confidences, reverse=True)


def test_the_sample_resource_unpacks_the_stored_evidence(client, reviewer, database):
    history = np.array([[0.1], [0.2], [0.3], [0.25], [0.2]])
    samples = [
        {
            "flagged": True,
            "history": history_blobs(history)[0],
            "top_classes": top_class_blobs(np.array([[1, 0]]), np.array([[0.9, 0.1]]))[0],
        },
        {"flagged": False},
    ]
    summary = {**DEFAULT_SUMMARY, "samples": 2, "thresholds": {"bolt": 0.31}, "window": 2}
    audit_id = write_audit(database, samples, summary=summary)

    sample = client.get(f"/audits/{audit_id}/samples/s0", headers=reviewer).json()
    assert sample["history"] == [0.1020, 0.2, 0.2980, 0.2510, 0.2]
    assert sample["window"] == [4, 5]
    assert sample["threshold"] == 0.31
    assert sample["suggested_probability"] == 0.9020
    assert sample["top_classes"] == [
        {"label": "nut", "probability": 0.9020},
        {"label": "bolt", "probability": 0.1020},
    ]
    # Written by the server from the stored values (an audit from before the deciding view
    # was kept reads as "the model").
    assert sample["deciding_view"] is None
    assert sample["flag_reason"] == (
        "Confidence in “bolt” never above k = 0.31 in the last 2 epochs (at most 25%); "
        "the model says “nut” at 90%."
    )
    # An audit from before the evidence was kept: the fields are null, the rest as it was.
    older = client.get(f"/audits/{audit_id}/samples/s1", headers=reviewer).json()
    assert older["history"] is None and older["window"] is None
    assert older["flag_reason"] is None
    assert older["top_classes"] is None and older["suggested_probability"] is None
    assert older["threshold"] == 0.31
    assert client.get(f"/audits/{audit_id}/examples", headers=reviewer).json() == {"examples": {}}


@BOTH_DATABASES
def test_a_learned_flip_never_reads_as_the_model_agreeing_with_its_label(
    client, reviewer, database, settings
):
    # Averaged, the in-sample model's 0.99 and the held-out models' 0.04 read 0.515 for
    # "T-shirt", the suggestion would be the given label: the held-out view flagged them.
    audit_id = store_learned_flip_audit(database, settings.data_dir)
    page = client.get(
        f"/audits/{audit_id}/samples", headers=reviewer, params={"flagged": "true"}
    ).json()["items"]
    assert sorted(item["sample_id"] for item in page) == ["s6", "s7", "s8", "s9"]
    for item in page:
        sample = client.get(f"/audits/{audit_id}/samples/{item['sample_id']}", headers=reviewer)
        for shown in (item, sample.json()):
            assert shown["deciding_view"] == "held-out"
            assert shown["suggested_label"] == "Shirt"
            assert shown["confidence"] == pytest.approx(0.04)
            assert max(shown["history"][epoch - 1] for epoch in shown["window"]) < 0.5
            assert "agree" not in shown["flag_reason"]
            assert shown["flag_reason"] == (
                "Confidence in “T-shirt” never above k = 0.50 in the last 2 epochs "
                "(at most 4%); the models that never saw it say “Shirt” at 96%."
            )
        assert sample.json()["top_classes"][0] == {"label": "Shirt", "probability": 0.9608}

    # The rest of the learned class is read the same way; the other class at the average.
    kept = client.get(f"/audits/{audit_id}/samples/s0", headers=reviewer).json()
    assert kept["deciding_view"] == "held-out"
    assert kept["flag_reason"] == (
        "Confidence in “T-shirt” reached 90% in the last 2 epochs, above k = 0.50; "
        "the models that never saw it agree with “T-shirt” at 90%."
    )
    other = client.get(f"/audits/{audit_id}/samples/s10", headers=reviewer).json()
    assert other["deciding_view"] == "average"
    assert other["flag_reason"].endswith("the model agrees with “Shirt” at 95%.")
