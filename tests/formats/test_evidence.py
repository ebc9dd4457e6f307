import numpy as np
import pytest

from formats.evidence import decode_history, decode_top_classes, history_blobs, top_class_blobs


def test_packed_evidence_round_trips_within_a_quantum():
    rng = np.random.default_rng(0)
    history = rng.random((50, 1000)).astype(np.float32)
    blobs = history_blobs(history)
    assert len(blobs) == 1000 and {len(blob) for blob in blobs} == {50}
    decoded = np.array([decode_history(blob) for blob in blobs]).T
    assert np.abs(decoded - history).max() <= 0.5 / 255 + 1e-4
    assert decode_history(history_blobs(np.array([[0.0], [1.0], [1.7]]))[0]) == [0.0, 1.0, 1.0]

    indices = np.array([[2, 0, 300]])
    probabilities = np.array([[0.91, 0.06, 0.03]])
    (blob,) = top_class_blobs(indices, probabilities)
    assert len(blob) == 9
    decoded_top = decode_top_classes(blob)
    assert [index for index, _ in decoded_top] == [2, 0, 300]
    np.testing.assert_allclose([p for _, p in decoded_top], [0.91, 0.06, 0.03], atol=0.5 / 255)


def test_packing_refuses_what_it_cannot_hold():
    with pytest.raises(ValueError, match="epochs, n"):
        history_blobs(np.zeros(4))
    with pytest.raises(ValueError, match="class indices"):
        top_class_blobs(np.array([[70_000]]), np.array([[0.5]]))
