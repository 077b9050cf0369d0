"""Altair charts for the supervisor pages (built from core read models, no queries here)."""

from __future__ import annotations

import altair as alt
import pandas as pd

from core.monitoring.human_stats import CsatBucket
from core.monitoring.stats import Bucket
from core.monitoring.traces import SpanView

STATUS_COLORS = alt.Scale(domain=["ok", "error", "running"], range=["#2e7d32", "#c62828", "#f9a825"])


def turns_over_time(series: list[Bucket]) -> alt.Chart:
    frame = pd.DataFrame(
        [{"time": b.start, "kind": "turns", "count": b.turns} for b in series]
        + [{"time": b.start, "kind": "errors", "count": b.errors} for b in series]
    )
    return alt.Chart(frame).mark_line(point=False).encode(
        x=alt.X("time:T", title=None), y=alt.Y("count:Q", title="Turns"),
        color=alt.Color("kind:N", title=None,
                        scale=alt.Scale(domain=["turns", "errors"], range=["#1565c0", "#c62828"])),
        tooltip=["time:T", "kind:N", "count:Q"],
    ).properties(height=220)


def intent_bars(intents: list[tuple[str, int]]) -> alt.Chart:
    frame = pd.DataFrame(intents, columns=["intent", "turns"])
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("turns:Q", title="Turns"), y=alt.Y("intent:N", sort="-x", title=None),
        tooltip=["intent:N", "turns:Q"],
    ).properties(height=max(120, 22 * len(frame)))


def confidence_histogram(bins: list[tuple[float, int]]) -> alt.Chart:
    width = 1 / max(1, len(bins))
    frame = pd.DataFrame([{"from": lo, "to": lo + width, "turns": n} for lo, n in bins])
    return alt.Chart(frame).mark_bar().encode(
        x=alt.X("from:Q", bin="binned", title="Intent confidence", scale=alt.Scale(domain=[0, 1])),
        x2="to:Q", y=alt.Y("turns:Q", title="Turns"), tooltip=["from:Q", "to:Q", "turns:Q"],
    ).properties(height=220)


def waterfall(spans: list[SpanView]) -> alt.Chart:
    frame = pd.DataFrame([
        {"step": f"{i + 1}. {s.node}", "start": s.start_ms,
         "end": s.start_ms + max(s.duration_ms, 0.01), "ms": round(s.duration_ms, 2),
         "status": s.status}
        for i, s in enumerate(spans)
    ])
    return alt.Chart(frame).mark_bar(cornerRadius=2).encode(
        x=alt.X("start:Q", title="Milliseconds from the start of the turn"), x2="end:Q",
        y=alt.Y("step:N", sort=None, title=None),
        color=alt.Color("status:N", scale=STATUS_COLORS, title="Status"),
        tooltip=["step:N", "ms:Q", "status:N"],
    ).properties(height=max(120, 36 * len(frame)))


def review_share(series: list) -> alt.Chart:
    """Share of turns needing review per bucket (core.monitoring.learning_stats)."""
    frame = pd.DataFrame([{"time": b.start, "share": b.share or 0.0, "turns": b.turns}
                          for b in series])
    return alt.Chart(frame).mark_line(point=False).encode(
        x=alt.X("time:T", title=None),
        y=alt.Y("share:Q", title="Needing review", axis=alt.Axis(format="%")),
        tooltip=["time:T", alt.Tooltip("share:Q", format=".0%"), "turns:Q"],
    ).properties(height=180)


def csat_over_time(series: list[CsatBucket]) -> alt.Chart:
    """The share of ratings of 4 or 5 stars per bucket, with how many ratings it rests on."""
    frame = pd.DataFrame([{"time": b.start, "csat": b.csat, "ratings": b.ratings}
                          for b in series if b.ratings])
    return alt.Chart(frame).mark_line(point=True).encode(
        x=alt.X("time:T", title=None),
        y=alt.Y("csat:Q", title="CSAT (4-5 stars)", axis=alt.Axis(format="%"),
                scale=alt.Scale(domain=[0, 1])),
        tooltip=["time:T", alt.Tooltip("csat:Q", format=".0%"), "ratings:Q"],
    ).properties(height=200)
