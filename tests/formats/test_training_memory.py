"""The training-memory budget: what an audit's probabilities take, and the refusal."""

import pytest

from formats import DEFAULT_LIMITS, DatasetError
from formats.options import AuditConfig
from formats.training_memory import check_training_memory, training_memory_bytes


def plan(config: AuditConfig, samples: int, *, is_image: bool = False):
    return config.plan(samples, is_image=is_image, image_side=64 if is_image else None)


def test_memory_grows_with_samples_classes_and_views_not_the_window():
    config = AuditConfig(epochs=20)
    table = training_memory_bytes(20_000, 10_000, plan(config, 20_000))  # checked: 2 views
    # Two views' window sums and three working arrays of 20,000 x 10,000 float32, and the
    # two views' given-label histories of 20 epochs; three 10,000 x 10,000 float64 tables.
    tables = 3 * 10_000 * 10_000 * 8
    assert table == 20_000 * (10_000 * 5 + 2 * 20) * 4 + tables
    single = training_memory_bytes(
        20_000, 10_000, plan(AuditConfig(epochs=20, mode="dynamics"), 20_000)
    )
    assert single == 20_000 * (10_000 * 4 + 20) * 4 + tables
    wide = AuditConfig(epochs=20, window=20)
    assert training_memory_bytes(20_000, 10_000, plan(wide, 20_000)) == table


def test_the_issue_dataset_is_refused_naming_samples_classes_and_the_setting():
    with pytest.raises(DatasetError) as caught:
        check_training_memory(
            20_000, 10_000, plan(AuditConfig(), 20_000), budget=DEFAULT_LIMITS.max_training_bytes
        )
    error = caught.value
    assert error.code == "dataset_too_large_to_train"
    assert "20,000 samples of 10,000 classes" in str(error)
    assert "LABELAUDIT_MAX_TRAINING_MEMORY_BYTES" in str(error)
    assert error.details["budget_bytes"] == DEFAULT_LIMITS.max_training_bytes
    assert error.details["needed_bytes"] > error.details["budget_bytes"]


def test_common_datasets_fit_the_default_budget():
    budget = DEFAULT_LIMITS.max_training_bytes
    for samples, classes, is_image in (
        (60_000, 10, True),
        (100_000, 1000, False),
        (1_000_000, 90, False),
    ):
        needs = plan(AuditConfig(), samples, is_image=is_image)
        check_training_memory(samples, classes, needs, budget=budget)
