"""Hostile class names and sample ids in headless Chromium against `labelaudit serve`:
bidirectional controls reorder nothing outside the name and spoof no file name, ids with
dot segments (and `%`, `?`, `#`) show their own image and resource, markup in a name stays
text and runs nothing, and a 300-character class name stays inside its card.

The audit is written straight into the service's database and data directory (no upload
could hold ids like ``a/../b.png``). Screenshots: test-artifacts/screenshots/hostile-*.png.
"""

from __future__ import annotations

import io
import uuid
import zipfile
from typing import Any

import numpy as np
import pytest
from PIL import Image

from formats.evidence import history_blobs, top_class_blobs
from tests.seeding import DEFAULT_SUMMARY, write_audit
from tests.service.bidi_cases import BALANCED, ISOLATED

from .browser import IMAGES_LOADED, LAPTOP, PHONE, Service, screenshot, sign_in, wait_until, watched

# Each test drives Chromium against `labelaudit serve` and its worker.
pytestmark = pytest.mark.slow

RLO = "\u202e"
BOLT = f"bolt{RLO}"  # an override left open: everything after it would read backwards
NUT = f"nut\u2069{RLO}"  # a stray PDI first, to close the isolate a page puts around it
LONG = "scratch-" + "x" * 292
MARKUP = '<img src=x onerror="document.body.dataset.pwned=1">'
ARABIC = "خدش"
CLASSES = [BOLT, NUT, LONG, MARKUP, ARABIC]
# (sample id, given, suggested): ids a browser rewrites or cuts short in a URL, one that
# spoofs a file name, one holding markup.
SAMPLES = [
    ("..", BOLT, LONG),
    ("a/../b.png", LONG, MARKUP),
    (f"evil{RLO}gnp.exe", MARKUP, NUT),
    ("%2e%2e", NUT, ARABIC),
    ("<script>document.body.dataset.pwned=2</script>", ARABIC, BOLT),
    ("x/image", BOLT, NUT),
    (".", NUT, BOLT),
    ("h?i=1#j", LONG, ARABIC),
]
EPOCHS = 8
K = 0.5


def shade(row: int) -> tuple[int, int, int]:
    return (20 + 25 * row, 200 - 20 * row, 90)


@pytest.fixture(scope="module")
def hostile_audit(service: Service) -> str:
    from service.config import Settings
    from service.db import Database
    from service.storage import Storage

    settings = Settings.model_validate({"LABELAUDIT_DATA_DIR": str(service.data_dir)})
    audit_id = uuid.uuid4()
    upload = Storage(settings.data_dir).upload_path(audit_id, "zip")
    upload.parent.mkdir(parents=True)
    with zipfile.ZipFile(upload, "w") as archive:
        for row in range(len(SAMPLES)):
            png = io.BytesIO()
            Image.new("RGB", (40, 40), shade(row)).save(png, format="PNG")
            archive.writestr(f"images/{row}.png", png.getvalue())
    history = np.linspace(0.1, 0.2, EPOCHS)[:, None].repeat(len(SAMPLES), axis=1)
    index = {name: i for i, name in enumerate(CLASSES)}
    samples = [
        {
            "sample_id": sample_id,
            "given_label": given,
            "suggested_label": suggested,
            "image_path": f"images/{row}.png",
            "flagged": True,
            "confidence": 0.15,
            "score": 0.9 - 0.05 * row,
            "history": history_blobs(history)[row],
            "top_classes": top_class_blobs(
                np.array([[index[suggested], index[given]]]), np.array([[0.98, 0.02]])
            )[0],
        }
        for row, (sample_id, given, suggested) in enumerate(SAMPLES)
    ]
    summary = {
        **DEFAULT_SUMMARY,
        "samples": len(SAMPLES),
        "flagged": len(SAMPLES),
        "estimated_errors": {name: 1 for name in CLASSES},
        "thresholds": {name: K for name in CLASSES},
        "confusion": [
            {"given": given, "suggested": suggested, "count": 1} for _, given, suggested in SAMPLES
        ],
        "window": 4,
        "reference_examples": {},
    }
    database = Database(settings.resolved_database_url)
    try:
        write_audit(
            database,
            samples,
            id=audit_id,
            name=f"Line 3 {RLO}week 47",
            upload_filename=f"defects{RLO}piz.exe",
            upload_kind="zip",
            dataset_kind="image",
            class_names=CLASSES,
            summary=summary,
        )
    finally:
        database.engine.dispose()
    return str(audit_id)


