"""System alerts (supervisors and admins): live host gauges, open alerts, history, thresholds."""

import time

import streamlit as st

from core.monitoring.alert_book import AlertNotFound
from core.security.auth import Principal
from ui.runtime import get_runtime, start_monitor
from ui.session import guard_callback, guarded_fragment, require_permission
from ui.text import spreadsheet_safe

user = require_permission("monitoring:read")
runtime = get_runtime()
service = runtime.monitoring
start_monitor()
REFRESH_S = 5
EVENT_ICONS = {"alert_firing": ":material/notifications_active:",
               "alert_resolved": ":material/check_circle:",
               "handoff_requested": ":material/support_agent:"}
SEVERITY_ICONS = {"critical": ":material/error:", "warning": ":material/warning:",
                  "info": ":material/info:"}

st.title("System alerts")


@guarded_fragment("monitoring:read", run_every=REFRESH_S)
def live_alerts(user: Principal) -> None:
    """Re-checks the session on every refresh: a revoked supervisor sees the login prompt."""
    sample = service.latest_sample(user)
    if sample is None:
        st.info("The monitor has not taken a reading yet: give it a few seconds.")
    else:
        cols = st.columns(4)
        for col, label, value in ((cols[0], "CPU", sample.cpu_percent),
                                  (cols[1], "Memory", sample.memory_percent),
                                  (cols[2], "Disk", sample.disk_percent)):
            col.metric(label, f"{value:.0f}%")
            col.progress(min(max(value / 100, 0.0), 1.0))
        cols[3].metric("App memory", f"{sample.process_rss_mb:,.0f} MB")
        st.caption(f"Read at {sample.created_at:%H:%M:%S} UTC; refreshes every {REFRESH_S} s.")

    st.subheader("Open alerts")
    alerts = service.open_alerts(user)
    if not alerts:
        st.success("No open alerts.", icon=":material/check_circle:")
    for alert in alerts:
        with st.container(border=True):
            st.markdown(f"{SEVERITY_ICONS.get(alert.severity, '')} **{alert.severity.upper()}** · "
                        f"{alert.message}")
            acked = (f" · acknowledged by {alert.acknowledged_by} at {alert.acknowledged_at:%H:%M:%S}"
                     if alert.acknowledged_by else "")
            st.caption(f"Firing since {alert.fired_at:%Y-%m-%d %H:%M:%S} UTC{acked}")
            left, right, _ = st.columns([1, 1, 3])
            if alert.status == "firing":
                left.button("Acknowledge", key=f"ack-{alert.id}", on_click=_act,
                            args=(service.acknowledge, alert.id))
            right.button("Resolve", key=f"resolve-{alert.id}", on_click=_act,
                         args=(service.resolve, alert.id))
    if notice := st.session_state.pop("alert_notice", None):
        st.warning(notice)

    seen = st.session_state.get("events_seen", time.time() - 60)
    for event in service.live_events(user, seen):
        st.toast(event.title, icon=EVENT_ICONS.get(event.kind, ":material/info:"))
        seen = max(seen, event.at)
    st.session_state["events_seen"] = seen

    st.subheader("Customers waiting for a person")
    requests = service.handoff_requests(user)
    if requests:
        st.dataframe(spreadsheet_safe([{"conversation": r.conversation_id, "customer": r.customer,
                                        "asked (UTC)": r.requested_at} for r in requests]),
                     hide_index=True, use_container_width=True)
    else:
        st.caption("Nobody is waiting.")


@guard_callback("monitoring:write")
def _act(user: Principal, action, alert_id: int) -> None:
    """Button callback: runs before the page redraws, so the list shows the new state.
    Refused (not run) once the session has ended or the role lost the permission."""
    try:
        action(user, alert_id)
    except AlertNotFound as exc:
        st.session_state["alert_notice"] = str(exc)


live_alerts()

st.subheader("History")
history = service.alert_history(user)
if history:
    st.dataframe(spreadsheet_safe(
        [{"alert": a.id, "rule": a.rule, "severity": a.severity, "status": a.status,
          "message": a.message, "fired (UTC)": a.fired_at,
          "acknowledged by": a.acknowledged_by or "", "resolved (UTC)": a.resolved_at,
          "resolved by": a.resolved_by or ("automatic" if a.resolved_at else "")}
         for a in history]),
        hide_index=True, use_container_width=True,
    )
else:
    st.caption("No alerts yet.")

st.subheader("Thresholds")
st.caption(f"A rule fires after {runtime.settings.alert_consecutive} readings in a row above its "
           "threshold and resolves after as many below 90% of it.")
with st.form("thresholds"):
    rules = service.rules(user)
    values = {
        rule.name: st.number_input(f"{rule.title} ({rule.unit}, {rule.scope})", min_value=0.0,
                                   value=float(rule.threshold), key=f"threshold-{rule.name}",
                                   help=f"Default {default:g}")
        for rule, default in rules
    }
    if st.form_submit_button("Save thresholds"):
        changed = [r.name for r, _ in rules if values[r.name] != r.threshold]
        for name in changed:
            service.set_threshold(user, name, values[name])
        st.success(f"Saved {len(changed)} threshold(s)." if changed else "Nothing changed.")
