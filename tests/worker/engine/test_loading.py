"""load_for_audit: a library caller reads images at the size its config trains at."""

import numpy as np
import pytest
from PIL import Image

from worker.engine import AuditConfig, ConfigError, audit, load_for_audit


def image_folder(root, *, side: int = 40, per_class: int = 6):
    for index, name in enumerate(("crack", "clean")):
        folder = root / name
        folder.mkdir(parents=True)
        for i in range(per_class):
            pixels = np.full((side, side, 3), 40 + 150 * index + i, dtype=np.uint8)
            Image.fromarray(pixels).save(folder / f"{name}-{i}.png")
    return root


def test_images_are_decoded_at_the_configs_size(tmp_path):
    folder = image_folder(tmp_path / "parts")
    assert load_for_audit(folder, AuditConfig(image_size=16)).features.shape[1:3] == (16, 16)
    # Left unset: the median side (40 px), under the CPU's limit.
    assert load_for_audit(folder, AuditConfig(device="cpu")).features.shape[1] == 40


def test_an_audit_refuses_images_decoded_at_another_size(tmp_path):
    dataset = load_for_audit(image_folder(tmp_path / "parts"), AuditConfig())
    with pytest.raises(ConfigError, match="image_size is 16 but the images were decoded at 40 px"):
        audit(dataset, AuditConfig(image_size=16, epochs=1, window=1))
