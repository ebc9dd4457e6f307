"""The dashboard in headless Chromium, against `labelaudit serve` (embedded: SQLite and its
own worker) with a real audit of generated steel-surface images: sign in, upload, watch the
progress, read the overview, review with the keyboard, filter, bulk-apply, resolve a
conflict, export, re-audit, and see a reviewer's narrower view.

Screenshots go to test-artifacts/screenshots/. Without Playwright or Chromium the test
skips, unless LABELAUDIT_REQUIRE_SERVICES=1 (then it fails).
"""

from __future__ import annotations

import csv
import io
import re
import time
from pathlib import Path
from typing import Any

import pytest

from service.demo import generate_demo

from .browser import (
    IMAGES_LOADED,
    LAPTOP,
    TABLET,
    screenshot,
    sign_in,
    wait_until,
    watched,
)

# Each test drives Chromium against `labelaudit serve` and its worker.
pytestmark = pytest.mark.slow

AUDIT_NAME = "Steel surfaces, line 3"
EPOCHS = 20  # long enough (about 10 s on one CPU thread) to watch the progress bar move
# An audit row as the list shows it, read in one go: the row is redrawn as the audit moves on.
ROW_STATE = """id => {
    const row = document.querySelector(`tr[data-audit-id="${id}"]`);
    const bar = row.querySelector("[role=progressbar]");
    return {
        done: row.querySelector(".pill-succeeded") !== null,
        value: bar && Number(bar.getAttribute("aria-valuenow")),
        text: row.querySelector(".bar-text")?.textContent,
    };
}"""

# The pending samples not flagged whose confidence lies just above their class's k, closest
# first, as the API lists them (a real audit may have none).
NEAR_THRESHOLD_IDS = """async (auditId) => {
    const query = "flagged=false&near_threshold=true&order=margin&review=pending&limit=48";
    const answer = await fetch(`/audits/${auditId}/samples?${query}`,
                               { headers: { Accept: "application/json" } });
    return (await answer.json()).items.map((item) => item.sample_id);
}"""


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    """120 steel-surface images in five class folders, 12 of them in a wrong folder."""
    path = tmp_path / "steel-line-3.zip"
    path.write_bytes(generate_demo(per_class=24, wrong_share=0.1, seed=3).archive)
    return path


def test_review_an_audit_in_the_browser(browser, service, dataset):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    problems: list[str] = []
    context = watched(browser.new_context(viewport=LAPTOP, accept_downloads=True), problems)
    page = context.new_page()

    sign_in(page, service, service.admin_key)
    refuse_a_bad_upload(page, service, expect)
    audit_id = upload_and_watch_progress(page, dataset, expect)
    flagged = read_the_overview(page, expect)
    queue = open_the_queue(page, expect)
    review_with_the_keyboard(page, queue, expect)
    see_decisions_after_reload(page, queue, expect)
    another_reviewer_decided_first(page, service, audit_id, queue, expect)
    filter_the_queue(page, queue, expect)
    apply_one_decision_to_several(page, expect)
    check_the_tablet_layout(context, page.url, expect)
    export_both_csvs(page, flagged, queue, expect)
    reaudit_and_follow_the_link(page, audit_id, expect)
    sign_out(page, service, expect)
    context.close()
    reviewer_sees_no_admin_controls(browser, service, audit_id, problems, expect)
    assert problems == [], problems


def refuse_a_bad_upload(page, service, expect):
    upload = {"name": "notes.txt", "mimeType": "text/plain", "buffer": b"not a dataset"}
    with service.api(service.admin_key) as api:
        reason = api.post("/audits", files={"file": ("notes.txt", b"x")}).json()["error"]
    page.set_input_files("#upload-file", files=[upload])
    page.click("#upload-submit")
    expect(page.locator("#upload-error")).to_contain_text("The upload was refused")
    expect(page.locator("#upload-error")).to_contain_text(reason["message"])


