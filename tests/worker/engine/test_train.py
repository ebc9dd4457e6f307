import dataclasses

import numpy as np
import pytest
import torch

from formats.defaults import fold_size
from worker.engine import AuditConfig, ConfigError, Progress, audit
from worker.engine.reading import READINGS, learned_flip_windows, read_view
from worker.engine.tensors import prepare_tensors, resolve_device
from worker.engine.train import record_training, stratified_folds

from .conftest import blobs


def record(tensors, config, **options):
    """:func:`record_training` of ``config``'s plan for ``tensors``."""
    side = tensors.image_shape[1] if tensors.is_image else None
    plan = config.plan(tensors.n_samples, is_image=tensors.is_image, image_side=side)
    return record_training(tensors, plan, config, **options)


def read(history):
    """The view the flags of ``history``'s mode read."""
    return read_view(history, READINGS[history.mode].flags)


def tensors_of(dataset):
    return prepare_tensors(
        dataset.features, dataset.labels, dataset.n_classes, device=torch.device("cpu")
    )


@pytest.mark.slow
def test_records_every_epoch_and_the_window(blob_dataset):
    history = record(tensors_of(blob_dataset), AuditConfig(epochs=6, window=3))
    assert read(history).given_probability.shape == (6, blob_dataset.n_samples)
    assert read(history).window_view.given.shape == (3, blob_dataset.n_samples)
    np.testing.assert_array_equal(
        read(history).window_view.given, read(history).given_probability[-3:]
    )
    assert read(history).window_mean.shape == (blob_dataset.n_samples, 3)
    np.testing.assert_allclose(read(history).window_mean.sum(axis=1), 1.0, atol=1e-5)
    # Separable blobs: the given label ends up confident.
    assert read(history).given_probability[-1].mean() > 0.9


@pytest.mark.slow
def test_same_seed_gives_identical_results(stripe_dataset):
    config = AuditConfig(epochs=3, window=2, seed=5)
    first = record(tensors_of(stripe_dataset), config)
    second = record(tensors_of(stripe_dataset), config)
    np.testing.assert_array_equal(read(first).given_probability, read(second).given_probability)
    other = record(tensors_of(stripe_dataset), dataclasses.replace(config, seed=6))
    assert not np.array_equal(read(first).given_probability, read(other).given_probability)


@pytest.mark.slow
def test_reports_progress_after_every_epoch(blob_dataset):
    reports: list[Progress] = []
    record(
        tensors_of(blob_dataset),
        AuditConfig(epochs=4, window=2, mode="dynamics"),
        progress=reports.append,
    )
    assert [(r.stage, r.epoch, r.epochs) for r in reports] == [
        ("training", e, 4) for e in (1, 2, 3, 4)
    ]
    assert reports[-1].fraction == pytest.approx(1.0)


@pytest.mark.slow
def test_a_raising_progress_callback_stops_the_audit(blob_dataset):
    class Cancelled(Exception):
        pass

    def cancel(report: Progress) -> None:
        if report.epoch == 2:
            raise Cancelled

    with pytest.raises(Cancelled):
        audit(blob_dataset, AuditConfig(epochs=10, window=2), progress=cancel)


@pytest.mark.slow
def test_crossval_records_each_fold_out_of_sample_after_every_epoch(blob_dataset):
    reports: list[Progress] = []
    config = AuditConfig(epochs=3, window=2, folds=3, mode="crossval")
    history = record(tensors_of(blob_dataset), config, progress=reports.append)
    assert read(history).given_probability.shape == (3, blob_dataset.n_samples)
    assert read(history).window_view.given.shape == (2, blob_dataset.n_samples)
    np.testing.assert_allclose(read(history).window_mean.sum(axis=1), 1.0, atol=1e-5)
    assert [r.stage for r in reports[::3]] == ["fold 1/3", "fold 2/3", "fold 3/3"]
    assert reports[-1].fraction == pytest.approx(1.0)


@pytest.mark.slow
def test_crossval_probabilities_come_from_the_model_that_did_not_train_on_the_sample():
    # Two classes of identical points: a model can only predict a point's label out of
    # sample from the other points' labels. One point per class is labelled against them.
    features = np.repeat(np.eye(2, 8, dtype=np.float32), 20, axis=0)
    labels = np.repeat([0, 1], 20)
    labels[[0, 20]] = [1, 0]
    tensors = prepare_tensors(features, labels, 2, device=torch.device("cpu"))
    config = AuditConfig(epochs=30, window=1, folds=2, mode="crossval", loss="ce")
    history = record(tensors, config)
    given = read(history).given_probability[-1]
    assert given[[0, 20]].max() < 0.2 < given[1:20].min()


@pytest.mark.slow
def test_combined_mode_records_in_sample_then_each_held_out_fold(stripe_dataset):
    reports: list[Progress] = []
    config = AuditConfig(epochs=2, window=2)
    history = record(tensors_of(stripe_dataset), config, progress=reports.append)
    assert read(history).given_probability.shape == (2, stripe_dataset.n_samples)
    np.testing.assert_allclose(read(history).window_mean.sum(axis=1), 1.0, atol=1e-5)
    stages = [(r.stage, r.epoch) for r in reports]
    assert stages == [
        (stage, epoch)
        for stage in ("training", "held-out fold 1/2", "held-out fold 2/2")
        for epoch in (1, 2)
    ]
    # The in-sample run trains on every sample, each held-out fold's model on half.
    assert [r.fraction for r in reports] == pytest.approx([0.25, 0.5, 0.625, 0.75, 0.875, 1.0])


