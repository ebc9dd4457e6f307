"""An interrupted audit resumes from its checkpoint and ends exactly as an uninterrupted one."""

import logging
import shutil

import numpy as np
import pytest
import torch

from tests.worker.engine.conftest import blobs, stripes
from worker.engine import AuditConfig, Progress, TrainingInterrupted, audit
from worker.engine import checkpoint as checkpoint_module
from worker.engine.checkpoint import remove_checkpoint

# Every test here trains a model.
pytestmark = pytest.mark.slow


def interrupted_after(epochs_done: int, reports: list[Progress]):
    """A ``should_stop`` that says stop once ``epochs_done`` epochs have been reported."""
    return lambda: (
        sum(r.stage != "loading" and r.resumed_at is None for r in reports) >= (epochs_done)
    )


def assert_same_result(resumed, uninterrupted):
    np.testing.assert_array_equal(resumed.flags.flagged, uninterrupted.flags.flagged)
    np.testing.assert_array_equal(resumed.flags.score, uninterrupted.flags.score)
    np.testing.assert_array_equal(resumed.flags.confidence, uninterrupted.flags.confidence)
    np.testing.assert_array_equal(resumed.flags.suggested, uninterrupted.flags.suggested)


@pytest.mark.parametrize(
    ("dataset", "config", "reports_before_stop"),
    [
        # Truncated Lq prunes (weights in the loss) and the MLP uses dropout (global RNG).
        (blobs(40), AuditConfig(epochs=9, window=3, prune_every=1, seed=3), 2),
        # Augmentation draws from the run's own generator; a holdout keeps a best model.
        (
            stripes(12),
            AuditConfig(epochs=5, window=2, holdout_fraction=0.2, seed=1, backbone="none"),
            2,
        ),
        (blobs(30), AuditConfig(epochs=3, mode="crossval", folds=3, seed=2), 4),
        # Combined mode, stopped in its first held-out fold: the view recorded before the
        # stop comes back from the checkpoint.
        (stripes(12), AuditConfig(epochs=3, window=2, seed=4, backbone="none"), 4),
        # Checked mode, stopped in a held-out fold that trains half the audit's epochs.
        (blobs(30), AuditConfig(epochs=6, window=2, seed=5), 8),
    ],
    ids=[
        "table-tgce",
        "images-augmented",
        "crossval",
        "images-combined-held-out",
        "table-checked-held-out",
    ],
)
def test_a_resumed_audit_equals_an_uninterrupted_one(
    tmp_path, dataset, config, reports_before_stop
):
    uninterrupted = audit(dataset, config)
    path = tmp_path / "checkpoint.pt"
    reports: list[Progress] = []
    with pytest.raises(TrainingInterrupted):
        audit(
            dataset,
            config,
            progress=reports.append,
            checkpoint_path=path,
            should_stop=interrupted_after(reports_before_stop, reports),
        )
    assert path.exists()
    resumed_reports: list[Progress] = []
    resumed = audit(dataset, config, progress=resumed_reports.append, checkpoint_path=path)
    first = resumed_reports[0]
    assert first.resumed_at is not None and first.resumed_at >= 1, resumed_reports[:2]
    assert_same_result(resumed, uninterrupted)


def test_ignores_a_corrupt_checkpoint_with_a_log_line(tmp_path, caplog):
    dataset, config = blobs(20), AuditConfig(epochs=3, window=2)
    path = tmp_path / "checkpoint.pt"
    path.write_bytes(b"not a checkpoint")
    reports: list[Progress] = []
    with caplog.at_level(logging.WARNING, logger="worker.engine.checkpoint"):
        result = audit(dataset, config, progress=reports.append, checkpoint_path=path)
    assert "unreadable" in caplog.text
    assert all(report.resumed_at is None for report in reports)
    assert_same_result(result, audit(dataset, config))