def upload_and_watch_progress(page, dataset, expect) -> str:
    page.set_input_files("#upload-file", str(dataset))
    page.fill("#upload-name", AUDIT_NAME)
    page.fill("#upload-epochs", str(EPOCHS))
    page.click("#upload-submit")
    row = page.locator("#audit-rows tr", has_text=AUDIT_NAME)
    expect(row).to_be_visible()
    expect(page.locator("#upload-error")).to_be_hidden()
    audit_id = row.get_attribute("data-audit-id")

    seen: set[int] = set()
    texts: set[str] = set()
    shot = False
    deadline = time.monotonic() + 120
    while not (row_state := page.evaluate(ROW_STATE, audit_id))["done"]:
        assert time.monotonic() < deadline, "the audit did not finish in 2 minutes"
        if row_state["value"] is not None:
            seen.add(row_state["value"])
            texts.add(row_state["text"])
            if len(seen) >= 3 and not shot:
                screenshot(page, "list-running.png")
                shot = True
        page.wait_for_timeout(150)
    assert len(seen) >= 2, f"the progress bar never moved: {seen}"
    # The stage is named: the pretrained backbone's features, counted in images.
    features = r"Computing image features · \d+ of 120 images( · about .+ left)?"
    assert any(re.fullmatch(features, t) for t in texts), texts
    expect(row.locator(".num").first).to_have_text("120")
    return str(audit_id)


def read_the_overview(page, expect) -> int:
    page.click(f"text={AUDIT_NAME}")
    expect(page.locator("#audit-results")).to_be_visible()
    expect(page.locator("#summary-stats .stat")).to_have_count(5)
    flagged = int(
        page.locator(".stat:has(.stat-label:text-is('Flagged')) .stat-value").inner_text()
    )
    assert 5 <= flagged <= 40
    expect(page.locator("#errors-chart svg .bar-errors").first).to_be_visible()
    expect(page.locator("#confusion-chart svg .cell-value")).to_have_count(25)
    expect(page.locator("#confidence-chart svg")).to_contain_text(
        re.compile(r"k (per class )?0\.\d")
    )
    expect(page.locator("#confidence-chart svg")).to_contain_text("confidence in the given label")
    expect(page.locator("#review-chart")).to_contain_text(f"0 of {flagged} flagged samples")
    return flagged


def open_the_queue(page, expect) -> dict[str, Any]:
    page.click("#open-queue")
    cards = page.locator(".card")
    expect(cards.first).to_be_visible()
    expect(cards.first).to_be_focused()
    legend = page.locator("#class-legend li").all_inner_texts()
    classes = [re.sub(r"^\d\s*", "", text).strip() for text in legend]
    ids = [cards.nth(i).get_attribute("data-sample-id") for i in range(cards.count())]
    suggested = page.locator(".card .label-suggested").all_inner_texts()
    given = page.locator(".card .label-given").all_inner_texts()
    return {"classes": classes, "ids": ids, "suggested": suggested, "given": given}


def decision(page, sample_id):
    return page.locator(f".card[data-sample-id='{sample_id}'] .decision")


def focused(page) -> int:
    return page.evaluate(
        "[...document.querySelectorAll('.card')].findIndex(c => c.classList.contains('is-focused'))"
    )


def all_saved(page) -> None:
    wait_until(page, "() => !document.querySelector('.is-saving')")


def review_with_the_keyboard(page, queue, expect):
    ids, classes = queue["ids"], queue["classes"]
    page.keyboard.press("a")
    expect(decision(page, ids[0])).to_have_text(f"Accepted → {queue['suggested'][0]} · by admin")
    assert focused(page) == 1, "a decision moves on to the next sample"
    page.keyboard.press("k")
    expect(decision(page, ids[1])).to_have_text(f"Kept → {queue['given'][1]} · by admin")
    page.keyboard.press("x")
    expect(decision(page, ids[2])).to_have_text("Excluded · by admin")
    page.keyboard.press("2")
    expect(decision(page, ids[3])).to_have_text(f"Relabeled → {classes[1]} · by admin")
    all_saved(page)
    page.keyboard.press("u")
    expect(decision(page, ids[3])).to_have_text("Pending")
    assert focused(page) == 3, "undo returns to the sample it changed"
    all_saved(page)

    columns = page.evaluate(
        "getComputedStyle(document.getElementById('cards')).gridTemplateColumns.split(' ').length"
    )
    for key, expected in (
        ("j", 2),
        ("l", 3),
        ("ArrowRight", 4),
        ("ArrowLeft", 3),
        ("ArrowDown", 3 + columns),
        ("ArrowUp", 3),
    ):
        page.keyboard.press(key)
        assert focused(page) == expected, key
    expect(page.locator(".card").nth(3)).to_be_focused()
    expect(page.locator("#queue-summary")).to_contain_text("3 decided")
    page.evaluate("window.scrollTo(0, 0)")
    wait_until(page, IMAGES_LOADED)
    screenshot(page, "queue.png")

    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    expect(page.locator("#shortcuts")).to_contain_text("Undo the last decision")
    page.keyboard.press("Escape")
    expect(page.locator("#shortcuts")).to_be_hidden()

    page.keyboard.press("Enter")
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    expect(viewer.locator("h2")).to_have_text(ids[3])
    expect(viewer.locator(".stage-image")).to_have_attribute("src", re.compile(r"original=true$"))
    wait_until(page, "() => document.querySelector('#viewer .stage-image').complete")
    screenshot(page, "large-view.png")
    page.keyboard.press("l")
    expect(viewer.locator("h2")).to_have_text(ids[4])
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(page.locator(".card").nth(4)).to_be_focused()
    page.keyboard.press(" ")
    expect(viewer.locator("h2")).to_have_text(ids[4])
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()


