"""load_for_audit: a library caller reads images at the size its config trains at."""

import pytest

from worker.engine import AuditConfig, ConfigError, audit, load_for_audit

from .conftest import image_folder


def test_images_are_decoded_at_the_configs_size(tmp_path):
    folder = image_folder(tmp_path / "parts")
    assert load_for_audit(folder, AuditConfig(image_size=16)).features.shape[1:3] == (16, 16)
    # Left unset: the median side (40 px), under the CPU's limit.
    assert load_for_audit(folder, AuditConfig(device="cpu")).features.shape[1] == 40


def test_an_audit_refuses_images_decoded_at_another_size(tmp_path):
    dataset = load_for_audit(image_folder(tmp_path / "parts"), AuditConfig())
    with pytest.raises(ConfigError, match="image_size is 16 but the images were decoded at 40 px"):
        audit(dataset, AuditConfig(image_size=16, epochs=1, window=1))
