"""The review queue's slicing and resuming, and the round-aware re-audit, in headless
Chromium against `labelaudit serve` with a real audit of generated steel-surface images:
a heat-map cell or an error bar opens the queue filtered, a reload resumes at the first
pending card, cards are selected from the keyboard and decided in one batch with one undo,
and a re-audit asks before leaving samples pending and marks the earlier round's decisions.

Screenshots go to test-artifacts/screenshots/ (desktop 1440×900 and phone 390×844).
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from service.demo import generate_demo

from .browser import (
    DESKTOP,
    IMAGES_LOADED,
    PHONE,
    audit_upload,
    finished,
    screenshot,
    sign_in,
    wait_until,
    watched,
)

# Each test drives Chromium against `labelaudit serve` and its worker.
pytestmark = pytest.mark.slow

EPOCHS = 10


@pytest.fixture(scope="module")
def audit(service) -> dict[str, Any]:
    """A finished audit of 120 generated images, 24 of them in a wrong class folder."""
    archive = generate_demo(per_class=24, wrong_share=0.2, seed=3).archive
    return audit_upload(service, archive, {"name": "Steel, queue", "epochs": EPOCHS})


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


def test_the_overview_opens_the_queue_filtered(page, service, audit, expect):
    page.goto(f"{service.url}/audits/{audit['id']}")
    cells = page.locator("#confusion-chart a.cell-link")
    expect(cells.first).to_be_visible()
    busiest = max(audit["summary"]["confusion"], key=lambda cell: cell["count"])
    pair = f"{busiest['count']} flagged {busiest['given']} → {busiest['suggested']}"
    page.locator(f"#confusion-chart a[aria-label='{pair}: review them']").click()
    page.wait_for_url(re.compile(r"/review\?"))
    wait_until(page, "() => document.querySelector('.card.is-focused') !== null")
    expect(page.locator("#filter-given")).to_have_value(busiest["given"])
    expect(page.locator("#filter-suggested")).to_have_value(busiest["suggested"])
    expect(page.locator(".card")).to_have_count(busiest["count"])
    assert set(page.locator(".card .label-given").all_inner_texts()) == {busiest["given"]}
    assert set(page.locator(".card .label-suggested").all_inner_texts()) == {busiest["suggested"]}
    page.reload()
    expect(page.locator(".card")).to_have_count(busiest["count"])

    page.goto(f"{service.url}/audits/{audit['id']}")
    expect(page.locator("#errors-chart a.bar-link").first).to_be_visible()
    worst = max(audit["summary"]["estimated_errors"].items(), key=lambda item: item[1])[0]
    page.locator(f"#errors-chart a[aria-label^='{worst} ']").click()
    page.wait_for_url(re.compile(rf"/review\?given={worst}$"))
    expect(page.locator("#filter-given")).to_have_value(worst)
    expect(page.locator(".card").first).to_be_visible()
    assert set(page.locator(".card .label-given").all_inner_texts()) == {worst}

    page.goto(f"{service.url}/audits/{audit['id']}")
    expect(page.locator("#confusion-chart a.cell-link").first).to_be_visible()
    screenshot(page, "overview-links-desktop.png", full_page=True)
    page.set_viewport_size(PHONE)
    page.locator("#confusion-chart").scroll_into_view_if_needed()
    screenshot(page, "overview-links-phone.png")


def test_select_and_decide_from_the_keyboard(page, service, audit, expect):
    open_queue(page, service, audit["id"], "?review=pending")
    expect(page.locator("#filter-disputed")).to_be_hidden()
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_contain_text("Extend the selection")
    expect(page.locator("#shortcuts")).to_contain_text("decide all selected samples")
    screenshot(page, "shortcuts-desktop.png")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()
    shown = cards(page)
    assert focused(page) == shown[0]
    page.keyboard.press("s")
    expect(page.locator("#bulk-count")).to_have_text("1 selected")
    page.keyboard.press("Shift+ArrowRight")
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    assert focused(page) == shown[2]
    wait_until(page, IMAGES_LOADED)
    screenshot(page, "queue-selection-desktop.png")
    page.keyboard.press("k")
    for sample_id in shown[:3]:
        expect(decision(page, sample_id)).to_have_text(re.compile(r"^Kept → .* · by admin$"))
    expect(decision(page, shown[3])).to_have_text("Pending")
    expect(page.locator(".toast").last).to_contain_text("3 decisions saved")
    all_saved(page)
    page.keyboard.press("u")
    for sample_id in shown[:3]:
        expect(decision(page, sample_id)).to_have_text("Pending")
    expect(page.locator(".toast").last).to_contain_text("3 decisions undone")
    all_saved(page)
    page.keyboard.press("u")
    expect(page.locator(".toast").last).to_contain_text("Nothing to undo")

    # s again unselects; Escape drops a selection.
    page.keyboard.press("s")
    page.keyboard.press("s")
    expect(page.locator("#bulk-bar")).to_be_hidden()
    page.keyboard.press("s")
    page.keyboard.press("Shift+ArrowRight")
    expect(page.locator("#bulk-count")).to_have_text("2 selected")
    page.keyboard.press("Escape")
    expect(page.locator("#bulk-bar")).to_be_hidden()

    # A search by sample id and a reviewer filter, kept in the address.
    name = shown[-1].split("/")[-1]
    page.fill("#filter-search", name.upper())
    expect(page.locator(".card")).to_have_count(1)
    assert cards(page) == [shown[-1]] and f"search={name.upper()}" in page.url
    page.fill("#filter-search", "")
    page.select_option("#filter-review", "accept")
    page.fill("#filter-reviewer", "admin")
    expect(page.locator(".card").first).to_be_visible()
    texts = page.locator(".card .decision").all_inner_texts()
    assert texts and all(re.match(r"^Accepted → .* · by admin$", t) for t in texts), texts
    page.fill("#filter-reviewer", "nobody")
    expect(page.locator("#queue-status")).to_have_text("No samples match these filters.")

    phone = page.context.new_page()
    phone.set_viewport_size(PHONE)
    open_queue(phone, service, audit["id"], "?review=pending")
    phone.keyboard.press("s")
    phone.keyboard.press("Shift+ArrowRight")
    expect(phone.locator("#bulk-count")).to_have_text("2 selected")
    wait_until(phone, IMAGES_LOADED)
    screenshot(phone, "queue-selection-phone.png")
    overflow = phone.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the queue's filters fit a phone's width"
    phone.close()


class Confirmations:
    """Answers every confirm() of a page with ``accept`` and keeps its question."""

    def __init__(self, page: Any) -> None:
        self.asked: list[str] = []
        self.accept = True
        page.on("dialog", self.answer)

    def answer(self, dialog: Any) -> None:
        self.asked.append(dialog.message)
        if self.accept:
            dialog.accept()
        else:
            dialog.dismiss()


def test_a_reaudit_asks_and_marks_the_earlier_round(page, service, audit, expect):
    with service.api(service.admin_key) as api:
        # A reviewer's mistakes: three confidently right samples relabeled to another class,
        # which the model should flag again in the next round.
        rows = api.get(
            f"/audits/{audit['id']}/samples", params={"flagged": "false", "limit": 200}
        ).json()["items"]
        sure = sorted(rows, key=lambda sample: -sample["confidence"])[:3]
        classes = audit["dataset"]["class_names"]
        items = [
            {
                "sample_id": sample["sample_id"],
                "action": "relabel",
                "label": next(name for name in classes if name != sample["given_label"]),
            }
            for sample in sure
        ]
        assert api.post(f"/audits/{audit['id']}/reviews", json={"items": items}).is_success
        pending = api.get(f"/audits/{audit['id']}/statistics").json()["flagged_reviews"]["pending"]
    assert pending > 0

    confirm = Confirmations(page)
    asked = confirm.asked
    page.goto(f"{service.url}/audits/{audit['id']}")
    expect(page.locator("#reaudit")).to_be_visible()
    page.click("#reaudit")
    link = page.locator("#reaudit-link")
    expect(link).to_be_visible()
    assert len(asked) == 1 and f"{pending} flagged samples are still pending" in asked[0], asked
    expect(page.locator("#audit-notices")).to_contain_text("decisions applied")
    page.click("#reaudit")  # the same decisions: the same re-audit, not a twin
    expect(page.locator("#reaudit-link")).to_have_count(2)
    hrefs = {a.get_attribute("href") for a in page.locator("#reaudit-link").all()}
    assert len(hrefs) == 1, hrefs
    child_id = hrefs.pop().rsplit("/", 1)[-1]
    with service.api(service.admin_key) as api:
        child = finished(api, child_id)
    rounds = child["summary"]["rounds"]
    assert rounds["round"] == 2 and rounds["disputed"] >= 1, rounds

    page.goto(f"{service.url}/audits/{child_id}")
    summary = page.locator("#round-summary")
    expect(summary).to_be_visible()
    expect(summary.locator("h2")).to_have_text("Round 2 against round 1")
    for label, key in (
        ("Resolved", "resolved"),
        ("Still flagged", "still_flagged"),
        ("Decisions disputed", "disputed"),
        ("New suspects", "new_suspects"),
    ):
        tile = summary.locator(f".stat:has(.stat-label:text-is('{label}')) .stat-value")
        expect(tile).to_have_text(str(rounds[key]))
    screenshot(page, "round-summary-desktop.png", full_page=True)

    # The child has no decision yet: a re-audit of it says so, and is not started.
    confirm.accept = False
    page.click("#reaudit")
    expect(page.locator("#reaudit")).to_be_enabled()
    assert asked and asked[-1].startswith("No sample has a decision yet"), asked
    expect(page.locator("#reaudit-link")).to_have_count(0)

    page.click("#review-disputed")
    page.wait_for_url(re.compile(r"/review\?disputed=1$"))
    expect(page.locator("#filter-disputed")).to_be_checked()
    expect(page.locator(".card")).to_have_count(rounds["disputed"])
    markers = page.locator(".card .prior").all_inner_texts()
    assert len(markers) == rounds["disputed"], markers
    assert all(re.search(r"by admin, round 1$", text) for text in markers), markers
    wait_until(page, IMAGES_LOADED)
    screenshot(page, "queue-disputed-desktop.png")

    phone = page.context.new_page()
    phone.set_viewport_size(PHONE)
    phone.goto(f"{service.url}/audits/{child_id}")
    expect(phone.locator("#round-summary")).to_be_visible()
    phone.locator("#round-summary").scroll_into_view_if_needed()
    screenshot(phone, "round-summary-phone.png")
    open_queue(phone, service, child_id, "?disputed=1")
    wait_until(phone, IMAGES_LOADED)
    screenshot(phone, "queue-disputed-phone.png")
    phone.close()
