"""Filtering an audit's samples by decision, reviewer, sample id and earlier rounds, and the
clear errors for filter values that make no sense."""

import pytest

from tests.seeding import write_audit


@pytest.fixture
def audit_id(database):
    """Eight samples: s0 accepted and s1 relabeled by ana, s2 kept by bob, s3 excluded by
    bob, the rest pending; s4 and s5 carry a decision from round 1."""
    decided = {
        0: ("accept", "nut", "ana"),
        1: ("relabel", "nut", "ana"),
        2: ("keep", "bolt", "bob"),
        3: ("exclude", None, "bob"),
    }
    samples = []
    for row in range(8):
        action, label, reviewer = decided.get(row, (None, None, None))
        samples.append(
            {
                "sample_id": f"parts/Batch-{row}.png",
                "flagged": row % 2 == 0,
                "score": 1 - row / 10,
                "review_action": action,
                "final_label": label,
                "reviewed_by": reviewer,
                "prior_review": (
                    {"action": "relabel", "label": "bolt", "reviewed_by": "ana", "round": 1}
                    if row in (4, 5)
                    else None
                ),
            }
        )
    return str(write_audit(database, samples, class_names=["bolt", "nut"]))


def listed(client, headers, audit_id, **params) -> list[str]:
    response = client.get(f"/audits/{audit_id}/samples", headers=headers, params=params)
    assert response.status_code == 200, response.text
    return [
        item["sample_id"].removeprefix("parts/Batch-").removesuffix(".png")
        for item in response.json()["items"]
    ]


@pytest.mark.parametrize(
    ("params", "rows"),
    [
        ({"review": "pending"}, ["4", "5", "6", "7"]),
        ({"review": "done"}, ["0", "1", "2", "3"]),
        ({"review": "accept"}, ["0"]),
        ({"review": "relabel"}, ["1"]),
        ({"review": "keep"}, ["2"]),
        ({"review": "exclude"}, ["3"]),
        ({"reviewed_by": "bob"}, ["2", "3"]),
        ({"reviewed_by": "ana", "review": "relabel"}, ["1"]),
        ({"reviewed_by": "nobody"}, []),
        ({"search": "batch-7"}, ["7"]),
        ({"search": "BATCH-"}, [str(row) for row in range(8)]),
        ({"search": "%"}, []),
        ({"search": "_"}, []),
        ({"prior_review": "true"}, ["4", "5"]),
        ({"prior_review": "true", "flagged": "true"}, ["4"]),
        ({"prior_review": "false", "flagged": "true"}, ["0", "2", "6"]),
    ],
)
def test_filters(client, reviewer, audit_id, params, rows):
    assert listed(client, reviewer, audit_id, **params) == rows


def test_a_sample_shows_the_decision_of_an_earlier_round(client, reviewer, audit_id):
    sample = client.get(f"/audits/{audit_id}/samples/parts/Batch-4.png", headers=reviewer).json()
    assert sample["prior_review"] == {
        "action": "relabel",
        "label": "bolt",
        "reviewed_by": "ana",
        "round": 1,
    }
    other = client.get(f"/audits/{audit_id}/samples/parts/Batch-6.png", headers=reviewer).json()
    assert other["prior_review"] is None


@pytest.mark.parametrize(
    ("params", "problem"),
    [
        (
            {"review": "approved"},
            "query.review: Input should be 'pending', 'done', 'any', 'accept'",
        ),
        ({"reviewed_by": ""}, "query.reviewed_by: String should have at least 1 character"),
        (
            {"reviewed_by": "x" * 101},
            "query.reviewed_by: String should have at most 100 characters",
        ),
        ({"search": ""}, "query.search: String should have at least 1 character"),
        ({"search": "a\0b"}, "query.search: Value error, must not contain NUL characters"),
        ({"prior_review": "maybe"}, "query.prior_review: Input should be a valid boolean"),
    ],
)
def test_bad_filter_values_are_refused_by_name(client, reviewer, audit_id, params, problem):
    response = client.get(f"/audits/{audit_id}/samples", headers=reviewer, params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid_request"
    assert problem in error["message"], error