@pytest.fixture
def review_page(browser, service, hostile_audit) -> Any:
    """The review queue of the hostile audit, every card's image loaded; script errors,
    CSP violations and dialogs (an `alert` a script might open) are collected."""
    problems: list[str] = []
    context = watched(browser.new_context(viewport=LAPTOP), problems)
    page = context.new_page()
    page.on(
        "dialog", lambda dialog: (problems.append(f"dialog: {dialog.message}"), dialog.dismiss())
    )
    sign_in(page, service, service.reviewer_key)
    page.goto(f"{service.url}/audits/{hostile_audit}/review")
    page.locator(".card").nth(len(SAMPLES) - 1).wait_for()
    yield page, problems
    context.close()


# Where each character of a text node lies from left to right: reading order on screen.
CHARACTER_LEFTS = """([element, start, length]) => {
    const node = [...element.childNodes].find((child) => child.nodeType === Node.TEXT_NODE);
    const at = node.textContent.indexOf(start) + start.length;
    return [...Array(length).keys()].map((i) => {
        const range = document.createRange();
        range.setStart(node, at + i);
        range.setEnd(node, at + i + 1);
        return range.getBoundingClientRect().left;
    });
}"""


def card_of(page: Any, sample_id: str) -> Any:
    handle = page.evaluate_handle(
        "(id) => [...document.querySelectorAll('.card')].find((c) => c.dataset.sampleId === id)",
        sample_id,
    )
    return handle.as_element()


def loaded(page: Any, image: Any) -> None:
    for _ in range(150):
        if image.evaluate("(image) => image.complete"):
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"{image.get_attribute('src')} never loaded")


def reads_left_to_right(page: Any, element: Any, after: str, length: int) -> bool:
    lefts = page.evaluate(CHARACTER_LEFTS, [element, after, length])
    return all(a < b for a, b in zip(lefts, lefts[1:], strict=False))


def test_bidi_controls_reorder_nothing_outside_a_name(review_page):
    page, problems = review_page
    for sample_id in ("..", "%2e%2e"):  # an open override; a stray PDI, then an override
        card = card_of(page, sample_id)
        reason = card.query_selector(".reason")
        text = reason.text_content()
        assert "(at most 20%)" in text and "k = 0.50" in text, text
        assert reads_left_to_right(page, reason, "(at most ", 3), f"{sample_id}: {text!r}"
        assert reads_left_to_right(page, reason, "k = ", 4), f"{sample_id}: {text!r}"
        decision = card.query_selector(".decision").text_content()
        assert decision == "Pending"
    spoof = card_of(page, f"evil{RLO}gnp.exe").query_selector(".sample-name")
    assert spoof.text_content() == "evil⟨U+202E⟩gnp.exe", "the control is shown, not obeyed"
    assert not problems, problems


# The dashboard's own module, as its pages load it (same origin, under its CSP).
RUN_DOM_HELPERS = """async ([balancedCases, isolatedCases]) => {
  const sheet = document.querySelector('link[rel=stylesheet]').href;
  const dom = await import(sheet.replace(/\\/css\\/[^/]+$/, '/js/dom.js'));
  return [
    balancedCases.map(([text]) => dom.balanced(text)),
    isolatedCases.map(([text]) => dom.isolate(text)),
  ];
}"""


def test_the_scripts_balance_and_isolate_as_the_server_does(review_page):
    page, problems = review_page
    balanced, isolated = page.evaluate(RUN_DOM_HELPERS, [BALANCED, ISOLATED])
    assert balanced == [expected for _, expected in BALANCED]
    assert isolated == [expected for _, expected in ISOLATED]
    assert not problems, problems


