"""Time windows and percentiles: the arithmetic behind the statistics, kept pure."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

WINDOWS: dict[str, timedelta] = {
    "Last hour": timedelta(hours=1),
    "Last day": timedelta(days=1),
    "Last week": timedelta(weeks=1),
}
BUCKETS: dict[str, timedelta] = {
    "Last hour": timedelta(minutes=2),
    "Last day": timedelta(minutes=30),
    "Last week": timedelta(hours=4),
}


@dataclass(frozen=True)
class Window:
    """[start, end) and the window of the same length just before it (for deltas)."""

    start: datetime
    end: datetime

    @property
    def previous(self) -> Window:
        return Window(self.start - (self.end - self.start), self.start)


def window_ending(now: datetime, length: timedelta) -> Window:
    if length <= timedelta(0):
        raise ValueError("a window must have a positive length")
    return Window(now - length, now)


def percentiles(values: Sequence[float] | np.ndarray, qs: Sequence[float] = (50, 95, 99)
                ) -> list[float | None]:
    """Linear-interpolated percentiles of `values`, or None each when there are none."""
    if len(values) == 0:
        return [None for _ in qs]
    found = np.percentile(np.asarray(values, dtype=float), list(qs))
    return [round(float(v), 3) for v in found]


def share(part: int, whole: int) -> float | None:
    """part/whole, or None when there is nothing to divide (no data is not 0%)."""
    return part / whole if whole else None
