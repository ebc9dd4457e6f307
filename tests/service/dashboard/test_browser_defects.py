"""Defects of the dashboard found in a user's walk-through, each checked in headless
Chromium against `labelaudit serve`: the API docs without internet, the keys after a filter
change, the audits list on a phone, the bulk bar's contrast, accessible names, and the
upload form's column fields. Screenshots go to test-artifacts/screenshots/."""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest

from service.demo import generate_demo

from .browser import (
    DESKTOP,
    PHONE,
    Service,
    audit_upload,
    screenshot,
    sign_in,
    wait_until,
    watched,
)

# Each test drives Chromium against `labelaudit serve` and its worker.
pytestmark = pytest.mark.slow

AUDIT_NAME = "Steel surfaces, a long name for a narrow screen"
# The accessible name of every visible button and link, and its visible text without the
# key hints (<kbd>, announced through aria-keyshortcuts instead).
NAMES_AND_TEXTS = """() => {
    document.querySelectorAll("[data-name-check]").forEach((element) => {
        delete element.dataset.nameCheck;
    });
    return [...document.querySelectorAll("a[href], button, [role=button]")]
    .filter((element) => element.checkVisibility() && element.getClientRects().length > 0)
    .map((element, index) => {
        element.dataset.nameCheck = String(index);
        const copy = element.cloneNode(true);
        // Key hints and SVG tooltips are not what the element shows.
        copy.querySelectorAll("kbd, title").forEach((hidden) => hidden.remove());
        // Separate SVG labels are separate words ("crazing" and its count "4").
        copy.querySelectorAll("text").forEach((label) => label.append(" "));
        return [String(index), copy.textContent.replace(/\\s+/g, " ").trim()];
    });
}"""
# The colour of an element's text and of the first background behind it that is not
# transparent, as [r, g, b] in 0..255.
COLOURS = """(element) => {
    const rgb = (text) => text.match(/[\\d.]+/g).map(Number);
    let behind = element;
    while (behind && rgb(getComputedStyle(behind).backgroundColor)[3] === 0) {
        behind = behind.parentElement;
    }
    const background = behind ? getComputedStyle(behind).backgroundColor : "rgb(255, 255, 255)";
    return { text: rgb(getComputedStyle(element).color), background: rgb(background) };
}"""


@pytest.fixture(scope="module")
def audit_id(service: Service) -> str:
    """A finished audit of 60 generated steel-surface images, uploaded through the API."""
    archive = generate_demo(per_class=12, wrong_share=0.15, seed=5).archive
    config = {"name": AUDIT_NAME, "epochs": 6, "window": 3}
    return str(audit_upload(service, archive, config)["id"])


@pytest.fixture
def page(browser: Any, service: Service) -> Iterator[Any]:
    """A signed-in admin's page at desktop size; fails on script errors and CSP violations."""
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    problems: list[str] = []
    context = watched(browser.new_context(viewport=DESKTOP, accept_downloads=True), problems)
    page = context.new_page()
    sign_in(page, service, service.admin_key)
    yield page
    context.close()
    assert problems == [], problems


def test_the_api_docs_work_without_internet_and_no_page_names_another_host(page, service, audit_id):
    from playwright.sync_api import expect

    own_host = urlsplit(service.url).netloc
    elsewhere: list[str] = []

    def only_our_host(route: Any) -> None:
        if urlsplit(route.request.url).netloc == own_host:
            route.continue_()
        else:
            elsewhere.append(route.request.url)
            route.abort()

    page.context.route("**/*", only_our_host)
    page.goto(f"{service.url}/docs")
    expect(page.locator(".opblock").first).to_be_visible()
    path = page.locator(".opblock-summary-path", has_text="/audits/{audit_id}/samples")
    expect(path.first).to_be_visible()
    screenshot(page, "docs.png")
    page.set_viewport_size(PHONE)
    screenshot(page, "docs-phone.png")
    page.set_viewport_size(DESKTOP)
    # Swagger UI only: ReDoc's page links to its maker's site.
    assert page.goto(f"{service.url}/redoc").status == 404
    for path in (
        "/docs",
        "/",
        f"/audits/{audit_id}",
        f"/audits/{audit_id}/review",
        "/sign-in",
    ):
        answer = page.goto(f"{service.url}{path}")
        assert answer.ok, f"{path}: {answer.status}"
        page.wait_for_load_state("networkidle")
        hosts = page.evaluate(
            """() => [...document.querySelectorAll("[src], [href]")].map((element) =>
                new URL(element.getAttribute("src") ?? element.getAttribute("href"), location.href)
                    .host)"""
        )
        others = {host for host in hosts if host != own_host}
        assert not others, f"{path} names {others}"
    assert elsewhere == [], elsewhere


def test_after_a_filter_change_the_first_key_decides(page, service, audit_id):
    from playwright.sync_api import expect

    page.goto(f"{service.url}/audits/{audit_id}/review")
    expect(page.locator(".card").first).to_be_focused()
    page.select_option("#filter-review", "pending")
    first = page.locator(".card").first
    expect(first).to_be_focused()
    sample_id = first.get_attribute("data-sample-id")
    page.keyboard.press("k")
    expect(page.locator("#filter-review")).to_have_value("pending")
    card = page.locator(f".card[data-sample-id='{sample_id}'] .decision")
    expect(card).to_have_text(re.compile(r"^Kept → "))
    page.keyboard.press("u")
    expect(card).to_have_text("Pending")
    page.select_option("#filter-review", "any")


