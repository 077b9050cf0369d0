"""Workflow traces (supervisors and admins): recent turns, and why the bot said what it said."""

from datetime import timedelta

import pandas as pd
import streamlit as st

from core.monitoring.traces import TurnFilter
from core.storage.models import utcnow
from ui import charts
from ui.runtime import get_runtime
from ui.session import require_permission
from ui.text import literal, spreadsheet_safe

user = require_permission("monitoring:read")
service = get_runtime().monitoring
SINCE = {"Last hour": timedelta(hours=1), "Last day": timedelta(days=1),
         "Last week": timedelta(weeks=1), "Any time": None}

st.title("Workflow traces")
cols = st.columns(4)
since = cols[0].selectbox("Time", list(SINCE), index=1, key="trace_since")
intent = cols[1].selectbox("Intent", ["Any", *service.known_intents(user)], key="trace_intent")
status = cols[2].selectbox("Status", ["Any", "ok", "error"], key="trace_status")
conversation = cols[3].number_input("Conversation", min_value=0, step=1, value=0,
                                    help="0 shows every conversation", key="trace_conversation")
window = SINCE[since]
rows = service.recent_turns(user, TurnFilter(
    since=utcnow() - window if window else None, intent=None if intent == "Any" else intent,
    status=None if status == "Any" else status, conversation_id=int(conversation) or None,
))
if not rows:
    st.info("No turns match these filters.")
    st.stop()

st.dataframe(spreadsheet_safe(  # its toolbar downloads CSV: no live formulas
    [{"turn": r.turn_id, "time (UTC)": r.created_at.strftime("%Y-%m-%d %H:%M:%S"),
      "customer": r.customer, "conversation": r.conversation_id, "intent": r.intent,
      "confidence": round(r.confidence, 3) if r.confidence is not None else None,
      "route": r.route, "status": "⚠ error" if r.status == "error" else r.status,
      "model": r.model_version or 0,
      "latency ms": round(r.latency_ms, 1) if r.latency_ms is not None else None}
     for r in rows]),
    hide_index=True, use_container_width=True,
)
by_id = {r.turn_id: r for r in rows}
turn_id = st.selectbox(
    "Show the trace of turn", list(by_id), key="trace_turn",
    format_func=lambda t: f"#{t} · {by_id[t].created_at:%H:%M:%S} · {by_id[t].customer} · "
                          f"{by_id[t].intent or '?'} · {by_id[t].status}",
)
trace = service.trace(user, turn_id)
if trace is None:
    st.warning("That turn no longer exists.")
    st.stop()

row = trace.row
st.subheader(f"Turn #{row.turn_id}")
if row.status == "error":
    st.error(f"This turn failed: {literal(trace.error or '')}", icon=":material/error:")
cols = st.columns([2, 1, 1, 1])
cols[0].metric("Intent", row.intent or "–")
cols[1].metric("Confidence", f"{row.confidence:.0%}" if row.confidence is not None else "–")
cols[2].metric("Route", row.route or "–")
cols[3].metric("Latency", f"{row.latency_ms:,.1f} ms" if row.latency_ms is not None else "–")

st.markdown("**Customer asked** (personal data masked)")
st.text(trace.question)
if trace.follow_up:  # the query holds customer text: st.text, never Markdown
    st.caption("Read as a follow-up; searched for:")
    st.text(trace.query)
elif trace.mended:
    st.caption("Read with its typos mended:")
    st.text(trace.mended)

st.markdown("#### Spans")
if trace.spans:
    st.altair_chart(charts.waterfall(trace.spans), use_container_width=True)
    st.table(pd.DataFrame(
        [{"step": s.node, "inside": s.parent or "", "start ms": round(s.start_ms, 2),
          "duration ms": round(s.duration_ms, 2), "status": s.status,
          "error": literal(s.error or ""),  # st.table renders Markdown; these hold customer text
          "input": literal(s.input_summary or ""), "output": literal(s.output_summary or "")}
         for s in trace.spans]
    ).set_index("step"))
else:
    st.caption("No spans were recorded for this turn.")

st.markdown("#### Why this answer")
st.markdown(f"- **Intent** `{row.intent}` with confidence {row.confidence or 0:.2f}"
            + (f" (model's best guess: `{trace.best_guess}`)" if trace.best_guess != row.intent else ""))
if trace.alternatives:
    st.markdown("- **Runners-up:** " + ", ".join(f"`{a}` {p:.2f}" for a, p in trace.alternatives))
if trace.evidence:
    st.markdown("- **Nearest examples by meaning** (what the intent decision leaned on):")
    st.dataframe(spreadsheet_safe(
        [{"example": text, "intent": intent, "similarity": similarity}
         for text, intent, similarity in trace.evidence]),
        hide_index=True, use_container_width=True)
st.markdown(f"- **Route taken:** `{row.route}`")
st.markdown(f"- **Intent model:** version {row.model_version}" if row.model_version
            else "- **Intent model:** the data pack alone (before any labels went live)")
if trace.passages:
    st.markdown("- **Retrieved passages:**")
    st.dataframe(spreadsheet_safe(
        [{"article": p.get("title"), "section": p.get("heading"), "score": p.get("score"),
          "similarity": p.get("cosine"), "intent match": p.get("intent_match")}
         for p in trace.passages]),
        hide_index=True, use_container_width=True,
    )
st.markdown("**Reply**")
st.markdown(literal(trace.answer))
if trace.sources:
    st.caption("Sources: " + ", ".join(literal(s.get("title", "")) for s in trace.sources))
if trace.langsmith_run_id:
    url = service.langsmith_url(user, trace.langsmith_run_id)
    if url:
        st.link_button("Open in LangSmith", url)
    else:
        st.caption(f"LangSmith run `{trace.langsmith_run_id}` (LangSmith not reachable for a link)")
