"""Listing an audit's samples: the samples just above their class's threshold."""

from tests.seeding import DEFAULT_SUMMARY, write_audit

# k per class: the band just above it is [k, k + 0.15].
THRESHOLDS = {"bolt": 0.5, "nut": 0.2}
CONFIDENCES = {
    "bolt": [0.1, 0.49, 0.5, 0.56, 0.52, 0.63, 0.66, 0.97, 1.0],
    "nut": [0.19, 0.2, 0.25, 0.34, 0.36, 0.5, 0.93],
}


def test_near_threshold_lists_the_samples_just_above_their_class_k_closest_first(
    client, database, reviewer
):
    samples = [
        {
            "sample_id": f"{label}-{confidence}",
            "given_label": label,
            "confidence": confidence,
            "score": 1 - confidence,
            "flagged": confidence < THRESHOLDS[label],
        }
        for label, confidences in CONFIDENCES.items()
        for confidence in confidences
    ]
    summary = {**DEFAULT_SUMMARY, "samples": len(samples), "thresholds": THRESHOLDS}
    audit_id = write_audit(database, samples, summary=summary)

    shown: list[str] = []
    cursor = None
    while True:
        params = {"near_threshold": "true", "order": "margin", "flagged": "false", "limit": 2}
        answer = client.get(
            f"/audits/{audit_id}/samples",
            params={**params, **({"cursor": cursor} if cursor else {})},
            headers=reviewer,
        )
        assert answer.status_code == 200, answer.text
        shown += [item["sample_id"] for item in answer.json()["items"]]
        if (cursor := answer.json()["next_cursor"]) is None:
            break
    # Margins above k: bolt 0.0, 0.02, 0.06, 0.13; nut 0.0, 0.05, 0.14 (ties: file order).
    assert shown == [
        "bolt-0.5",
        "nut-0.2",
        "bolt-0.52",
        "nut-0.25",
        "bolt-0.56",
        "bolt-0.63",
        "nut-0.34",
    ]
