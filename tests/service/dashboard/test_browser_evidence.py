"""Why a sample was flagged, and inspecting it properly, in headless Chromium against
`labelaudit serve` (embedded: SQLite and its own worker) with a real audit of generated
steel-surface images: the card's sparkline, sentence and suggested probability; the large
view's full curve, top classes, original-resolution image with zoom, pan and contrast, and
the strips of reference examples; on a desktop and on a phone.

Screenshots go to test-artifacts/screenshots/ (evidence-*.png).
"""

from __future__ import annotations

import io
import re
import zipfile
from pathlib import Path

import pytest
from PIL import Image

from service.demo import generate_demo
from tests.service.audits.learned_flip_audit import store_learned_flip_audit

from .browser import (
    DESKTOP,
    IMAGES_LOADED,
    PHONE,
    audit_upload,
    screenshot,
    sign_in,
    wait_until,
    watched,
)

# Each test drives Chromium against `labelaudit serve` and its worker.
pytestmark = pytest.mark.slow

EPOCHS = 12
WINDOW = 4
SENTENCE = re.compile(
    r"Confidence in “\w+” never above k = 0\.\d\d in the last 4 epochs \(at most \d+%\); "
    r"(the model says|the models that never saw it say) “\w+” at \d+%\."
)
STAGE_ZOOM = "() => Number(document.querySelector('#viewer .stage').dataset.zoom)"
STAGE_PAN = """() => getComputedStyle(document.querySelector('#viewer .stage'))
    .getPropertyValue('--pan-x').trim()"""


@pytest.fixture(scope="module")
def image_audit(service) -> tuple[str, int]:
    """A finished audit of 120 generated images (12 in a wrong folder); returns its id and
    the images' side in pixels."""
    demo = generate_demo(per_class=24, wrong_share=0.1, seed=5)
    config = {"epochs": EPOCHS, "window": WINDOW, "name": "Steel"}
    audit_id = audit_upload(service, demo.archive, config)["id"]
    with zipfile.ZipFile(io.BytesIO(demo.archive)) as archive:
        first = next(name for name in archive.namelist() if name.endswith(".png"))
        side = Image.open(io.BytesIO(archive.read(first))).width
    return audit_id, side


@pytest.fixture(scope="module")
def learned_flip_audit(service) -> str:
    """The learned-flip fixture's audit, stored in the service's database as a worker
    stores one; returns its id."""
    from service.config import Settings
    from service.db import Database

    settings = Settings.model_validate({"LABELAUDIT_DATA_DIR": str(service.data_dir)})
    database = Database(settings.resolved_database_url)
    try:
        return str(store_learned_flip_audit(database, settings.data_dir))
    finally:
        database.engine.dispose()


