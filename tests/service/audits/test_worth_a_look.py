"""The worth-a-look samples through the API, on both databases: the summary's expected
against flagged counts, and the listing of the unflagged samples with the highest scores
(formats.worth_a_look), with their evidence, composing with filters, orders and pages."""

import numpy as np
import pytest

from formats.evidence import history_blobs
from tests.seeding import DEFAULT_SUMMARY, write_audit
from tests.service.backends import backend

__all__ = ["backend"]

HISTORY = history_blobs(np.linspace(0.2, 0.6, 6).reshape(6, 1))[0]


def nearly_clean(database, *, flagged_rows=(), estimated=None):
    """200 samples: scores fall with the row, except rows 40-43, which tie (at row 40's)
    and so rank by row; the flagged rows are the most suspicious of all."""
    samples = []
    for row in range(200):
        score = 0.9 - min(row, 40) / 400 if row < 44 else 0.9 - row / 400
        samples.append(
            {
                "sample_id": f"s{row}",
                "given_label": "bolt" if row % 2 else "nut",
                "suggested_label": "nut" if row % 3 else "bolt",
                "confidence": 1 - score,
                "score": 1.0 if row in flagged_rows else score,
                "flagged": row in flagged_rows,
                "history": HISTORY,
            }
        )
    summary = {
        **DEFAULT_SUMMARY,
        "samples": 200,
        "flagged": len(flagged_rows),
        "estimated_errors": estimated or {"bolt": 2, "nut": 1},
        "thresholds": {"bolt": 0.3, "nut": 0.3},
        "window": 2,
    }
    return write_audit(database, samples, summary=summary)


def listed(client, headers, audit_id, **params):
    response = client.get(f"/audits/{audit_id}/samples", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def test_nothing_flagged_still_offers_the_most_suspicious_ten_with_evidence(backend):
    client, headers = backend.open_client(), backend.headers("ana")
    audit_id = nearly_clean(backend.database)
    summary = client.get(f"/audits/{audit_id}", headers=headers).json()["summary"]
    assert summary["flagged"] == 0
    assert (summary["expected_errors"], summary["worth_a_look"], summary["few_flagged"]) == (
        3,
        10,
        True,
    )
    page = listed(client, headers, audit_id, worth_a_look="true")
    assert [item["sample_id"] for item in page["items"]] == [f"s{row}" for row in range(10)]
    assert page["next_cursor"] is None
    first = page["items"][0]
    assert first["flagged"] is False and first["history"] and first["window"] == [5, 6]
    assert first["flag_reason"].startswith("Confidence in “nut” reached")
    assert "above k = 0.30" in first["flag_reason"]


def test_the_list_fills_the_gap_to_the_estimate_below_the_flags(backend):
    client, headers = backend.open_client(), backend.headers("ana")
    flagged = (0, 1, 2)
    audit_id = nearly_clean(backend.database, flagged_rows=flagged, estimated={"bolt": 47})
    summary = client.get(f"/audits/{audit_id}", headers=headers).json()["summary"]
    assert (summary["expected_errors"], summary["worth_a_look"]) == (47, 44)
    items = listed(client, headers, audit_id, worth_a_look="true", limit=500)["items"]
    ids = [item["sample_id"] for item in items]
    # Not flagged, most suspicious first: the three flags are left out; 40-43 tie by row.
    assert ids == [f"s{row}" for row in range(3, 47)]
    assert not any(item["flagged"] for item in items)


def test_pages_filters_and_orders_keep_to_the_list(backend):
    client, headers = backend.open_client(), backend.headers("ana")
    # 42 expected: the list ends inside the tie of rows 40-43.
    audit_id = nearly_clean(backend.database, estimated={"bolt": 42})
    whole = [
        item["sample_id"]
        for item in listed(client, headers, audit_id, worth_a_look="true")["items"]
    ]
    assert whole == [f"s{row}" for row in range(42)]
    walked, after = [], {}
    while after is not None:
        page = listed(client, headers, audit_id, worth_a_look="true", limit=4, **after)
        walked += [item["sample_id"] for item in page["items"]]
        after = page["next_cursor"] and {"cursor": page["next_cursor"]}
    assert walked == whole
    bolts = listed(client, headers, audit_id, worth_a_look="true", given_label="bolt")["items"]
    assert [item["sample_id"] for item in bolts] == [f"s{row}" for row in range(1, 42, 2)]
    by_row = listed(client, headers, audit_id, worth_a_look="true", order="row", limit=500)
    assert [item["sample_id"] for item in by_row["items"]] == whole
    assert listed(client, headers, audit_id, worth_a_look="true", flagged="true")["items"] == []


def test_flags_that_cover_the_estimate_leave_a_short_list_not_pressed_forward(backend):
    client, headers = backend.open_client(), backend.headers("ana")
    audit_id = nearly_clean(backend.database, flagged_rows=tuple(range(12)), estimated={"a": 5})
    summary = client.get(f"/audits/{audit_id}", headers=headers).json()["summary"]
    assert (summary["worth_a_look"], summary["few_flagged"]) == (10, False)
    items = listed(client, headers, audit_id, worth_a_look="true")["items"]
    assert [item["sample_id"] for item in items] == [f"s{row}" for row in range(12, 22)]


@pytest.mark.parametrize("stored_flags", [0, 3])
def test_every_sample_flagged_leaves_no_list_and_some_suspects(backend, stored_flags):
    client, headers = backend.open_client(), backend.headers("ana")
    samples = [{"flagged": True} for _ in range(stored_flags)]
    summary = {**DEFAULT_SUMMARY, "samples": stored_flags, "flagged": stored_flags}
    audit_id = write_audit(backend.database, samples, summary=summary)
    assert client.get(f"/audits/{audit_id}", headers=headers).json()["summary"]["worth_a_look"] == 0
    assert listed(client, headers, audit_id, worth_a_look="true")["items"] == []
