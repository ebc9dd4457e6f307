"""An attempt's writes go through the contract and read back through it, on both databases:
a re-audit stored by an older version (corrections without a round or reviews) runs and is
summarised as round 2, a later round carries its decisions onto the samples and its plan
into the summary, and audits whose summary and progress an older worker wrote still read."""

from __future__ import annotations

import uuid
from typing import Any

from formats.contract import AuditOutcome, ConfusionCell
from formats.options import AuditConfig
from formats.plan import Plan
from tests.conftest import BOTH_DATABASES
from tests.seeding import write_audit

PARENT_SAMPLES = [{"flagged": True}, {"flagged": False}, {"flagged": False}, {"flagged": True}]


# What the re-audits here ran with, unless a test says otherwise.
FOUR_EPOCHS = AuditConfig(epochs=4, window=2).plan(4, is_image=False)


def reaudit_outcome(flagged: dict[str, bool], plan: Plan) -> AuditOutcome:
    ids = list(flagged)
    return AuditOutcome(
        sample_ids=ids,
        given=["bolt"] * len(ids),
        suggested=["nut"] * len(ids),
        confidence=[0.2] * len(ids),
        score=[0.8] * len(ids),
        flagged=list(flagged.values()),
        image_paths=None,
        estimated_errors={"bolt": 2, "nut": 0},
        thresholds={"bolt": 0.3, "nut": 0.3},
        confusion=[ConfusionCell(given="bolt", suggested="nut", count=2)],
        seconds=3.21,
        device="cpu",
        plan=plan,
    )


def run_reaudit(
    database: Any, settings: Any, corrections: dict[str, Any], plan: Plan = FOUR_EPOCHS
) -> uuid.UUID:
    """A re-audit of a four-sample parent (s0 and s3 flagged) with ``corrections`` stored as
    given, claimed and finished as a worker does: s3 excluded, s0 and s2 flagged now."""
    from service.audits import worker_attempts
    from service.storage import Storage

    parent_id = write_audit(database, PARENT_SAMPLES)
    audit_id = write_audit(
        database,
        [],
        status="queued",
        summary=None,
        parent_id=parent_id,
        corrections=corrections,
        config={"label_column": "label", "id_column": "id"},
    )
    with database.session_scope() as session:
        claim = worker_attempts.claim_audit(
            session, Storage(settings.data_dir), audit_id, worker_host="test", lease_s=60
        )
    job = claim.job
    assert job is not None
    assert job.relabel == corrections["relabel"] and job.exclude == set(corrections["exclude"])
    with database.session_scope() as session:
        outcome = reaudit_outcome({"s0": True, "s1": False, "s2": True}, plan)
        assert worker_attempts.store_results(session, job, outcome)
    return audit_id


@BOTH_DATABASES
def test_a_reaudit_stored_by_an_older_version_runs_as_round_2(client, reviewer, database, settings):
    # As re-audits stored their corrections before they carried every round.
    audit_id = run_reaudit(database, settings, {"relabel": {"s1": "nut"}, "exclude": ["s3"]})

    audit = client.get(f"/audits/{audit_id}", headers=reviewer).json()
    assert audit["status"] == "succeeded"
    assert audit["corrections"] == {"relabeled": 1, "excluded": 1}
    assert audit["summary"]["rounds"] == {
        "round": 2,
        "resolved": 0,
        "still_flagged": 1,
        "disputed": 0,
        "new_suspects": 1,
    }
    assert audit["summary"]["samples"] == 3 and audit["summary"]["flagged"] == 2
    assert audit["summary"]["epochs"] == 4 and audit["summary"]["window"] == 2
    assert audit["progress"] == {
        "stage": "done",
        "epoch": 4,
        "epochs": 4,
        "fraction": 1.0,
        "eta_seconds": 0.0,
        "resumed_at": None,
    }


@BOTH_DATABASES
def test_a_later_round_carries_its_decisions_and_plan(client, reviewer, database, settings):
    from service.audits.models import Audit

    decision = {"action": "keep", "label": "bolt", "reviewed_by": "bob", "round": 2}
    corrections = {"relabel": {}, "exclude": ["s3"], "reviews": {"s0": decision}, "round": 3}
    plan = AuditConfig(epochs=4, window=2).plan(3, is_image=False)
    audit_id = run_reaudit(database, settings, corrections, plan)

    audit = client.get(f"/audits/{audit_id}", headers=reviewer).json()
    assert audit["summary"]["rounds"]["round"] == 3
    assert audit["summary"]["rounds"]["disputed"] == 1
    samples = client.get(f"/audits/{audit_id}/samples", headers=reviewer, params={"order": "row"})
    prior = {item["sample_id"]: item["prior_review"] for item in samples.json()["items"]}
    assert prior == {"s0": decision, "s1": None, "s2": None}
    # The plan reads back from the stored JSON as the worker handed it over.
    with database.session_scope() as session:
        assert session.get(Audit, audit_id).stored_summary().plan == plan


@BOTH_DATABASES
def test_what_an_older_worker_wrote_still_reads(client, reviewer, database):
    # The first version's summary (no thresholds, window, feature names, examples...) and
    # a progress report from before the estimate and the resumed epoch were kept.
    summary = {
        "samples": 1,
        "flagged": 1,
        "estimated_errors": {"bolt": 1},
        "confusion": [{"given": "bolt", "suggested": "nut", "count": 1}],
        "seconds": 2.5,
        "device": "cpu",
    }
    progress = {"stage": "done", "epoch": 0, "epochs": 0, "fraction": 1.0}
    audit_id = write_audit(
        database, [{"flagged": True, "features": [1.5]}], summary=summary, progress=progress
    )

    audit = client.get(f"/audits/{audit_id}", headers=reviewer).json()
    assert audit["summary"]["thresholds"] == {} and audit["summary"]["window"] is None
    assert audit["summary"]["confusion"] == summary["confusion"]
    assert audit["progress"]["eta_seconds"] is None and audit["corrections"] is None
    sample = client.get(f"/audits/{audit_id}/samples/s0", headers=reviewer).json()
    assert sample["threshold"] is None and sample["window"] is None
    assert sample["features"] == {}
    assert client.get(f"/audits/{audit_id}/examples", headers=reviewer).json() == {"examples": {}}
