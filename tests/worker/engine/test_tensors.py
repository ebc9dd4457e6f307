import warnings

import numpy as np
import torch

from formats.defaults import MAX_IMAGE_SIDE
from worker.engine.tensors import max_image_side, prepare_tensors


def test_reads_a_read_only_image_cache_without_warning(tmp_path):
    path = tmp_path / "images.npy"
    rng = np.random.default_rng(0)
    np.save(path, rng.integers(0, 256, size=(6, 8, 8, 1), dtype=np.uint8))
    cached = np.load(path, mmap_mode="r")
    assert not cached.flags.writeable
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tensors = prepare_tensors(cached, np.arange(6) % 2, 2, device=torch.device("cpu"))
    images, labels = tensors.batch(torch.arange(6))
    assert images.shape == (6, 1, 8, 8)
    np.testing.assert_array_equal(labels.numpy(), np.arange(6) % 2)


def test_images_are_kept_smaller_when_a_cpu_trains():
    assert max_image_side("cpu") == MAX_IMAGE_SIDE["cpu"] < MAX_IMAGE_SIDE["cuda"]
    if not torch.cuda.is_available():
        assert max_image_side("auto") == MAX_IMAGE_SIDE["cpu"]
