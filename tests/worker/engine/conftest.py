import numpy as np
import pytest
from PIL import Image

from formats import Dataset


def blobs(n_per_class: int = 60, n_classes: int = 3, *, seed: int = 0) -> Dataset:
    """Well-separated Gaussian blobs: a table any model learns in a few epochs."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(0, 4, (n_classes, 8))
    labels = np.repeat(np.arange(n_classes), n_per_class)
    features = centres[labels] + rng.normal(0, 1, (labels.size, 8))
    return Dataset(
        features=features.astype(np.float32),
        labels=labels,
        class_names=tuple(f"class-{c}" for c in range(n_classes)),
        sample_ids=np.array([f"s{i}" for i in range(labels.size)]),
        kind="table",
    )


def stripes(n_per_class: int = 24, *, size: int = 16, seed: int = 0) -> Dataset:
    """Grayscale images of horizontal vs vertical stripes, with pixel noise."""
    rng = np.random.default_rng(seed)
    pattern = (np.arange(size) // 2 % 2 * 200).astype(np.uint8)
    horizontal = np.repeat(pattern[:, None], size, axis=1)
    images = np.stack([horizontal] * n_per_class + [horizontal.T] * n_per_class)[..., None]
    noisy = np.clip(images + rng.integers(0, 50, images.shape), 0, 255).astype(np.uint8)
    labels = np.repeat(np.arange(2), n_per_class)
    return Dataset(
        features=noisy,
        labels=labels,
        class_names=("horizontal", "vertical"),
        sample_ids=np.array([f"img{i}.png" for i in range(labels.size)]),
        kind="image",
    )


@pytest.fixture
def blob_dataset() -> Dataset:
    return blobs()


@pytest.fixture
def stripe_dataset() -> Dataset:
    return stripes()


def image_folder(root, *, side: int = 40, per_class: int = 6):
    """Two classes of flat PNG images in class folders under ``root``."""
    for index, name in enumerate(("crack", "clean")):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full((side, side, 3), 40 + 150 * index + i, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{name}-{i}.png")
    return root
