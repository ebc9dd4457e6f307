"""Text from users on pages: bidirectional controls balanced and isolated."""

import pytest

from service.text import balanced, isolated

RLO, PDF, LRI, PDI, FSI = "\u202e", "\u202c", "\u2066", "\u2069", "\u2068"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bolt", "bolt"),
        (f"bolt{RLO}", f"bolt{RLO}{PDF}"),  # an override left open is closed
        (f"a{PDI}{RLO}b", f"a{RLO}b{PDF}"),  # a stray PDI would close the page's isolate
        (f"a{PDF}b", "ab"),  # a stray PDF too
        (f"{RLO}{LRI}x{PDF}", f"{RLO}{LRI}x{PDI}{PDF}"),  # a PDF inside an isolate closes nothing
        (f"{LRI}{RLO}x{PDI}y", f"{LRI}{RLO}x{PDI}y"),  # a PDI closes the embeddings inside it
        ("خدش", "خدش"),
    ],
)
def test_controls_are_balanced(text, expected):
    assert balanced(text) == expected


def test_only_right_to_left_text_is_isolated():
    assert isolated("Bolts <batch 7>") == "Bolts <batch 7>"
    assert isolated("خدش") == f"{FSI}خدش{PDI}"
    assert isolated(f"Line 3 {RLO}week 47") == f"{FSI}Line 3 {RLO}week 47{PDF}{PDI}"


def test_the_audit_name_is_isolated_on_its_pages(client, admin, database):
    from tests.seeding import write_audit

    audit_id = write_audit(database, [{}, {}], name=f"Line 3 {RLO}week 47")
    client.post("/sign-in", data={"key": admin["Authorization"].removeprefix("Bearer ")})
    html = client.get(f"/audits/{audit_id}", headers={"Accept": "text/html"}).text
    shown = f"{FSI}Line 3 {RLO}week 47{PDF}{PDI}"
    assert html.count(shown) >= 3, "the title, the breadcrumbs and the heading"
    assert f"{RLO}week 47<" not in html