def see_decisions_after_reload(page, queue, expect):
    ids = queue["ids"]
    page.reload()
    expect(decision(page, ids[0])).to_have_text(re.compile(r"^Accepted → "))
    expect(decision(page, ids[1])).to_have_text(re.compile(r"^Kept → "))
    expect(decision(page, ids[2])).to_have_text("Excluded · by admin")
    expect(decision(page, ids[3])).to_have_text("Pending")


def another_reviewer_decided_first(page, service, audit_id, queue, expect):
    sample_id = queue["ids"][5]
    with service.api(service.reviewer_key) as api:
        answer = api.post(
            f"/audits/{audit_id}/reviews",
            json={"items": [{"sample_id": sample_id, "action": "keep", "version": 0}]},
        )
        assert answer.status_code == 200, answer.text
    card = page.locator(f".card[data-sample-id='{sample_id}']")
    expect(card.locator(".decision")).to_have_text("Pending")  # the page has not seen it yet
    card.locator(".sample-name").click()
    page.keyboard.press("x")
    expect(card.locator(".decision")).to_have_text(re.compile(r"^Kept → .* · by reviewer-bob$"))
    expect(page.locator(".toast-warning")).to_contain_text("reviewer-bob changed")


def filter_the_queue(page, queue, expect):
    decided = set(queue["ids"][:3]) | {queue["ids"][5]}
    page.select_option("#filter-review", "done")
    expect(page.locator(".card")).to_have_count(4)
    assert {c.get_attribute("data-sample-id") for c in page.locator(".card").all()} == decided
    assert "review=done" in page.url, "filters are kept in the address"

    page.select_option("#filter-review", "pending")
    expect(page.locator(".card").first).to_be_visible()
    shown = {c.get_attribute("data-sample-id") for c in page.locator(".card").all()}
    assert shown and not shown & decided
    given = queue["classes"][0]
    page.select_option("#filter-given", given)
    expect(page.locator("#queue-status")).to_contain_text("shown")
    labels = page.locator(".card .label-given").all_inner_texts()
    assert all(label == given for label in labels), labels
    page.select_option("#filter-given", "")

    page.check("#filter-near")
    expect(page.locator("#queue-status")).not_to_have_text("Loading samples…")
    near = page.evaluate(NEAR_THRESHOLD_IDS, page.url.split("/")[-2])
    assert [c.get_attribute("data-sample-id") for c in page.locator(".card").all()] == near
    page.uncheck("#filter-near")
    expect(page.locator(".card").first).not_to_contain_text("not flagged")


def apply_one_decision_to_several(page, expect):
    cards = page.locator(".card")
    expect(cards.nth(2)).to_be_visible()
    chosen = [cards.nth(i).get_attribute("data-sample-id") for i in range(3)]
    cards.nth(0).locator("input.select").click()
    cards.nth(2).locator("input.select").click(modifiers=["Shift"])
    expect(page.locator("#bulk-count")).to_have_text("3 selected")
    page.click("[data-bulk=accept]")
    expect(page.locator("#bulk-bar")).to_be_hidden()
    for sample_id in chosen:
        expect(decision(page, sample_id)).to_have_text(re.compile(r"^Accepted → .* · by admin$"))
    all_saved(page)


