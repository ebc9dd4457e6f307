"""The review queue's slicing and resuming, and the round-aware re-audit, in headless
Chromium against `labelaudit serve` with a real audit of generated steel-surface images:
a heat-map cell or an error bar opens the queue filtered, a reload resumes at the first
pending card, cards are selected from the keyboard and decided in one batch with one undo,
and a re-audit asks before leaving decisions pending and marks the earlier round's decisions.

Screenshots go to test-artifacts/screenshots/ (desktop 1440×900 and phone 390×844).
"""

from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from service.demo import generate_demo

from .browser import DESKTOP, IMAGES_LOADED, PHONE, screenshot, sign_in, wait_until, watched

EPOCHS = 10


def finished(api: Any, audit_id: str) -> dict[str, Any]:
    deadline = time.monotonic() + 180
    while (audit := api.get(f"/audits/{audit_id}").json())["status"] in ("queued", "running"):
        assert time.monotonic() < deadline, f"audit {audit_id} did not finish: {audit}"
        time.sleep(0.3)
    assert audit["status"] == "succeeded", audit
    return audit


@pytest.fixture(scope="module")
def audit(service) -> dict[str, Any]:
    """A finished audit of 120 generated images, 12 of them in a wrong class folder."""
    archive = generate_demo(per_class=24, wrong_share=0.1, seed=3).archive
    with service.api(service.admin_key) as api:
        created = api.post(
            "/audits",
            files={"file": ("steel.zip", archive)},
            data={"config": json.dumps({"name": "Steel, queue", "epochs": EPOCHS})},
        )
        assert created.status_code == 202, created.text
        return finished(api, created.json()["id"])


@pytest.fixture
def expect(browser) -> Any:
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    return expect


@pytest.fixture
def page(browser, service):
    problems: list[str] = []
    context = watched(browser.new_context(viewport=DESKTOP), problems)
    page = context.new_page()
    sign_in(page, service, service.admin_key)
    yield page
    context.close()
    assert problems == [], problems


def cards(page) -> list[str]:
    return page.eval_on_selector_all(".card", "cards => cards.map(c => c.dataset.sampleId)")


def focused(page) -> str | None:
    return page.evaluate("document.querySelector('.card.is-focused')?.dataset.sampleId ?? null")


def decision(page, sample_id):
    return page.locator(f".card[data-sample-id='{sample_id}'] .decision")


def all_saved(page) -> None:
    wait_until(page, "() => !document.querySelector('.is-saving')")


def open_queue(page, service, audit_id: str, query: str = "") -> None:
    page.goto(f"{service.url}/audits/{audit_id}/review{query}")
    wait_until(page, "() => document.querySelector('.card.is-focused') !== null")


def test_a_reload_resumes_at_the_first_pending_card(page, service, audit, expect):
    open_queue(page, service, audit["id"])
    shown = cards(page)
    assert focused(page) == shown[0]
    for key in ("a", "k", "x"):
        page.keyboard.press(key)
    all_saved(page)
    page.reload()
    wait_until(page, "() => document.querySelector('.card.is-focused') !== null")
    assert focused(page) == shown[3], "the queue opens at the first card still pending"
    expect(page.locator(".card").nth(3)).to_be_focused()
    expect(decision(page, shown[3])).to_have_text("Pending")


def test_a_decision_key_applies_to_the_shift_selected_cards(page, service, audit, expect):
    open_queue(page, service, audit["id"], "?review=pending")
    shown = cards(page)
    page.locator(".card").nth(0).locator("input.select").click()
    page.locator(".card").nth(2).locator("input.select").click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    page.locator(".card").nth(2).locator(".sample-name").click()
    page.keyboard.press("a")
    for sample_id in shown[:3]:
        expect(decision(page, sample_id)).to_have_text(re.compile(r"^Accepted → .* · by admin$"))
    expect(decision(page, shown[3])).to_have_text("Pending")
    expect(page.locator(".toast").last).to_contain_text("3 decisions saved")
    expect(page.locator("#bulk-bar")).to_be_hidden()
    all_saved(page)
