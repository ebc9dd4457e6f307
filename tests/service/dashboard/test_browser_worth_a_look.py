"""A round-two audit that flags nothing, in headless Chromium against `labelaudit serve`:
the overview does not read as "clean". It says the estimate expected wrong labels and none
were flagged, and shows the worth-a-look samples (formats.worth_a_look) under a heading
that says they are not flagged, with their evidence; its button opens them in the review
queue, where they can be decided.

Screenshots go to test-artifacts/screenshots/ (worth-a-look-*.png).
"""

from __future__ import annotations

import numpy as np
import pytest

from formats.evidence import history_blobs, top_class_blobs
from formats.worth_a_look import WORTH_A_LOOK_TITLE
from tests.seeding import DEFAULT_SUMMARY, write_audit

from .browser import DESKTOP, PHONE, screenshot, sign_in, watched

# Each test drives Chromium against `labelaudit serve`.
pytestmark = pytest.mark.slow

SAMPLES = 400
EPOCHS = 12
WINDOW = 4
ROUNDS = {"round": 2, "resolved": 9, "still_flagged": 0, "disputed": 0, "new_suspects": 0}


def nearly_clean_samples() -> list[dict]:
    """400 parts, none flagged: the first rows are the ones the model trusts least (their
    given label's probability climbs to about 0.3, the model prefers the other class)."""
    rows = np.arange(SAMPLES)
    suspicion = np.clip(0.75 - rows / 40, 0.02, None)
    curves = np.clip(
        np.linspace(0.2, 1.0, EPOCHS)[:, None] * (1 - suspicion)[None, :] + 0.05, 0.0, 1.0
    )
    histories = history_blobs(curves)
    window_given = curves[-WINDOW:].mean(axis=0)
    given = np.where(rows % 3 == 0, 1, 0)
    names = ("bolt", "nut")
    top = np.stack([1 - given, given], axis=1)
    top[window_given >= 0.5] = top[window_given >= 0.5][:, ::-1]
    probabilities = np.stack([np.maximum(window_given, 1 - window_given)] * 2, axis=1)
    probabilities[:, 1] = 1 - probabilities[:, 0]
    tops = top_class_blobs(top, probabilities)
    return [
        {
            "sample_id": f"{names[given[row]]}-{row:04d}",
            "given_label": names[given[row]],
            "suggested_label": names[top[row, 0]],
            "confidence": float(window_given[row]),
            "score": float(1 - curves[:, row].mean()),
            "flagged": False,
            "features": [round(20 + 3 * np.sin(row), 2), round(4 + np.cos(row), 2)],
            "history": histories[row],
            "top_classes": tops[row],
        }
        for row in rows
    ]


@pytest.fixture(scope="module")
def round_two(service) -> str:
    """A re-audit (round 2) of a parent audit, stored in the service's database as a
    worker stores one: 0 flagged, 3 wrong labels expected; returns its id."""
    from service.config import Settings
    from service.db import Database

    settings = Settings.model_validate({"LABELAUDIT_DATA_DIR": str(service.data_dir)})
    database = Database(settings.resolved_database_url)
    summary = {
        **DEFAULT_SUMMARY,
        "samples": SAMPLES,
        "flagged": 0,
        "estimated_errors": {"bolt": 2, "nut": 1},
        "thresholds": {"bolt": 0.12, "nut": 0.1},
        "seconds": 9.5,
        "window": WINDOW,
        "epochs": EPOCHS,
        "feature_names": ["length_mm", "mass_g"],
    }
    try:
        parent = write_audit(database, [], name="Fasteners, round 1")
        return str(
            write_audit(
                database,
                nearly_clean_samples(),
                name="Fasteners, round 2",
                parent_id=parent,
                corrections={"relabel": {"nut-0003": "bolt"}, "exclude": [], "round": 2},
                config={"loss": "tgce"},
                summary={**summary, "rounds": ROUNDS},
            )
        )
    finally:
        database.engine.dispose()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_nothing_flagged_offers_the_samples_worth_a_look(browser, service, round_two, viewport):
    from playwright.sync_api import expect

    name = "desktop" if viewport is DESKTOP else "phone"
    problems: list[str] = []
    context = watched(browser.new_context(viewport=viewport), problems)
    page = context.new_page()
    sign_in(page, service, service.reviewer_key)
    page.goto(f"{service.url}/audits/{round_two}")

    panel = page.locator("#worth-a-look")
    expect(panel).to_be_visible()
    expect(panel.locator("h2")).to_have_text(WORTH_A_LOOK_TITLE)
    claim = "Nothing was flagged, and the estimate expects 3 wrong labels."
    expect(page.locator("#worth-claim")).to_contain_text(f"{claim} That does not make")
    expect(page.locator("#round-claim")).to_have_text(claim)
    expect(page.locator("#round-summary")).not_to_contain_text("null")
    expect(page.locator("#review-chart")).not_to_contain_text("nothing to review")
    flagged = page.locator(".stat:has(.stat-label:text-is('Flagged'))")
    expect(flagged).to_contain_text("of 3 expected from the estimate")
    # Nothing flagged: no button to an empty queue; the list's button instead.
    expect(page.locator("#open-queue")).to_be_hidden()

    cards = panel.locator(".card")
    expect(cards).to_have_count(10)
    expect(cards.first).to_have_attribute("data-sample-id", "nut-0000")
    for index in range(10):
        card = cards.nth(index)
        expect(card.locator(".worth-tag")).to_have_text("Not flagged")
        expect(card.locator(".scores")).to_contain_text("not flagged")
        expect(card.locator(".confidence-chart.is-spark polyline.curve")).to_be_visible()
        expect(card.locator(".reason")).to_contain_text("above k = 0.1")
    screenshot(page, f"worth-a-look-{name}.png", full_page=True)

    page.click("#review-worth")
    page.wait_for_url(f"{service.url}/audits/{round_two}/review?worth=1")
    expect(page.locator("#filter-worth")).to_be_checked()
    expect(page.locator("#cards .card")).to_have_count(10)
    expect(page.locator("#queue-status")).to_have_text("All 10 samples shown.")
    expect(page.locator("#cards .card").first).to_have_attribute("data-sample-id", "nut-0000")
    assert problems == []
    context.close()