def test_ignores_a_checkpoint_of_other_labels_or_options(tmp_path, caplog):
    config = AuditConfig(epochs=4, window=2)
    path = tmp_path / "checkpoint.pt"
    reports: list[Progress] = []
    with pytest.raises(TrainingInterrupted):
        audit(
            blobs(20),
            config,
            progress=reports.append,
            checkpoint_path=path,
            should_stop=interrupted_after(2, reports),
        )
    relabeled = blobs(20)
    relabeled.labels[0] = 1
    for dataset, options in (
        (relabeled, config),
        (blobs(20), AuditConfig(epochs=4, window=2, k=0.3)),
    ):
        caplog.clear()
        resumed: list[Progress] = []
        with caplog.at_level(logging.WARNING, logger="worker.engine.checkpoint"):
            audit(dataset, options, progress=resumed.append, checkpoint_path=path)
        assert "other data or options" in caplog.text
        assert all(report.resumed_at is None for report in resumed)


def window_files(path):
    return sorted(p.name for p in path.parent.glob(f"{path.name}.window*.npy"))


def test_the_window_is_written_beside_the_checkpoint_only_once_it_changes(tmp_path, monkeypatch):
    # Nine epochs, a window of three: the first six leave the window's sums at zero, so no
    # checkpoint writes them; from the seventh on one file holds them, the last one written.
    monkeypatch.setattr(checkpoint_module, "MAX_OVERHEAD", float("inf"))  # save every epoch
    dataset, config = blobs(40), AuditConfig(epochs=9, window=3, mode="dynamics", seed=1)
    path = tmp_path / "checkpoint.pt"
    # Stopped after epoch 5, then resumed and stopped again after epoch 8.
    for stop_after, written in ((5, False), (3, True)):
        reports: list[Progress] = []
        with pytest.raises(TrainingInterrupted):
            audit(
                dataset,
                config,
                progress=reports.append,
                checkpoint_path=path,
                should_stop=interrupted_after(stop_after, reports),
            )
        state = torch.load(path, weights_only=True)
        assert "recent" not in state
        assert list(state["arrays"]) == (["window0"] if written else [])
        assert window_files(path) == sorted(state["arrays"].values())
    resumed = audit(dataset, config, checkpoint_path=path)
    assert_same_result(resumed, audit(dataset, config))
    remove_checkpoint(path)
    assert list(tmp_path.iterdir()) == []


def test_ignores_a_checkpoint_whose_window_file_is_missing(tmp_path, caplog, monkeypatch):
    monkeypatch.setattr(checkpoint_module, "MAX_OVERHEAD", float("inf"))
    dataset, config = blobs(20), AuditConfig(epochs=5, window=2, mode="dynamics")
    path = tmp_path / "checkpoint.pt"
    reports: list[Progress] = []
    with pytest.raises(TrainingInterrupted):
        audit(
            dataset,
            config,
            progress=reports.append,
            checkpoint_path=path,
            should_stop=interrupted_after(4, reports),
        )
    assert window_files(path)
    for file_name in window_files(path):
        (tmp_path / file_name).unlink()
    resumed: list[Progress] = []
    with caplog.at_level(logging.WARNING, logger="worker.engine.checkpoint"):
        result = audit(dataset, config, progress=resumed.append, checkpoint_path=path)
    assert "array window0 unreadable" in caplog.text
    assert all(report.resumed_at is None for report in resumed)
    assert_same_result(result, audit(dataset, config))


def test_training_stops_once_the_checkpoints_folder_is_removed(tmp_path, monkeypatch):
    # An audit deleted mid-training loses its folder: the next save stops training rather
    # than bring the folder back (or fail with an error).
    monkeypatch.setattr(checkpoint_module, "MAX_OVERHEAD", float("inf"))
    folder = tmp_path / "audit"
    folder.mkdir()

    def remove_after_the_second_epoch(report: Progress) -> None:
        if report.epoch == 2 and folder.exists():
            shutil.rmtree(folder)

    with pytest.raises(TrainingInterrupted, match="was removed"):
        audit(
            blobs(20),
            AuditConfig(epochs=5, window=2),
            progress=remove_after_the_second_epoch,
            checkpoint_path=folder / "checkpoint.pt",
        )
    assert not folder.exists()