def test_a_learned_flip_card_says_what_flagged_it(browser, service, learned_flip_audit):
    # Averaged, the flips read 0.515 in their given label, and the card said the model
    # agreed with it; the held-out models that flagged them say "Shirt".
    from playwright.sync_api import expect

    problems: list[str] = []
    context = watched(browser.new_context(viewport=DESKTOP), problems)
    page = context.new_page()
    sign_in(page, service, service.reviewer_key)
    page.goto(f"{service.url}/audits/{learned_flip_audit}/review")
    cards = page.locator(".card")
    expect(cards).to_have_count(4)
    for index in range(4):
        card = cards.nth(index)
        # The curve is flat (every epoch alike), so its box has no height: the chart shows.
        expect(card.locator(".confidence-chart.is-spark")).to_be_visible()
        expect(card.locator(".reason")).to_have_text(
            "Confidence in “T-shirt” never above k = 0.50 in the last 2 epochs (at most 4%); "
            "the models that never saw it say “Shirt” at 96%."
        )
        expect(card.locator(".suggested-probability")).to_have_text("96%")
    assert "agree" not in page.locator("#cards").inner_text()
    screenshot(page, "evidence-learned-flip.png")
    assert problems == []
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_the_large_view_shows_why_a_sample_was_flagged(browser, service, image_audit, viewport):
    from playwright.sync_api import expect

    expect.set_options(timeout=15_000)
    audit_id, side = image_audit
    name = "desktop" if viewport is DESKTOP else "phone"
    problems: list[str] = []
    context = watched(browser.new_context(viewport=viewport), problems)
    page = context.new_page()
    sign_in(page, service, service.reviewer_key)
    page.goto(f"{service.url}/audits/{audit_id}/review")

    card = page.locator(".card").first
    expect(card.locator(".confidence-chart.is-spark polyline.curve")).to_be_visible()
    expect(card.locator(".confidence-chart .flag-window")).to_have_count(1)
    expect(card.locator(".confidence-chart .threshold")).to_have_count(1)
    expect(card.locator(".reason")).to_have_text(SENTENCE)
    expect(card.locator(".suggested-probability")).to_have_text(re.compile(r"^\d+%$"))
    expect(card.locator(".scores")).to_contain_text("Confidence in given label")
    wait_until(page, IMAGES_LOADED)
    screenshot(page, f"evidence-queue-{name}.png")

    card.locator(".media").click()
    viewer = page.locator("#viewer")
    expect(viewer).to_be_visible()
    title = viewer.locator("h2").inner_text()
    expect(viewer.locator(".confidence-chart.is-large circle.epoch")).to_have_count(EPOCHS)
    expect(viewer.locator(".confidence-chart.is-large")).to_contain_text(re.compile(r"k = 0\.\d\d"))
    expect(viewer.locator(".top-classes li")).to_have_count(3)
    expect(viewer.locator(".evidence-large .reason")).to_have_text(SENTENCE)

    stage = viewer.locator(".stage-image")
    expect(stage).to_have_attribute("src", re.compile(r"\?original=true$"))
    wait_until(page, "() => document.querySelector('#viewer .stage-image').complete")
    assert stage.evaluate("image => image.naturalWidth") == side, "the original resolution"

    # Reference strips: confident examples of the given and of the suggested class.
    given_strip, suggested_strip = (
        viewer.locator(".examples-given"),
        viewer.locator(".examples-suggested"),
    )
    for strip in (given_strip, suggested_strip):
        count = strip.locator(".example-thumb").count()
        assert 3 <= count <= 5, count
    expect(given_strip).to_have_attribute("data-active", "0")
    page.keyboard.press("g")
    expect(given_strip).to_have_attribute("data-active", "1")
    page.keyboard.press("Shift+G")
    expect(given_strip).to_have_attribute("data-active", "0")
    page.keyboard.press("s")
    page.keyboard.press("s")
    expect(suggested_strip).to_have_attribute("data-active", "2")
    wait_until(page, "() => [...document.querySelectorAll('#viewer img')].every(i => i.complete)")
    screenshot(page, f"evidence-large-view-{name}.png")
    suggested_strip.scroll_into_view_if_needed()
    screenshot(page, f"evidence-strips-{name}.png")

    # Zoom with keys and the wheel; arrows pan once zoomed, and move to the next sample
    # again at the fitted size.
    page.keyboard.press("+")
    assert page.evaluate(STAGE_ZOOM) == 1.5
    page.keyboard.press("ArrowLeft")
    assert page.evaluate(STAGE_PAN) == "60px"
    expect(viewer.locator("h2")).to_have_text(title)
    viewer.locator(".stage").hover()
    page.mouse.wheel(0, -100)
    wait_until(page, f"() => ({STAGE_ZOOM})() > 2")
    contrast = viewer.locator("input[data-adjust=contrast]")
    contrast.fill("200")
    filter_applied = stage.evaluate("image => getComputedStyle(image).filter")
    assert "contrast(2)" in filter_applied, filter_applied
    screenshot(page, f"evidence-zoomed-{name}.png")
    viewer.locator(".stage").focus()
    page.keyboard.press("0")
    assert page.evaluate(STAGE_ZOOM) == 1
    page.keyboard.press("ArrowRight")
    expect(viewer.locator("h2")).not_to_have_text(title)
    # Contrast is kept from one sample to the next; the zoom starts fitted.
    assert "contrast(2)" in stage.evaluate("image => getComputedStyle(image).filter")

    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    page.keyboard.press("?")
    shortcuts = page.locator("#shortcuts")
    expect(shortcuts).to_contain_text("zoom in / out / fit")
    expect(shortcuts).to_contain_text("next example of the given / suggested class")
    context.close()
    assert problems == [], problems


def test_the_large_view_of_a_table_shows_the_curve_without_image_strips(
    browser, service, tmp_path: Path
):
    from playwright.sync_api import expect

    rows = ["id,length_mm,mass_g,label"]
    for row in range(60):
        cls = row % 2
        label = ("bolt", "nut")[1 - cls if row % 10 == 0 else cls]
        rows.append(f"r{row},{10 + 5 * cls + row % 3},{2 + cls},{label}")
    config = {"epochs": 8, "window": 3, "k": 0.5}
    created = audit_upload(service, "\n".join(rows).encode(), config, filename="parts.csv")
    context = browser.new_context(viewport=DESKTOP)
    page = context.new_page()
    sign_in(page, service, service.reviewer_key)
    page.goto(f"{service.url}/audits/{created['id']}/review")
    page.locator(".card").first.locator(".media").click()
    viewer = page.locator("#viewer")
    expect(viewer.locator(".confidence-chart.is-large circle.epoch")).to_have_count(8)
    expect(viewer.locator(".top-classes li")).to_have_count(2)
    expect(viewer.locator(".features")).to_contain_text("length_mm")
    expect(viewer.locator(".examples")).to_have_count(0)
    expect(viewer.locator(".stage")).to_have_count(0)
    screenshot(page, "evidence-large-view-table.png")
    context.close()
