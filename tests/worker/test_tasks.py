"""The audit task is idempotent: re-deliveries, dead workers and cancellations."""

import uuid
from datetime import timedelta

import pytest
from sqlalchemy import select

from service.db import utcnow


@pytest.fixture
def tasks(service_environment, database, monkeypatch):
    """:mod:`worker.tasks` configured for the test database, as a worker process would be."""
    from service.config import get_settings

    for name, value in service_environment.items():
        monkeypatch.setenv(name, value)
    get_settings.cache_clear()
    import worker.tasks as tasks

    tasks.database.cache_clear()
    yield tasks
    tasks.database().dispose()
    tasks.database.cache_clear()
    get_settings.cache_clear()


@pytest.fixture
def new_audit(database, settings, make_blobs):
    """Store an upload and its audit row as the API would; returns the audit id."""
    from service.audits.models import Audit
    from service.storage import Storage

    def create(table=None, **columns):
        table = make_blobs(20)[0] if table is None else table
        audit_id = uuid.uuid4()
        path = Storage(settings.data_dir).upload_path(audit_id, "csv")
        path.parent.mkdir(parents=True, exist_ok=True)
        table.to_csv(path, index=False)
        config = {"label_column": "label", "id_column": "id", "epochs": 4, "window": 2}
        values = {
            "id": audit_id,
            "name": "test",
            "config": config,
            "upload_filename": "t.csv",
            "upload_kind": "csv",
            "upload_size": path.stat().st_size,
            "dataset_kind": "table",
            "class_names": sorted(set(table["label"])),
            "created_by": "test",
            **columns,
        }
        with database.session_scope() as session:
            session.add(Audit(**values))
        return audit_id

    return create


def load(database, audit_id):
    from service.audits.models import Audit, Sample

    with database.session_scope() as session:
        audit = session.get(Audit, audit_id)
        samples = session.scalars(select(Sample.sample_id).where(Sample.audit_id == audit_id))
        return audit, sorted(samples)


@pytest.mark.slow
def test_a_redelivered_task_for_a_finished_audit_does_nothing(tasks, database, new_audit):
    audit_id = new_audit()
    assert tasks.execute_audit(audit_id) == "succeeded"
    audit, samples = load(database, audit_id)
    assert audit.status == "succeeded" and audit.attempt == 1 and len(samples) == 60
    assert tasks.execute_audit(audit_id) == "finished"
    again, samples_again = load(database, audit_id)
    assert again.attempt == 1 and again.finished_at == audit.finished_at
    assert samples_again == samples


@pytest.mark.slow
def test_a_finished_audit_keeps_its_epoch_count(tasks, database, new_audit):
    audit_id = new_audit()
    assert tasks.execute_audit(audit_id) == "succeeded"
    audit, _ = load(database, audit_id)
    assert audit.summary["epochs"] == 4
    # The plan the engine ran with is stored whole, and reads back through the contract.
    assert audit.stored_summary().plan.epochs == 4 and audit.summary["plan"]["window"] == 2
    assert audit.progress["epoch"] == audit.progress["epochs"] == 4, audit.progress
    assert audit.progress["stage"] == "done" and audit.progress["fraction"] == 1.0


@pytest.mark.slow
def test_a_finished_audits_summary_names_the_threads_that_trained(tasks, database, new_audit):
    import torch

    audit_id = new_audit()
    assert tasks.execute_audit(audit_id) == "succeeded"
    audit, _ = load(database, audit_id)
    assert audit.summary["threads"] == torch.get_num_threads()
    assert audit.summary["device"].startswith("cpu (")


@pytest.mark.slow
def test_a_running_audit_whose_lease_expired_is_taken_over_and_its_partial_results_replaced(
    tasks, database, new_audit
):
    from service.audits.models import Sample

    audit_id = new_audit(
        status="running", attempt=1, lease_expires_at=utcnow() - timedelta(seconds=1)
    )
    with database.session_scope() as session:
        for row in range(3):
            session.add(
                Sample(
                    audit_id=audit_id,
                    row_index=row,
                    sample_id=f"partial-{row}",
                    given_label="x",
                    suggested_label="x",
                    confidence=0.0,
                    score=0.0,
                    flagged=False,
                )
            )
    assert tasks.execute_audit(audit_id) == "succeeded"
    audit, samples = load(database, audit_id)
    assert audit.attempt == 2 and audit.status == "succeeded"
    assert len(samples) == 60 and not any(s.startswith("partial-") for s in samples)


def test_a_running_audit_with_a_live_worker_is_left_alone(tasks, database, new_audit):
    audit_id = new_audit(
        status="running", attempt=1, lease_expires_at=utcnow() + timedelta(seconds=30)
    )
    assert tasks.execute_audit(audit_id) == "busy"
    audit, samples = load(database, audit_id)
    assert audit.status == "running" and audit.attempt == 1 and samples == []


def test_an_audit_not_yet_committed_or_deleted_is_missing(tasks):
    assert tasks.execute_audit(uuid.uuid4()) == "missing"


def test_data_that_cannot_be_loaded_fails_the_audit_with_a_readable_error(
    tasks, database, new_audit, make_blobs
):
    table = make_blobs(20)[0]
    table.loc[3, "f2"] = float("nan")
    audit_id = new_audit(table)
    assert tasks.execute_audit(audit_id) == "failed"
    audit, samples = load(database, audit_id)
    assert audit.status == "failed" and samples == []
    assert "f2" in audit.error and "Traceback" not in audit.error


def test_a_cancelled_audit_stops_at_its_next_progress_report(tasks, database, settings, new_audit):
    from service.audits import worker_attempts
    from service.audits.models import Audit
    from service.storage import Storage
    from worker.engine import Progress

    audit_id = new_audit()
    with database.session_scope() as session:
        claim = worker_attempts.claim_audit(
            session, Storage(settings.data_dir), audit_id, worker_host="h", lease_s=60
        )
    assert claim.outcome == "run" and claim.job is not None
    leased_until = load(database, audit_id)[0].lease_expires_at
    report = tasks.ProgressReporter(claim.job, database, interval_s=0)
    report(Progress("training", 1, 4, 0.25))
    audit, _ = load(database, audit_id)
    assert audit.progress["epoch"] == 1 and audit.progress["eta_seconds"] is not None
    # A report is only a write: the lease keeper alone renews the lease.
    assert audit.lease_expires_at == leased_until
    with database.session_scope() as session:
        session.get(Audit, audit_id).status = "cancelled"
    with pytest.raises(tasks.AuditStopped):
        report(Progress("training", 2, 4, 0.5))
    # Results that arrive after a cancel are dropped.
    with database.session_scope() as session:
        assert not worker_attempts.store_results(session, claim.job, _empty_outcome())
    assert load(database, audit_id)[0].status == "cancelled"


def _empty_outcome():
    from formats.contract import AuditOutcome
    from formats.options import AuditConfig

    return AuditOutcome(
        sample_ids=[],
        given=[],
        suggested=[],
        confidence=[],
        score=[],
        flagged=[],
        image_paths=None,
        estimated_errors={},
        thresholds={},
        confusion=[],
        seconds=0.0,
        device="cpu",
        plan=AuditConfig(epochs=1, window=1, mode="dynamics").plan(0, is_image=False),
    )
