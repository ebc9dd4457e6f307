"""The audits list names the stage a running audit is in. In combined and checked mode the
held-out models train after the model of every sample, for other epochs: without their
name the list showed "Epoch 40 of 40", then "Epoch 3 of 20"."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

from tests.seeding import write_audit

from .browser import LAPTOP, screenshot, sign_in, watched

# Each test drives Chromium against `labelaudit serve`.
pytestmark = pytest.mark.slow

ROW_TEXT = """id => document.querySelector(`tr[data-audit-id="${id}"] .bar-text`)?.textContent"""


def running_audit(service: Any, name: str, progress: dict[str, Any]) -> str:
    """An audit a worker is running, at ``progress``, stored in the service's database with
    a lease far from expiring (so no sweeper hands it on)."""
    from service.config import Settings
    from service.db import Database, utcnow

    settings = Settings.model_validate({"LABELAUDIT_DATA_DIR": str(service.data_dir)})
    database = Database(settings.resolved_database_url)
    now = utcnow()
    try:
        audit_id = write_audit(
            database,
            [],
            name=name,
            status="running",
            upload_filename="steel.zip",
            upload_kind="zip",
            dataset_kind="image",
            class_names=None,
            summary=None,
            progress=progress,
            attempt=1,
            worker_host="worker-1",
            started_at=now,
            heartbeat_at=now,
            lease_expires_at=now + timedelta(hours=1),
        )
    finally:
        database.engine.dispose()
    return str(audit_id)


def test_the_list_names_the_held_out_phase(browser, service):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    held_out = "Held-out models, fold 1 of 2 · epoch 3 of 20 · about 12 s left"
    stages = {
        "Training · epoch 40 of 40 · about 3 min 20 s left": {
            "stage": "training",
            "epoch": 40,
            "epochs": 40,
            "fraction": 0.5,
            "eta_seconds": 200,
        },
        held_out: {
            "stage": "held-out fold 1/2",
            "epoch": 3,
            "epochs": 20,
            "fraction": 0.6,
            "eta_seconds": 12,
        },
        "Cross-validation, fold 2 of 5 · epoch 7 of 20": {
            "stage": "fold 2/5",
            "epoch": 7,
            "epochs": 20,
            "fraction": 0.3,
        },
        "Flagging suspects": {"stage": "flagging", "epoch": 0, "epochs": 0, "fraction": 1.0},
    }
    audits = {
        text: running_audit(service, f"Steel line {i}", progress)
        for i, (text, progress) in enumerate(stages.items(), start=1)
    }
    problems: list[str] = []
    context = watched(browser.new_context(viewport=LAPTOP), problems)
    page = context.new_page()
    sign_in(page, service, service.admin_key)
    for text, audit_id in audits.items():
        row = page.locator(f'tr[data-audit-id="{audit_id}"]')
        expect(row.locator(".bar-text")).to_have_text(text)
        expect(row.locator("[role=progressbar]")).to_have_attribute("aria-valuetext", text)
    page.locator(".table-panel").evaluate("panel => panel.scrollIntoView()")
    screenshot(page, "list-held-out-phase.png")
    context.close()
    assert problems == [], problems
