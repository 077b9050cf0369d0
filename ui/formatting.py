"""Number formatting shared by the supervisor pages."""

from __future__ import annotations


def percent(rate: float | None) -> str:
    return "–" if rate is None else f"{rate:.1%}"


def ms(value: float | None) -> str:
    return "–" if value is None else f"{value:,.1f} ms"


def delta_points(now: float | None, before: float | None) -> str | None:
    """A change of rate as percentage points, or None when either side has no data."""
    if now is None or before is None:
        return None
    return f"{(now - before) * 100:+.1f} pts"


def duration(seconds: float | None) -> str:
    """A wait or handling time: `42 s`, `3.5 min`, `2.1 h` (or – when there is none)."""
    if seconds is None:
        return "–"
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 90 * 60:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"
