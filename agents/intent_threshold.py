"""The out-of-scope threshold: the confidence under which the assistant asks instead.

`choose_threshold` maximises right answers minus `wrong_cost` x wrong ones on held-out
predictions, where "wrong" covers both misread in-scope messages and accepted
out-of-scope ones (real examples, or pseudo-unknowns: held-out rows of intents their
fold's model never saw). `sane_threshold` then keeps that cut inside bounds that hold
whatever the data: it answers at least half of the held-out messages it would get right
(never "decline everything") and declines at least 70% of the unknowns (never "accept
everything"), counting those another gate (the similarity floor) declines already.
Non-finite confidences fail loudly instead of giving a NaN threshold.
"""

from __future__ import annotations

import numpy as np

ANSWER_AT_LEAST = 0.5
"""Share of the held-out right answers the threshold must keep answering."""
DECLINE_AT_LEAST = 0.7
"""Share of the held-out unknowns the threshold must decline."""
DECLINE_WITHOUT_EVIDENCE = 0.75
"""The same when no held-out message could be answered (one example per intent)."""


def choose_threshold(confidence: np.ndarray, correct: np.ndarray, wrong_cost: float) -> float:
    """The confidence cut that maximises right answers minus `wrong_cost` x wrong ones.

    Below the cut the assistant asks instead of answering; `correct` is False for rows that
    are out of scope or misclassified, so both kinds of mistake push the cut up.
    """
    order = np.argsort(-confidence)
    gain = np.cumsum(np.where(correct[order], 1.0, -wrong_cost))
    best = int(np.argmax(gain))
    if gain[best] <= 0:
        return float(confidence.max()) + 1e-9
    return float(confidence[order][best])


def declining(unknown: np.ndarray, share: float, declined_already: int = 0) -> float:
    """The least cut that declines `share` of the unknowns, `declined_already` of which
    (not in `unknown`) another gate declines whatever the cut."""
    total = len(unknown) + declined_already
    may_answer = int((1.0 - share) * total + 1e-9)
    if not unknown.size or may_answer >= len(unknown):
        return 0.0
    return float(np.quantile(unknown, 1.0 - may_answer / len(unknown)))


def sane_threshold(known: np.ndarray, correct: np.ndarray, unknown: np.ndarray,
                   wrong_cost: float, declined_already: int = 0) -> float:
    """The cost-optimal cut, kept between the bounds in the module docstring.

    `known`: held-out confidences of in-scope rows, `correct` whether each was right;
    `unknown`: confidences of out-of-scope and pseudo-unknown rows; `declined_already`:
    unknowns left out of `unknown` because another gate declines them anyway.
    """
    known, unknown = np.asarray(known, float), np.asarray(unknown, float)
    if not (np.isfinite(known).all() and np.isfinite(unknown).all()):
        raise ValueError("intent calibration produced non-finite confidences")
    right = known[np.asarray(correct, bool)]
    if not right.size:
        if not unknown.size and not declined_already:
            raise ValueError("intent calibration has no held-out predictions")
        return declining(unknown, DECLINE_WITHOUT_EVIDENCE, declined_already)
    confidence = np.concatenate([known, unknown])
    outcome = np.concatenate([correct, np.zeros(len(unknown), dtype=bool)])
    cut = choose_threshold(confidence, outcome, wrong_cost)
    upper = float(np.quantile(right, 1.0 - ANSWER_AT_LEAST))
    if not unknown.size:
        return min(cut, upper)
    lower = declining(unknown, DECLINE_AT_LEAST, declined_already)
    if lower > upper:  # the two promises conflict: meet halfway
        return (lower + upper) / 2
    return float(np.clip(cut, lower, upper))
