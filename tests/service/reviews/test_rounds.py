"""Re-audit rounds: the decisions a round carries over (every earlier round's with them),
and a round's flags against its parent's, sample by sample."""

from types import SimpleNamespace

from service.reviews.rounds import carried_corrections
from service.reviews.rounds_repository import round_comparison
from tests.seeding import write_audit


def test_a_round_carries_its_decisions_over_the_earlier_rounds():
    earlier = {
        "relabel": {"s1": "nut"},
        "exclude": ["s2"],
        "reviews": {"s1": {"action": "relabel", "label": "nut", "reviewed_by": "ana", "round": 1}},
        "round": 2,
    }
    decisions = [
        ("s3", "accept", "bolt", "nut", "bob"),
        ("s4", "keep", "bolt", "bolt", "bob"),
        ("s5", "exclude", "bolt", None, "bob"),
    ]
    carried = carried_corrections(SimpleNamespace(corrections=earlier), decisions)
    assert carried["relabel"] == {"s1": "nut", "s3": "nut"}
    assert carried["exclude"] == ["s2", "s5"]
    assert carried["reviews"]["s4"] == {
        "action": "keep",
        "label": "bolt",
        "reviewed_by": "bob",
        "round": 2,
    }
    assert carried["round"] == 3
    first = carried_corrections(SimpleNamespace(corrections=None), decisions[:1])
    assert first["round"] == 2 and first["reviews"]["s3"]["round"] == 1


def test_the_round_comparison_counts_sample_by_sample(database):
    decided = {"action": "keep", "label": "bolt", "reviewed_by": "ana", "round": 1}
    # (flagged in the parent, flagged in the child, decided in round 1); None: not there.
    rows = {
        "resolved-1": (True, False, False),
        "resolved-2": (True, False, True),
        "still": (True, True, False),
        "disputed": (True, True, True),
        "disputed-new": (False, True, True),
        "new": (False, True, False),
        "excluded": (True, None, True),
        "calm": (False, False, False),
    }
    parent_id = write_audit(
        database, [{"sample_id": name, "flagged": row[0]} for name, row in rows.items()]
    )
    child_id = write_audit(
        database,
        [
            {"sample_id": name, "flagged": row[1], "prior_review": decided if row[2] else None}
            for name, row in rows.items()
            if row[1] is not None
        ],
        parent_id=parent_id,
    )
    with database.session_scope() as session:
        counts = round_comparison(session, child_id, parent_id)
    assert counts == {"resolved": 2, "still_flagged": 2, "disputed": 2, "new_suspects": 2}