def test_the_audits_list_fits_a_phone(browser, service, audit_id):
    from playwright.sync_api import expect

    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, service, service.admin_key)
    row = page.locator(f"#audit-rows tr[data-audit-id='{audit_id}']")
    expect(row.locator(".pill-succeeded")).to_be_visible()
    page.wait_for_timeout(300)
    screenshot(page, "list-phone.png", full_page=True)
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px phone"
    for part in (
        *row.locator("td").all(),
        row.get_by_role("link", name="Review"),
        row.get_by_role("button", name="Delete"),
    ):
        expect(part).to_be_visible()
        box = part.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"] + 0.5, (
            f"{part.inner_text()!r} is off-screen: {box}"
        )
    headings = row.locator("td.num").evaluate_all(
        "cells => cells.map((cell) => getComputedStyle(cell, '::before').content)"
    )
    assert headings == ['"Samples"', '"Flagged"', '"Reviewed"'], "each count shows its heading"
    context.close()


def test_the_header_fits_a_phone_with_a_long_key_name(browser, service):
    """The signed-in name, its role and "Sign out" stay on a 390 px screen (the reviewer's
    key is named reviewer-bob)."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    page = context.new_page()
    sign_in(page, service, service.reviewer_key)
    for part in (page.locator(".topbar .who"), page.get_by_role("button", name="Sign out")):
        box = part.bounding_box()
        assert box is not None and box["x"] + box["width"] <= PHONE["width"] + 0.5, (
            f"{part.inner_text()!r} is off-screen: {box}"
        )
    screenshot(page, "header-phone.png")
    context.close()


def contrast(colours: dict[str, list[float]]) -> float:
    """WCAG 2's contrast ratio of two sRGB colours."""

    def luminance(rgb: list[float]) -> float:
        linear = [
            c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4
            for c in (value / 255 for value in rgb[:3])
        ]
        return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]

    light, dark = sorted((luminance(colours["text"]), luminance(colours["background"])))[::-1]
    return (light + 0.05) / (dark + 0.05)


def test_clear_selection_is_readable(page, service, audit_id):
    from playwright.sync_api import expect

    page.goto(f"{service.url}/audits/{audit_id}/review")
    page.locator(".card input.select").first.click()
    clear = page.locator("#bulk-clear")
    expect(clear).to_be_visible()
    screenshot(page, "bulk-bar.png")
    for button in page.locator("#bulk-bar button").all():
        ratio = contrast(button.evaluate(COLOURS))
        assert ratio >= 4.5, f"{button.inner_text()!r} has a contrast of {ratio:.2f}:1"
    page.set_viewport_size(PHONE)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "bulk-bar-phone.png")
    clear.click()
    expect(page.locator("#bulk-bar")).to_be_hidden()


def names_match_the_visible_text(page: Any, where: str) -> None:
    from playwright.sync_api import expect

    for index, text in page.evaluate(NAMES_AND_TEXTS):
        if not re.search(r"\w", text):
            continue  # a symbol (×), not a word a speech user would say
        element = page.locator(f"[data-name-check='{index}']")
        expect(element, f"{where}: the button or link showing {text!r}").to_have_accessible_name(
            re.compile("^" + re.escape(text), re.IGNORECASE)
        )


def test_accessible_names_start_with_the_visible_text(page, service, audit_id):
    from playwright.sync_api import expect

    names_match_the_visible_text(page, "the audits list")
    page.goto(f"{service.url}/audits/{audit_id}")
    expect(page.locator("#export-suspects")).to_be_visible()
    names_match_the_visible_text(page, "the overview")
    page.goto(f"{service.url}/audits/{audit_id}/review")
    expect(page.locator(".card").first).to_be_focused()
    page.locator(".card input.select").first.click()
    expect(page.locator("#bulk-bar")).to_be_visible()
    names_match_the_visible_text(page, "the review queue")
    page.click("#bulk-clear")
    page.locator(".card").first.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#viewer")).to_be_visible()
    names_match_the_visible_text(page, "the large view")
    page.keyboard.press("Escape")
    page.keyboard.press("?")
    expect(page.locator("#shortcuts")).to_be_visible()
    names_match_the_visible_text(page, "the shortcuts")
    page.keyboard.press("Escape")


def test_the_upload_form_sets_the_label_and_id_columns(page, service):
    from playwright.sync_api import expect

    table = "part,length_mm,mass_g,defect\n" + "".join(
        f"p{row},{row % 7 + 1.5},{row % 3 + 0.2},{'bolt' if row % 2 else 'nut'}\n"
        for row in range(40)
    )
    upload = {"name": "parts.csv", "mimeType": "text/csv", "buffer": table.encode()}
    page.set_input_files("#upload-file", files=[upload])
    page.click("#upload-submit")
    error = page.locator("#upload-error")
    expect(error).to_contain_text("no label column 'label'")
    expect(error).to_contain_text("Label column")
    expect(page.locator("#upload-label-column")).to_be_focused()
    expect(page.locator("#upload-label-column")).to_have_attribute("aria-invalid", "true")
    screenshot(page, "upload-column-error.png", full_page=True)

    page.fill("#upload-label-column", "defect")
    page.fill("#upload-id-column", "part")
    page.fill("#upload-name", "Parts by column")
    page.fill("#upload-epochs", "2")
    page.click("#upload-submit")
    row = page.locator("#audit-rows tr", has_text="Parts by column")
    expect(row).to_be_visible()
    expect(error).to_be_hidden()
    audit_id = row.get_attribute("data-audit-id")
    with service.api(service.admin_key) as api:
        config = api.get(f"/audits/{audit_id}").json()["config"]
    assert config["label_column"] == "defect" and config["id_column"] == "part", config
    page.set_viewport_size(PHONE)
    wait_until(page, "() => document.documentElement.scrollWidth <= innerWidth")
    screenshot(page, "upload-form-phone.png", full_page=True)
