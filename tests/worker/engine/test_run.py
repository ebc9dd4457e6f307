import dataclasses

import numpy as np
import pytest
import torch

from worker.engine import AuditConfig
from worker.engine.run import TrainingRun
from worker.engine.tensors import prepare_tensors

# Every test here trains a model.
pytestmark = pytest.mark.slow


def training_run(tensors, config, *, seed):
    """The in-sample run of ``config``'s dynamics-mode plan, on every sample."""
    plan = dataclasses.replace(config, mode="dynamics").plan(tensors.n_samples, is_image=False)
    recipe = plan.in_sample
    everyone = np.arange(tensors.n_samples)
    return TrainingRun(tensors, plan, recipe, config, everyone, recipe.batch_sizes[0], seed=seed)


def flipped_stripes(stripe_dataset):
    """The stripes with every third label flipped, as tensors, and which were flipped."""
    labels = stripe_dataset.labels.copy()
    flipped = np.arange(labels.size) % 3 == 0
    labels[flipped] = 1 - labels[flipped]
    tensors = prepare_tensors(stripe_dataset.features, labels, 2, device=torch.device("cpu"))
    return tensors, flipped


def test_predicts_probability_vectors_in_eval_mode(blob_dataset):
    tensors = prepare_tensors(
        blob_dataset.features, blob_dataset.labels, 3, device=torch.device("cpu")
    )
    run = training_run(tensors, AuditConfig(epochs=2, window=2), seed=0)
    run.train_epoch()
    index = np.array([5, 0, 170])
    probabilities = run.predict(index)
    assert probabilities.shape == (3, 3)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)
    # Eval mode: the same samples get the same answer alone as in any batch.
    np.testing.assert_allclose(run.predict(index[:1]), probabilities[:1], rtol=1e-5)


def test_pruning_drops_the_wrong_labels_from_the_loss(stripe_dataset):
    tensors, flipped = flipped_stripes(stripe_dataset)
    everyone = np.arange(tensors.n_samples)
    run = training_run(tensors, AuditConfig(seed=1, epochs=6), seed=1)
    for _ in range(3):
        run.train_epoch()
    given = run.predict(everyone)[everyone, tensors.labels_np]
    run.prune(given)
    assert run.loss.truncated is not None
    kept = run.loss.truncated.weights.numpy().astype(bool)
    assert kept[~flipped].mean() > 0.8 and kept[flipped].mean() < 0.2


def test_pruning_with_a_holdout_reads_the_best_model_on_it(stripe_dataset):
    tensors, flipped = flipped_stripes(stripe_dataset)
    config = AuditConfig(holdout_fraction=0.2, seed=1)
    run = training_run(tensors, dataclasses.replace(config, epochs=6), seed=1)
    for _ in range(3):
        run.train_epoch()
    assert run.best_state is not None and 0.0 <= run.best_accuracy <= 1.0
    run.prune(None)
    assert run.loss.truncated is not None
    weights = run.loss.truncated.weights.numpy()
    trained = run.train_index.numpy()
    # Only the samples it trains on are pruned; the holdout keeps its weights.
    assert (weights[run.holdout] == 1.0).all()
    assert weights[trained][flipped[trained]].mean() < 0.5