@pytest.mark.slow
def test_combined_mode_averages_the_trained_and_the_held_out_models_and_checked_reads_one():
    # Three of 120 well-separated points are labelled against their blob. A model trained
    # on them memorises them; models that never saw them give their labels about zero.
    dataset = blobs(40, seed=1)
    labels = dataset.labels.copy()
    flipped = np.array([0, 40, 80])
    labels[flipped] = [1, 2, 0]
    tensors = prepare_tensors(dataset.features, labels, 3, device=torch.device("cpu"))
    config = AuditConfig(loss="ce", epochs=60, window=1, batch_size=16, learning_rate=0.01)
    histories = {
        mode: record(tensors, dataclasses.replace(config, mode=mode))
        for mode in ("dynamics", "crossval", "combined", "checked")
    }
    given = {
        mode: read(history).given_probability[-1][flipped] for mode, history in histories.items()
    }
    assert given["dynamics"].min() > 0.6
    assert given["crossval"].max() < 0.1
    np.testing.assert_allclose(
        given["combined"], (given["dynamics"] + given["crossval"]) / 2, atol=0.15
    )
    # Checked mode reads the same in-sample run; the held-out models only count.
    np.testing.assert_array_equal(given["checked"], given["dynamics"])
    trained, held_out = (
        read_view(histories["checked"], name).window_mean for name in READINGS["checked"].count
    )
    assert trained[flipped, labels[flipped]].min() > 0.6
    assert held_out[flipped, labels[flipped]].max() < 0.1
    # Combined mode's flags can look at each of the views it averages; checked mode's read one.
    combined = learned_flip_windows(histories["combined"], READINGS["combined"])
    in_sample, held_out_window = combined
    np.testing.assert_array_equal(in_sample.given[-1][flipped], given["dynamics"])
    assert held_out_window.given[-1][flipped].max() < 0.1
    assert learned_flip_windows(histories["checked"], READINGS["checked"]) == ()


@pytest.mark.slow
def test_checked_mode_trains_its_held_out_models_half_the_epochs(blob_dataset):
    reports: list[Progress] = []
    config = AuditConfig(epochs=4, window=2, mode="checked")
    history = record(tensors_of(blob_dataset), config, progress=reports.append)
    assert [(r.stage, r.epoch, r.epochs) for r in reports] == [
        ("training", 1, 4),
        ("training", 2, 4),
        ("training", 3, 4),
        ("training", 4, 4),
        ("held-out fold 1/2", 1, 2),
        ("held-out fold 1/2", 2, 2),
        ("held-out fold 2/2", 1, 2),
        ("held-out fold 2/2", 2, 2),
    ]
    # Progress counts samples × epochs: the held-out half is a quarter of the compute.
    assert reports[3].fraction == pytest.approx(2 / 3)
    assert reports[-1].fraction == pytest.approx(1.0)
    trained, held_out = history.views
    assert trained.given_probability.shape == (4, blob_dataset.n_samples)
    assert held_out.given_probability.shape == (2, blob_dataset.n_samples)
    assert read(history) is trained
    np.testing.assert_allclose(held_out.window_mean.sum(axis=1), 1.0, atol=1e-5)


def test_stratified_folds_balance_each_class():
    labels = np.repeat(np.arange(3), [10, 20, 30])
    folds = stratified_folds(labels, 5, seed=0)
    for cls, size in enumerate((10, 20, 30)):
        assert np.bincount(folds[labels == cls], minlength=5).tolist() == [size // 5] * 5


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["dynamics", "crossval"])
def test_truncated_lq_prunes_the_samples_it_trains_on(stripe_dataset, mode):
    # Labels of a third of the samples are flipped; pruning must drop (most of) them from
    # the loss of whichever model trains on them.
    labels = stripe_dataset.labels.copy()
    flipped = np.arange(labels.size) % 3 == 0
    labels[flipped] = 1 - labels[flipped]
    tensors = prepare_tensors(stripe_dataset.features, labels, 2, device=torch.device("cpu"))
    config = AuditConfig(epochs=6, window=2, mode=mode, folds=2, prune_start=3, seed=1)
    history = record(tensors, config)
    assert read(history).given_probability[-1][flipped].mean() < 0.5


def test_cuda_without_a_gpu_is_a_config_error():
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        resolve_device("cuda")


def test_each_folds_batch_is_a_fortieth_of_what_its_model_trains_on():
    labels = np.random.default_rng(0).integers(0, 7, size=4003)
    plan = AuditConfig(mode="crossval", folds=3).plan(labels.size, is_image=False)
    assignment = stratified_folds(labels, 3, seed=0)
    trained = [int((assignment != fold).sum()) for fold in range(3)]
    assert [labels.size - fold_size(labels.size, 3, fold) for fold in range(3)] == trained
    assert plan.held_out.batch_sizes == tuple(min(max(n // 40, 32), 256) for n in trained)
