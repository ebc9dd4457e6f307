"""An audit opens no network connection: the backbone's weights come from the install."""

import socket

import pytest

from worker.engine import AuditConfig, audit, load_for_audit

from .conftest import image_folder


@pytest.fixture
def no_network(monkeypatch):
    """Every attempt to resolve a name or open a connection is recorded and refused."""
    attempts: list[object] = []

    def refuse(*args, **kwargs):
        attempts.append(args)
        raise OSError("network access in a test that must run offline")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket.socket, "connect_ex", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return attempts


def test_an_image_audit_with_the_default_backbone_runs_offline(tmp_path, no_network):
    config = AuditConfig(epochs=2, window=1)
    dataset = load_for_audit(image_folder(tmp_path / "parts"), config, cache_dir=tmp_path / "cache")
    result = audit(dataset, config)
    assert result.plan.backbone == "efficientnet-lite0"
    assert result.feature_seconds > 0
    assert no_network == []
