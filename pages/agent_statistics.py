"""Agent statistics (supervisors and admins): how each agent is doing over a window."""

import streamlit as st

from core.monitoring.human_stats import HumanStats
from core.monitoring.stats import ModelStats
from core.monitoring.windows import WINDOWS
from core.security.auth import Principal
from ui import charts
from ui.formatting import delta_points, duration, ms, percent
from ui.runtime import get_runtime
from ui.session import guarded_fragment, require_permission
from ui.text import literal, spreadsheet_safe

user = require_permission("monitoring:read")
service = get_runtime().monitoring
REFRESH_S = 15

st.title("Agent statistics")
window = st.segmented_control("Window", list(WINDOWS), default="Last day", key="stats_window")
window = window or "Last day"


@guarded_fragment("monitoring:read", run_every=REFRESH_S)
def live_statistics(user: Principal) -> None:
    report = service.statistics(user, window)
    now, before = report.current, report.previous
    cols = st.columns(4)
    cols[0].metric("Turns", f"{now.turns:,}", delta=now.turns - before.turns)
    cols[1].metric("Error rate", percent(now.error_rate),
                   delta=delta_points(now.error_rate, before.error_rate), delta_color="inverse")
    cols[2].metric("p95 turn latency", ms(now.p95_latency_ms),
                   delta=_delta_ms(now.p95_latency_ms, before.p95_latency_ms), delta_color="inverse")
    cols[3].metric("Thumbs up", percent(now.thumbs_up_share),
                   delta=delta_points(now.thumbs_up_share, before.thumbs_up_share))
    cols = st.columns(3)
    cols[0].metric("Clarifying questions", percent(now.clarify_rate),
                   delta=delta_points(now.clarify_rate, before.clarify_rate), delta_color="off")
    cols[1].metric("Out of scope", percent(now.out_of_scope_rate),
                   delta=delta_points(now.out_of_scope_rate, before.out_of_scope_rate),
                   delta_color="inverse")
    cols[2].metric("Handed to a person", percent(now.handoff_rate),
                   delta=delta_points(now.handoff_rate, before.handoff_rate), delta_color="inverse")
    st.caption(f"{report.window}, compared with the {report.window.lower().replace('last ', '')} "
               f"before it. Refreshes every {REFRESH_S} s.")

    st.subheader("Agents")
    st.dataframe(spreadsheet_safe(
        [{"agent": n.node, "calls": n.calls, "error rate": percent(n.error_rate),
          "p50 ms": n.p50_ms, "p95 ms": n.p95_ms, "p99 ms": n.p99_ms,
          "last error": n.last_error or "", "when": n.last_error_at} for n in report.nodes]),
        hide_index=True, use_container_width=True,
    )
    if not report.nodes:
        st.info("No turns in this window yet.")
    if report.human is not None:
        _human_section(report.human)
    if report.model.calls:
        _model_section(report.model)
    if report.learning is not None:
        _learning_section(report.learning)
    st.subheader("Turns over time")
    st.altair_chart(charts.turns_over_time(report.series), use_container_width=True)
    left, right = st.columns(2)
    with left:
        st.subheader("Intents")
        if report.intents:
            st.altair_chart(charts.intent_bars(report.intents), use_container_width=True)
    with right:
        st.subheader("Confidence")
        st.altair_chart(charts.confidence_histogram(report.confidence), use_container_width=True)


def _model_section(model: ModelStats) -> None:
    st.subheader("Answer model")
    cols = st.columns(5)
    cols[0].metric("Answers asked of the model", f"{model.calls:,}")
    cols[1].metric("Fell back to offline", percent(model.fallback_rate))
    cols[2].metric("p50 / p95 model latency", f"{ms(model.p50_ms)} / {ms(model.p95_ms)}")
    cols[3].metric("Prompt tokens", f"{model.prompt_tokens:,}")
    cols[4].metric("Completion tokens", f"{model.completion_tokens:,}")
    if model.last_error:
        st.caption(f"Last fallback: {literal(model.last_error)}")


def _human_section(human: HumanStats) -> None:
    st.subheader("People")
    cols = st.columns(4)
    cols[0].metric("Waiting now", f"{human.waiting_now:,}",
                   help="Customers who asked for a person and are not yet taken")
    cols[1].metric("Longest wait", duration(human.longest_wait_s))
    cols[2].metric("First human reply p50 / p95",
                   f"{duration(human.first_reply_p50_s)} / {duration(human.first_reply_p95_s)}",
                   help="From asking for a person to a person's first reply")
    cols[3].metric("Time to resolve p50 / p95",
                   f"{duration(human.resolve_p50_s)} / {duration(human.resolve_p95_s)}")
    st.caption(f"Held by an agent now: {human.held_now:,} · CSAT {percent(human.overall_csat)} "
               f"of {human.ratings:,} rating(s) (4 or 5 stars of 5)")
    if human.agents:
        st.dataframe(spreadsheet_safe(
            [{"agent": a.agent, "conversations taken": a.conversations, "resolved": a.resolved,
              "ratings": a.ratings, "average rating": a.average_rating} for a in human.agents]),
            hide_index=True, use_container_width=True)
    if human.ratings:
        st.altair_chart(charts.csat_over_time(human.csat), use_container_width=True)


def _learning_section(learning) -> None:
    st.subheader("Learning")
    cols = st.columns(3)
    cols[0].metric("Turns needing review", percent(learning.review_share))
    cols[1].metric("Labelled examples", f"{learning.labels.get('live', 0):,}",
                   help="Live in the model; pending and refused ones are counted apart")
    cols[2].metric("Awaiting retrain / refused",
                   f"{learning.labels.get('pending', 0):,} / {learning.labels.get('refused', 0):,}")
    st.altair_chart(charts.review_share(learning.series), use_container_width=True)
    if learning.versions:
        st.caption("Turns by intent model version: " + ", ".join(
            f"v{v or 'pack'} {n:,}" for v, n in learning.versions))


def _delta_ms(now: float | None, before: float | None) -> str | None:
    return None if now is None or before is None else f"{now - before:+.1f} ms"


live_statistics()

st.subheader("Health")
for health in service.agent_health(user):
    icon = ":material/check_circle:" if health.ready else ":material/error:"
    st.markdown(f"{icon} **{health.agent}**: {'ready' if health.ready else 'not ready'}")
    st.caption(literal(health.detail))
    if health.last_error:
        st.caption(f"Last error {health.last_error_at:%Y-%m-%d %H:%M} UTC: "
                   f"{literal(health.last_error)}")