def check_the_tablet_layout(context, url, expect):
    tablet = context.new_page()
    tablet.set_viewport_size(TABLET)
    tablet.goto(url)
    expect(tablet.locator(".card").first).to_be_visible()
    wait_until(tablet, IMAGES_LOADED)
    overflow = tablet.evaluate("document.documentElement.scrollWidth > window.innerWidth")
    assert not overflow, "the queue fits a tablet's width"
    screenshot(tablet, "queue-tablet.png")
    tablet.close()


def download_csv(page, selector) -> list[dict[str, str]]:
    with page.expect_download() as download:
        page.click(selector)
    content = Path(download.value.path()).read_text()
    return list(csv.DictReader(io.StringIO(content)))


def export_both_csvs(page, flagged, queue, expect):
    page.click(".breadcrumbs a >> nth=1")
    expect(page.locator("#export-suspects")).to_be_visible()
    expect(page.locator("#review-chart")).to_contain_text(f"7 of {flagged} flagged samples")
    screenshot(page, "overview.png", full_page=True)
    suspects = download_csv(page, "#export-suspects")
    assert len(suspects) == flagged
    by_id = {row["sample_id"]: row for row in suspects}
    assert by_id[queue["ids"][0]]["action"] == "accept"
    assert by_id[queue["ids"][2]]["action"] == "exclude"
    assert by_id[queue["ids"][5]]["reviewed_by"] == "reviewer-bob"
    assert sum(1 for row in suspects if row["action"]) == 7
    corrected = download_csv(page, "#export-corrected")
    assert len(corrected) == 120
    excluded = [row["sample_id"] for row in corrected if row["excluded"] == "true"]
    assert excluded == [queue["ids"][2]]


def reaudit_and_follow_the_link(page, audit_id, expect):
    # Some flagged samples are still pending: the re-audit asks first.
    page.once("dialog", lambda dialog: dialog.accept())
    page.click("#reaudit")
    link = page.locator("#reaudit-link")
    expect(link).to_be_visible()
    link.click()
    page.wait_for_url(re.compile(r"/audits/[0-9a-f-]{36}$"))
    assert audit_id not in page.url
    expect(page.locator("#audit-notices")).to_contain_text("Re-audit of the previous audit")
    expect(page.locator("#audit-notices")).to_contain_text("1 sample excluded")
    expect(page.locator("#audit-name")).to_have_text(f"{AUDIT_NAME} (re-audit)")
    page.click(".brand")
    expect(page.locator("#audit-rows tr")).to_have_count(2)
    expect(page.locator("#audit-rows tr .tag")).to_have_text("re-audit")
    screenshot(page, "list.png")


def sign_out(page, service, expect):
    page.click("text=Sign out")
    page.wait_for_url(re.compile(r"/sign-in$"))
    page.goto(f"{service.url}/")
    expect(page.locator("#key")).to_be_visible()


def reviewer_sees_no_admin_controls(browser, service, audit_id, problems, expect):
    context = watched(browser.new_context(viewport=LAPTOP), problems)
    page = context.new_page()
    sign_in(page, service, service.reviewer_key)
    expect(page.locator("#audit-rows tr").first).to_be_visible()
    expect(page.locator("#upload-form")).to_have_count(0)
    expect(page.locator("#audit-rows button", has_text="Delete")).to_have_count(0)
    page.goto(f"{service.url}/audits/{audit_id}")
    expect(page.locator("#export-suspects")).to_be_visible()
    expect(page.locator("#reaudit")).to_have_count(0)
    expect(page.locator("#delete-audit")).to_have_count(0)
    refused_decisions_roll_back(page, service, audit_id, expect)
    context.close()


def refused_decisions_roll_back(page, service, audit_id, expect):
    """The admin deletes the audit while the reviewer works: the next decision is shown at
    once, refused by the server, and taken back with the server's reason."""
    page.click("#open-queue")
    # The queue opens at the first pending card.
    current = page.locator(".card.is-focused")
    expect(current).to_be_focused()
    first = page.locator(f".card[data-sample-id='{current.get_attribute('data-sample-id')}']")
    before = first.locator(".decision").inner_text()
    with service.api(service.admin_key) as api:
        assert api.delete(f"/audits/{audit_id}").status_code == 204
    page.keyboard.press("k")
    expect(page.locator(".toast-error")).to_contain_text(f"Not saved: no audit {audit_id}")
    expect(first.locator(".decision")).to_have_text(before)
