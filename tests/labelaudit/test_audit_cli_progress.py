"""The command line's progress bar names each stage as the audits list does
(formats.stages.stage_text), and only on a terminal."""

import io

from formats import stages
from formats.contract import ProgressReport
from labelaudit.audit_cli import ProgressBar


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def report(stage: str, fraction: float, *, epoch: int = 0, epochs: int = 0) -> ProgressReport:
    return ProgressReport(stage=stage, epoch=epoch, epochs=epochs, fraction=fraction)


def test_the_bar_names_the_stages_as_the_audits_list_does():
    terminal = Terminal()
    bar = ProgressBar(terminal, width=4)
    held_out = stages.fold_stage(1, 2, held_out=True)
    bar.update(report(stages.FEATURES, 0.1))
    bar.update(report(held_out, 0.5, epoch=3, epochs=40))
    bar.update(report(stages.FLAGGING, 0.95))
    bar.close()
    lines = terminal.getvalue().split("\r")[1:]
    assert lines[0].startswith("Computing image features [....]  10%")
    assert lines[1].startswith("Held-out models, fold 1 of 2 [##..]  50% epoch 3 of 40 ETA")
    assert stages.stage_text(held_out) == "Held-out models, fold 1 of 2"
    # A shorter line covers the longer one before it, and the bar ends its line.
    assert lines[2].startswith("Flagging suspects [###.]  95%")
    assert len(lines[2]) == len(lines[1]) + 1
    assert lines[2].endswith(" \n")


def test_nothing_is_drawn_off_a_terminal():
    stream = io.StringIO()
    bar = ProgressBar(stream)
    bar.update(report(stages.TRAINING, 0.5, epoch=1, epochs=2))
    bar.close()
    assert stream.getvalue() == ""