def test_every_id_shows_its_own_image_and_resource(review_page, hostile_audit):
    page, problems = review_page
    middle_pixel = """(image) => {
        const canvas = document.createElement("canvas");
        canvas.width = image.naturalWidth;
        canvas.height = image.naturalHeight;
        const context = canvas.getContext("2d");
        context.drawImage(image, 0, 0);
        const middle = context.getImageData(canvas.width / 2, canvas.height / 2, 1, 1);
        return [...middle.data.slice(0, 3)];
    }"""
    for row, (sample_id, _, _) in enumerate(SAMPLES):
        card = card_of(page, sample_id)
        card.scroll_into_view_if_needed()
        image = card.query_selector(".media img")
        loaded(page, image)
        assert image.evaluate("(image) => image.naturalWidth") > 0, sample_id
        pixel = image.evaluate(middle_pixel)
        assert np.abs(np.subtract(pixel, shade(row))).max() <= 6, (sample_id, pixel)

    # The large view of an id that is a dot segment: its original image and its top classes.
    card = card_of(page, "..")
    card.query_selector(".media").click()
    stage = page.locator("#viewer .stage-image")
    stage.wait_for()
    loaded(page, stage.element_handle())
    assert stage.evaluate("(image) => image.naturalWidth") == 40
    assert np.abs(np.subtract(stage.evaluate(middle_pixel), shade(0))).max() <= 6
    page.locator("#viewer .top-classes li").first.wait_for()
    assert page.locator("#viewer .top-classes .top-label").first.text_content() == LONG
    assert page.locator("#viewer-title").text_content() == ".."
    screenshot(page, "hostile-viewer.png")
    assert not problems, problems


def test_markup_in_names_and_ids_is_text_and_runs_nothing(review_page, service, hostile_audit):
    page, problems = review_page
    card = card_of(page, f"evil{RLO}gnp.exe")
    assert card.query_selector(".label-given").text_content() == MARKUP
    assert page.locator(".card .label-given img, .card img[src='x']").count() == 0
    script_card = card_of(page, "<script>document.body.dataset.pwned=2</script>")
    assert script_card is not None
    card.query_selector(".media").click()
    page.locator("#viewer .top-classes li").first.wait_for()
    page.goto(f"{service.url}/audits/{hostile_audit}")
    page.locator("#overview svg text").first.wait_for()
    page.goto(f"{service.url}/")
    page.locator(".audit-link").first.wait_for()
    assert page.evaluate("() => document.body.dataset.pwned") is None
    assert not problems, problems


OVERFLOWING_CARDS = """() => [...document.querySelectorAll('.card')].flatMap((card) => {
    const box = card.getBoundingClientRect();
    const out = [...card.querySelectorAll('*')].filter((element) => {
        const r = element.getBoundingClientRect();
        return r.width > 0 && (r.right > box.right + 0.5 || r.left < box.left - 0.5);
    });
    return card.scrollWidth > card.clientWidth || out.length
        ? [`${card.dataset.sampleId}: ${card.scrollWidth} > ${card.clientWidth}, ` +
           out.map((e) => e.className || e.tagName).join(' ')]
        : [];
})"""
# What sticks out past the window's right edge (the page would scroll sideways).
STICKING_OUT = """() => [...document.querySelectorAll('body *')]
    .filter((element) => element.getBoundingClientRect().right > innerWidth + 0.5)
    .map((element) => `${element.tagName}.${element.className}#${element.id}`)"""


def test_a_300_character_class_name_stays_inside_its_card(review_page):
    page, problems = review_page
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        page.set_viewport_size(viewport)
        wait_until(page, IMAGES_LOADED)
        screenshot(page, f"hostile-queue-{name}.png")
        assert page.evaluate(OVERFLOWING_CARDS) == [], name
        assert page.evaluate(STICKING_OUT) == [], name
    page.set_viewport_size(LAPTOP)
    long_card = card_of(page, "a/../b.png")
    given = long_card.query_selector(".label-given")
    assert LONG in given.get_attribute("title")
    assert given.evaluate("(element) => element.getBoundingClientRect().height") < 80
    long_card.query_selector(".media").click()
    page.locator("#viewer .examples h3").last.wait_for()
    outside = page.evaluate(
        """() => {
            const box = document.querySelector('#viewer').getBoundingClientRect();
            return [...document.querySelectorAll('#viewer *')]
                .filter((element) => element.getBoundingClientRect().right > box.right + 0.5)
                .map((element) => element.className || element.tagName);
        }"""
    )
    screenshot(page, "hostile-viewer-long.png")
    assert outside == [], outside
    page.goto(page.url.removesuffix("/review"))
    page.locator("#overview svg text").first.wait_for()
    screenshot(page, "hostile-overview.png", full_page=True)
    assert page.evaluate(STICKING_OUT) == []
    assert not problems, problems
