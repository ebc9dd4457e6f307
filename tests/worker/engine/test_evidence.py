import numpy as np
import pytest

from worker.engine import AuditConfig, audit
from worker.engine.evidence import reference_examples, top_classes


def test_top_classes_are_the_most_probable_in_order():
    probabilities = np.array([[0.1, 0.6, 0.3, 0.0], [0.25, 0.25, 0.2, 0.3]], dtype=np.float32)
    indices, chosen = top_classes(probabilities)
    assert indices.tolist() == [[1, 2, 0], [3, 0, 1]]
    np.testing.assert_allclose(chosen, [[0.6, 0.3, 0.1], [0.3, 0.25, 0.25]])
    assert top_classes(probabilities[:, :2])[0].shape == (2, 2)


def test_reference_examples_are_the_surest_unflagged_of_each_class():
    confidence = np.array([0.9, 0.95, 0.2, 0.99, 0.7, 0.8, 0.6, 0.97])
    labels = np.array([0, 0, 0, 0, 1, 1, 1, 1])
    flagged = np.array([False, False, True, True, False, False, False, True])
    examples = reference_examples(confidence, labels, flagged, 3, count=2)
    # Row 3 (0.99) and row 7 (0.97) are the surest but flagged: never an example.
    assert [rows.tolist() for rows in examples] == [[1, 0], [5, 4], []]


@pytest.mark.slow
def test_an_audit_returns_the_history_top_classes_and_examples(blob_dataset):
    dataset = blob_dataset
    result = audit(dataset, AuditConfig(epochs=6, window=3, seed=1))
    n = dataset.n_samples
    assert result.given_history.shape == (6, n)
    assert result.window == 3
    rows = np.arange(n)
    # The flag's confidence is the window's mean of the history.
    np.testing.assert_allclose(
        result.given_history[-3:].mean(axis=0), result.flags.confidence, atol=1e-5
    )
    assert result.top_classes.shape == result.top_probabilities.shape == (n, 3)
    assert (result.top_classes[:, 0] == result.flags.suggested).all()
    assert (np.diff(result.top_probabilities, axis=1) <= 0).all()
    np.testing.assert_allclose(
        result.top_probabilities[:, 0], result.flags.suggested_probability, atol=1e-6
    )
    assert len(result.reference_examples) == dataset.n_classes
    for cls, examples in enumerate(result.reference_examples):
        assert 3 <= examples.size <= 5
        assert (dataset.labels[examples] == cls).all()
        assert not result.flags.flagged[examples].any()
        others = rows[(dataset.labels == cls) & ~result.flags.flagged]
        outside = np.setdiff1d(others, examples)
        assert result.flags.confidence[examples].min() >= result.flags.confidence[outside].max()
