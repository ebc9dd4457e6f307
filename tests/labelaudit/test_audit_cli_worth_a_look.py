"""`labelaudit audit` never answers "0 flagged" alone: its summary line says how many wrong
labels the estimate expected against the flags, and when the flags are few it prints the
worth-a-look samples (formats.worth_a_look) after it. The engine is stubbed here; the slow
end-to-end test trains on a nearly clean set."""

import csv
from types import SimpleNamespace

import numpy as np
import pytest

from formats.worth_a_look import WORTH_A_LOOK_TITLE
from labelaudit.audit_cli import worth_a_look_lines
from labelaudit.cli import main
from tests.labelaudit.test_audit_cli import noisy_digits_csv, run_cli


def audit_result(flagged: list[bool], estimated: dict[str, int]) -> SimpleNamespace:
    n = len(flagged)
    score = np.linspace(0.9, 0.1, n).astype(np.float32)
    flags = SimpleNamespace(
        score=score,
        flagged=np.array(flagged),
        suggested=np.array([1] * n),
        confidence=(1 - score).astype(np.float32),
    )
    return SimpleNamespace(
        flags=flags,
        sample_ids=np.array([f"part-{i}" for i in range(n - 1)] + ["evil\x1b[2J"]),
        given=np.array([0] * n),
        class_names=("bolt", "nut"),
        n_flagged=sum(flagged),
        estimated_errors=estimated,
        thresholds={"bolt": 0.25, "nut": 0.5},
        device="cpu (1 thread)",
        feature_seconds=0.0,
        plan=SimpleNamespace(backbone="none", describe=lambda: "checked mode; k per class"),
    )


def test_lines_rank_the_unflagged_and_escape_what_a_terminal_would_run():
    result = audit_result([True, False, False, True, False], {"bolt": 1})
    lines = worth_a_look_lines(result, 10)
    assert lines[0].startswith(f"{WORTH_A_LOOK_TITLE} (3, most suspicious first;")
    assert lines[1].split() == ["row", "sample", "id", "given", "suggested", "confidence", "score"]
    assert [line.split()[:2] for line in lines[2:]] == [
        ["1", "part-1"],
        ["2", "part-2"],
        ["4", "evil\\x1b[2J"],
    ]
    assert lines[2].split()[2:] == ["bolt", "nut", "30.0%", "0.700"]
    assert "\x1b" not in "".join(lines)


def test_every_sample_flagged_says_so():
    assert worth_a_look_lines(audit_result([True, True], {"bolt": 2}), 0) == [
        f"{WORTH_A_LOOK_TITLE}: none, every sample is flagged."
    ]


@pytest.fixture
def stub_engine(monkeypatch):
    """``worker.engine``'s audit and loader answering ``state["result"]``."""
    import worker.engine

    state = {}
    dataset = SimpleNamespace(n_samples=0)

    def load_for_audit(*_, **__):
        dataset.n_samples = len(state["result"].sample_ids)
        return dataset

    monkeypatch.setattr(worker.engine, "load_for_audit", load_for_audit)
    monkeypatch.setattr(worker.engine, "audit", lambda *_, **__: state["result"])
    return state


def test_nothing_flagged_prints_the_claim_and_the_list_after_the_summary(
    stub_engine, tmp_path, capsys
):
    stub_engine["result"] = audit_result([False] * 30, {"bolt": 2, "nut": 1})
    assert main(["audit", "data.csv", "-o", str(tmp_path / "out.csv"), "--threads", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].startswith("30 samples, 0 flagged of 3 expected from the estimate (0 rows in")
    assert lines[1].startswith(WORTH_A_LOOK_TITLE)
    # The header and ten samples, the most suspicious first.
    assert [line.split()[0] for line in lines[3:]] == [str(row) for row in range(10)]
    assert len(lines) == 13


def test_flags_that_cover_the_estimate_print_the_summary_alone(stub_engine, tmp_path, capsys):
    stub_engine["result"] = audit_result([True] * 12 + [False] * 18, {"bolt": 12})
    assert main(["audit", "data.csv", "-o", str(tmp_path / "out.csv"), "--threads", "1"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) == 1
    assert "12 flagged of 12 expected from the estimate (12 rows in" in lines[0]


@pytest.mark.slow
def test_a_nearly_clean_set_lists_what_the_flags_miss(tmp_path):
    """Issue 31's target on a real audit: 8 wrong labels in 1797 (0.4%). The flags are
    under 1% of the set, so the list follows; flags and list hold the wrong labels."""
    wrong = noisy_digits_csv(tmp_path / "digits.csv", rate=0.003, seed=5)
    completed = run_cli("audit", "digits.csv", "-o", "out.csv", "--threads", "1", cwd=tmp_path)
    assert completed.returncode == 0, completed.stderr
    lines = completed.stdout.splitlines()
    assert " expected from the estimate (" in lines[0]
    assert lines[1].startswith(WORTH_A_LOOK_TITLE)
    listed = {line.split()[1] for line in lines[3:]}
    with (tmp_path / "out.csv").open() as handle:
        flagged = {row["sample_id"] for row in csv.DictReader(handle)}
    assert len(listed) >= 10 and not listed & flagged
    assert len(wrong & (flagged | listed)) >= len(wrong) - 1
