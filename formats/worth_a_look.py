""" "Worth a look": the unflagged samples a reviewer should see when the flags are few.

After a first round the data is mostly clean, and an audit may flag none of the few wrong
labels left: "0 flagged" reads as "clean". So every audit also offers a short ranked list
of the samples it did *not* flag that it trusts least (the highest suspicion ``score``,
ties by row, as the flags themselves are ranked), enough to check the claim "this set is
clean" in a minute. The rule lives here once; the CLI ranks the engine's arrays with
:func:`worth_a_look_rows`, the API reads the same samples from the database with
:attr:`WorthALook.size` (unflagged, by score descending then row).

How many: the gap between the wrong labels the estimate expects and the flags, so that
flags and list together reach the estimate; at least :data:`MIN_WORTH_A_LOOK` (a minute at
about six seconds a card, and something to check when the estimate is 0 too), at most
:data:`MAX_WORTH_A_LOOK` (a page of cards: a larger gap is the flags' business, lowering
k); never more than the unflagged samples. So the list is empty only when every sample
is flagged, and an audit of a non-empty set never answers with neither.

When it is shown: the API always offers it; the dashboard's overview and the CLI show it
when the flags are :attr:`WorthALook.few`: fewer than the estimate expects, than the
minimum, or than :data:`FEW_SHARE` of the samples (a mostly clean set, where a wrong label
of a class the estimate calls clean is flagged by no k). There "N flagged" alone would
understate what is left to check; on a noisy set the flags are the work, and the list
waits in the API and the review queue.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

MIN_WORTH_A_LOOK = 10
MAX_WORTH_A_LOOK = 50
# Flags under this share of the samples are few: the set is mostly clean (round two on).
FEW_SHARE = 0.01
# What the list is called wherever it is shown (the dashboard reads it from its vocabulary).
WORTH_A_LOOK_TITLE = "Worth a look: not flagged, the lowest confidence in their labels"


@dataclass(frozen=True)
class WorthALook:
    """What an audit's counts say about its worth-a-look list.

    Attributes
    ----------
    expected : int
        The wrong labels the estimate expects in all (the sum over classes).
    flagged : int
    size : int
        How many unflagged samples the list offers.
    few : bool
        The flags are fewer than ``expected``, than :data:`MIN_WORTH_A_LOOK` or than
        :data:`FEW_SHARE` of the samples: the list is shown beside them.
    """

    expected: int
    flagged: int
    size: int
    few: bool

    @classmethod
    def of(cls, samples: int, flagged: int, estimated_errors: Mapping[str, int]) -> WorthALook:
        """The list of an audit of ``samples`` with ``flagged`` flags and the estimate's
        wrong labels per class ``estimated_errors``."""
        expected = int(sum(estimated_errors.values()))
        gap = min(max(expected - flagged, MIN_WORTH_A_LOOK), MAX_WORTH_A_LOOK)
        return cls(
            expected=expected,
            flagged=flagged,
            size=max(min(gap, samples - flagged), 0),
            few=flagged < max(expected, MIN_WORTH_A_LOOK, math.ceil(FEW_SHARE * samples)),
        )

    def describe(self) -> str:
        """ "3 flagged of 12 expected from the estimate": the round's claim in one phrase."""
        return f"{self.flagged:,} flagged of {self.expected:,} expected from the estimate"


def worth_a_look_rows(score: np.ndarray, flagged: np.ndarray, size: int) -> np.ndarray:
    """The rows of the list: the ``size`` unflagged samples with the highest score.

    Parameters
    ----------
    score : ndarray, (n,)
        Suspicion, higher is more suspicious (the engine's ``flags.score``).
    flagged : ndarray, (n,) bool
    size : int
        :attr:`WorthALook.size`.

    Returns
    -------
    ndarray, (<= size,) int64
        Row indices, the most suspicious first; ties the earlier row first.
    """
    unflagged = np.flatnonzero(~np.asarray(flagged, dtype=bool))
    order = np.argsort(-np.asarray(score)[unflagged], kind="stable")
    return unflagged[order[: max(size, 0)]].astype(np.int64)
