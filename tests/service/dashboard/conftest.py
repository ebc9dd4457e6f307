import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import service_missing
from tests.seeding import DEFAULT_SUMMARY, write_audit
from tests.service.embedded import embedded_environment, free_port, start_serve, wait_for_text

from .browser import CHROMIUM, CHROMIUM_ARGS, Service, ready


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        service_missing("Playwright is not installed (pip install -e '.[dev]')")
    if not CHROMIUM.exists():
        service_missing(f"Chromium is missing at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    """`labelaudit serve` on a free port and a fresh data directory, as a user runs it."""
    root = tmp_path_factory.mktemp("dashboard")
    environment = embedded_environment(root / "var")
    port = free_port()
    process, log_path = start_serve(root, port, environment)
    try:
        printed = wait_for_text(log_path, "shown only now", process, timeout=60)
        admin_key = re.search(r"shown only now\): (\S+)", printed).group(1)  # type: ignore[union-attr]
        reviewer_key = subprocess.run(
            [sys.executable, "-m", "labelaudit", "keys", "create"]
            + ["--name", "reviewer-bob", "--role", "reviewer"],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        ).stdout.strip()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while not ready(url):
            assert time.monotonic() < deadline, f"never ready:\n{log_path.read_text()[-3000:]}"
            time.sleep(0.2)
        yield Service(url, admin_key, reviewer_key, root / "var")
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=30)


@pytest.fixture
def finished_audit(database):
    """A succeeded table audit written as a worker would: eight samples with confidences
    0.05, 0.15, ... 0.75 (the first four flagged, k = 0.5) and two feature values each."""
    samples = [
        {
            "confidence": 0.05 + 0.1 * row,
            "score": 0.95 - 0.1 * row,
            "flagged": row < 4,
            "features": [10.0 + row, 2.5],
        }
        for row in range(8)
    ]
    summary = {
        **DEFAULT_SUMMARY,
        "samples": 8,
        "flagged": 4,
        "estimated_errors": {"bolt": 3, "nut": 1},
        "thresholds": {"bolt": 0.5, "nut": 0.5},
        "confusion": [{"given": "bolt", "suggested": "nut", "count": 4}],
        "seconds": 2.0,
        "feature_names": ["length_mm", "mass_g"],
    }
    audit_id = write_audit(
        database,
        samples,
        name="Bolts <batch 7>",
        config={"k": 0.5, "loss": "tgce", "epochs": 8},
        upload_filename="bolts.csv",
        upload_size=100,
        created_by="admin-alice",
        summary=summary,
    )
    return str(audit_id)
