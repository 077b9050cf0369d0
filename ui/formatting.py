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
