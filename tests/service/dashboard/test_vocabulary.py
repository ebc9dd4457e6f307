"""The dashboard's vocabulary: every page carries the server's statuses, decisions, stage
names and near-threshold band, each from its one Python home, and the templates and scripts
keep no copies of them."""

import html
import json
import re
from pathlib import Path

import pytest

from formats import stages
from formats.limits import MAX_LABEL_CHARS
from formats.npz import FEATURES_ARRAY, LABELS_ARRAY
from formats.options import OPTION_RANGES
from service.audits.models import ACTIVE, MAX_AUDIT_NAME_CHARS, STATUSES
from service.audits.repository import NEAR_THRESHOLD_BAND
from service.dashboard.pages import STATIC_DIR
from service.dashboard.vocabulary import vocabulary
from service.reviews.actions import DECISIONS, FINAL_LABEL_FROM

from .test_pages import page, signed_in

SCRIPTS = {path.name: path.read_text() for path in (STATIC_DIR / "js").glob("*.js")}


def carried(text: str) -> dict:
    (payload,) = re.findall(r'data-vocabulary="([^"]*)"', text)
    return json.loads(html.unescape(payload))


def test_the_payload_is_read_from_each_python_home():
    words = vocabulary()
    assert list(words["statuses"]) == list(STATUSES)
    assert words["active_statuses"] == list(ACTIVE) == ["queued", "running"]
    assert list(words["decisions"]) == list(DECISIONS)
    assert {d: w["final_label_from"] for d, w in words["decisions"].items()} == {
        d: FINAL_LABEL_FROM[d] for d in DECISIONS
    }
    assert words["near_threshold_band"] == NEAR_THRESHOLD_BAND
    assert words["stages"]["fold_pattern"] == stages.FOLD_STAGE_PATTERN
    assert words["stages"]["text"] == stages.STAGE_TEXT


def test_every_page_carries_it(client, admin, finished_audit):
    signed_in(client, admin)
    for path in ("/", f"/audits/{finished_audit}", f"/audits/{finished_audit}/review"):
        assert carried(page(client, path).text) == json.loads(json.dumps(vocabulary()))
    client.cookies.clear()
    assert carried(page(client, "/sign-in").text)["statuses"]["succeeded"] == "Done"


def test_the_upload_form_states_the_servers_limits_and_the_readers_arrays(client, admin):
    text = page(signed_in(client, admin), "/").text
    assert f'id="upload-name" name="name" maxlength="{MAX_AUDIT_NAME_CHARS}"' in text
    for column in ("label_column", "id_column"):
        assert re.search(rf'name="{column}" maxlength="{MAX_LABEL_CHARS}"', text), column
    assert f"<code>{FEATURES_ARRAY}</code> and\n        <code>{LABELS_ARRAY}</code>" in text


def test_the_upload_form_offers_the_configs_ranges(client, admin):
    text = page(signed_in(client, admin), "/").text
    for option in ("k", "epochs"):
        (attributes,) = re.findall(rf'name="{option}" type="number" ([^>]*?)\s*placeholder', text)
        bounds = dict(re.findall(r'(\w+)="([^"]*)"', attributes))
        low, high = OPTION_RANGES[option].offered()
        step = OPTION_RANGES[option].step
        assert {key: float(value) for key, value in bounds.items()} == {
            "min": low,
            "max": high,
            "step": step,
        }, option


def test_the_review_page_lists_every_decision(client, reviewer, finished_audit):
    text = page(signed_in(client, reviewer), f"/audits/{finished_audit}/review").text
    options = re.findall(r'<option value="(\w+)">', text)
    assert options == ["any", "pending", "done", *DECISIONS]
    keyed = [d for d, w in vocabulary()["decisions"].items() if w["key"]]
    assert re.findall(r'data-bulk="(\w+)"', text) == keyed
    assert f"k + {NEAR_THRESHOLD_BAND}" in text


@pytest.mark.parametrize("name", sorted(set(SCRIPTS) - {"vocabulary.js"}))
def test_no_script_keeps_a_copy(name):
    # CSS class names ("relabel", the select's) are not the decisions.
    script = re.sub(r'class: "[^"]*"', "", SCRIPTS[name])
    for decision in (*DECISIONS, "clear"):
        assert f'"{decision}"' not in script, decision
    for text in vocabulary()["statuses"].values():
        assert f'"{text}"' not in script, text
    assert str(NEAR_THRESHOLD_BAND) not in script or name == "heatmap.js"
    assert 'startsWith("fold' not in script
    # Number inputs are the upload form's, whose bounds pages.py renders from
    # formats.options.OPTION_RANGES; a script neither makes one nor states a bound.
    assert '"number"' not in script
    low, high = OPTION_RANGES["k"].offered()
    assert f"{low:g}" not in script and f"{high:g}" not in script


def test_no_template_keeps_a_copy():
    for path in Path(STATIC_DIR.parent / "templates").glob("*.html"):
        template = path.read_text()
        assert not re.search(r'maxlength="\d+"', template), path.name
        assert not re.search(r'\b(min|max|step)="[\d.]+"', template), path.name
        assert not re.search(r'data-bulk="\w+"|<option value="(accept|keep)"', template), path.name
