"""The API and the CLI agree: unusual but good uploads (labels NA, null, padded, 1 and 01,
a BOM, CRLF, upper-case names, Latin-1 member names, EXIF-rotated JPEGs, members that differ
only in case, a class folder nested deeper) are accepted by both with the same classes, and
audit to the end through the service. The refusals are in test_malformed_uploads."""

from __future__ import annotations

import subprocess
import sys

import pytest

from formats import Dataset
from formats.options import AuditConfig

from .corpus import GOOD, through_loader
from .files import archive, class_images, png_claiming


@pytest.mark.parametrize("case", GOOD, ids=[case.name for case in GOOD])
def test_the_api_and_the_cli_loader_accept_alike(client, settings, admin, tmp_path, case):
    response = client.post("/audits", headers=admin, **case.request())
    assert response.status_code == 202, response.text
    dataset = response.json()["dataset"]
    loaded = through_loader(case.request(), tmp_path, settings)
    assert isinstance(loaded, Dataset), loaded
    assert dataset["class_names"] == list(loaded.class_names) == case.classes
    assert dataset["kind"] == loaded.kind


@pytest.mark.slow
@pytest.mark.usefixtures("worker_process")
def test_the_accepted_uploads_audit_to_the_end(
    client, settings, admin, reviewer, audit_finished, tmp_path
):
    audited = [case for case in GOOD if case.audited]
    ids = {
        case.name: client.post("/audits", headers=admin, **case.request()).json()["id"]
        for case in audited
    }
    for case in audited:
        audit = audit_finished(client, reviewer, ids[case.name])
        assert audit["status"] == "succeeded", (case.name, audit)
        loaded = through_loader(case.request(), tmp_path, settings)
        assert isinstance(loaded, Dataset)
        summary = audit["summary"]
        assert summary["samples"] == loaded.n_samples
        assert sorted(summary["estimated_errors"]) == case.classes
        # The audit tells what the options left unset resolved to.
        if loaded.kind == "image":
            assert (summary["epochs"], summary["mode"], summary["image_size"]) == (
                2,
                "pooled",
                loaded.features.shape[1],
            )
            assert summary["plan"]["backbone"] == "efficientnet-lite0"
            assert summary["feature_seconds"] > 0
        else:
            assert (summary["epochs"], summary["mode"], summary["image_size"]) == (
                AuditConfig().plan(loaded.n_samples, is_image=False).epochs,
                "checked",
                None,
            )


@pytest.mark.slow
def test_the_cli_and_the_api_refuse_an_oversize_image_with_the_same_words(client, admin, tmp_path):
    members = {**class_images(), "ok/huge.png": png_claiming(7000, 7000)}
    (tmp_path / "huge.zip").write_bytes(archive(members))
    response = client.post("/audits", headers=admin, files={"file": ("huge.zip", archive(members))})
    message = response.json()["error"]["message"]
    completed = subprocess.run(
        [sys.executable, "-m", "labelaudit", "audit", "huge.zip"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert completed.returncode == 2
    assert completed.stderr.strip() == f"labelaudit: error: {message}"
    assert "7000x7000, over the limit of 40000000 pixels" in message
