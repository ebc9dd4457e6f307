"""Text from users on pages: bidirectional controls balanced and isolated."""

import pytest

from service.text import balanced, isolated

from .bidi_cases import BALANCED, FSI, ISOLATED, PDF, PDI, RLO


@pytest.mark.parametrize(("text", "expected"), BALANCED)
def test_controls_are_balanced(text, expected):
    assert balanced(text) == expected


@pytest.mark.parametrize(("text", "expected"), ISOLATED)
def test_only_right_to_left_text_is_isolated(text, expected):
    assert isolated(text) == expected


def test_the_audit_name_is_isolated_on_its_pages(client, admin, database):
    from tests.seeding import write_audit

    audit_id = write_audit(database, [{}, {}], name=f"Line 3 {RLO}week 47")
    client.post("/sign-in", data={"key": admin["Authorization"].removeprefix("Bearer ")})
    html = client.get(f"/audits/{audit_id}", headers={"Accept": "text/html"}).text
    shown = f"{FSI}Line 3 {RLO}week 47{PDF}{PDI}"
    assert html.count(shown) >= 3, "the title, the breadcrumbs and the heading"
    assert f"{RLO}week 47<" not in html
