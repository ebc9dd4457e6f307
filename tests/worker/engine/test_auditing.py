import numpy as np
import pytest
from sklearn.datasets import load_digits

from formats import Dataset, DatasetError
from formats.training_memory import training_memory_bytes
from worker.engine import AuditConfig, Progress, audit


def noisy_digits(
    rate: float, *, seed: int, permutation: bool = False
) -> tuple[Dataset, np.ndarray]:
    """Digits with a ``rate`` share of labels flipped to a random other class, or (with
    ``permutation``) each class's flipped to one fixed other class."""
    features, labels = load_digits(return_X_y=True)
    rng = np.random.default_rng(seed)
    wrong = rng.random(labels.size) < rate
    noisy = labels.copy()
    if permutation:
        noisy[wrong] = (labels[wrong] + 1 + rng.permutation(9)[labels[wrong] % 9]) % 10
    else:
        noisy[wrong] = (labels[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    dataset = Dataset(
        features=features.astype(np.float32),
        labels=noisy,
        class_names=tuple(f"digit {d}" for d in range(10)),
        sample_ids=np.array([f"row-{i}" for i in range(labels.size)]),
        kind="table",
    )
    return dataset, wrong


def f1(flagged: np.ndarray, wrong: np.ndarray) -> float:
    hits = (flagged & wrong).sum()
    return 2 * hits / (flagged.sum() + wrong.sum())


@pytest.mark.slow
def test_finds_most_injected_errors_in_digits():
    dataset, wrong = noisy_digits(0.2, seed=11)
    result = audit(dataset, AuditConfig(epochs=25, seed=3))
    assert f1(result.flags.flagged, wrong) > 0.85
    caught = result.flags.flagged & wrong
    true_labels = load_digits().target
    assert (result.flags.suggested[caught] == true_labels[caught]).mean() > 0.85
    assert sum(result.estimated_errors.values()) == pytest.approx(wrong.sum(), rel=0.3)
    assert result.confusion.sum() == result.n_flagged
    assert result.device.startswith(("cpu", "cuda"))


@pytest.mark.slow
def test_class_dependent_noise_is_found_with_the_default_config():
    # 30% of each class moved to one other class: the errors are a large, coherent minority
    # that a network memorises unless truncated Lq prunes them early.
    dataset, wrong = noisy_digits(0.3, seed=13, permutation=True)
    result = audit(dataset, AuditConfig(seed=4))
    flagged = result.flags.flagged
    precision = (flagged & wrong).sum() / flagged.sum()
    recall = (flagged & wrong).sum() / wrong.sum()
    assert precision > 0.85 and recall > 0.85, (precision, recall)


@pytest.mark.slow
def test_a_clean_dataset_gets_almost_no_flags():
    dataset, wrong = noisy_digits(0.0, seed=14)
    assert not wrong.any()
    result = audit(dataset, AuditConfig(seed=5))
    assert result.n_flagged <= 0.01 * dataset.n_samples
    assert all(0.0 <= k <= 0.5 for k in result.thresholds.values())


@pytest.mark.slow
def test_a_set_k_applies_to_every_class():
    dataset, _ = noisy_digits(0.2, seed=15)
    result = audit(dataset, AuditConfig(k=0.3, epochs=6, window=2, seed=6))
    assert all(k == pytest.approx(0.3) for k in result.thresholds.values())
    assert set(result.thresholds) == set(dataset.class_names)
    # A table's default mode flags with the trained model alone: it decides every sample.
    assert set(result.deciding_view.tolist()) == {"in-sample"}


@pytest.mark.slow
def test_crossval_mode_flags_out_of_fold():
    dataset, wrong = noisy_digits(0.2, seed=12)
    result = audit(dataset, AuditConfig(mode="crossval", folds=3, epochs=10, seed=3))
    assert f1(result.flags.flagged, wrong) > 0.6
    assert set(result.deciding_view.tolist()) == {"held-out"}


def test_rejects_a_class_with_a_single_sample(blob_dataset):
    labels = blob_dataset.labels.copy()
    labels[0] = 2
    labels[labels == 0] = 1
    labels[0] = 0
    single = Dataset(
        blob_dataset.features, labels, blob_dataset.class_names, blob_dataset.sample_ids, "table"
    )
    with pytest.raises(DatasetError, match=r"class\(es\) 'class-0' have fewer than 2 samples"):
        audit(single, AuditConfig(epochs=1, window=1))


def test_corrections_relabel_and_exclude(blob_dataset):
    corrected = blob_dataset.with_corrections({"s0": "class-2"}, {"s1", "s2"})
    assert corrected.n_samples == blob_dataset.n_samples - 2
    assert corrected.sample_ids[0] == "s0" and corrected.labels[0] == 2
    with pytest.raises(DatasetError, match="unknown class"):
        blob_dataset.with_corrections({"s0": "nope"}, set())


@pytest.mark.slow
def test_refuses_before_training_when_its_buffers_exceed_the_budget(blob_dataset):
    config = AuditConfig(epochs=3, window=2)
    plan = config.plan(blob_dataset.n_samples, is_image=False)
    needed = training_memory_bytes(blob_dataset.n_samples, blob_dataset.n_classes, plan)
    reports: list[Progress] = []
    with pytest.raises(DatasetError) as caught:
        audit(blob_dataset, config, progress=reports.append, max_training_bytes=needed - 1)
    assert caught.value.code == "dataset_too_large_to_train"
    assert reports == []
    # At the budget exactly it trains.
    result = audit(blob_dataset, config, max_training_bytes=needed)
    assert result.flags.flagged.shape == (blob_dataset.n_samples,)
