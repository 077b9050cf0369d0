"""Live panels and widget callbacks re-check the session: a supervisor disabled, demoted
or logged out elsewhere cannot acknowledge alerts or store feedback from an open page."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from streamlit.testing.v1 import AppTest

from core.monitoring.monitor import Monitor
from core.security.browser_sessions import SessionEnded
from core.security.user_admin import CLI_ADMIN
from core.storage.models import Alert, AlertThreshold, Feedback, UserSession, utcnow
from tests.ui.test_app import PASSWORD, app, log_in


def _firing_alert(runtime) -> None:
    with runtime.sessions.begin() as session:
        session.add(AlertThreshold(rule="disk_high", threshold=0.0, updated_by="test"))
        for quiet in ("cpu_high", "memory_high"):
            session.add(AlertThreshold(rule=quiet, threshold=100.0, updated_by="test"))
    monitor = Monitor(runtime.sessions, disk_path=runtime.settings.state_dir, consecutive=1)
    assert any(a.rule == "disk_high" for _, a in monitor.tick())


def _alert_status(runtime) -> str:
    with runtime.sessions() as session:
        return session.scalar(select(Alert.status).where(Alert.rule == "disk_high"))


def _login_prompt(at: AppTest) -> bool:
    return (any(b.label == "Log in" for b in at.button)
            or any(i.value == "Please log in to continue." for i in at.info))


def _alerts_page(runtime) -> AppTest:
    _firing_alert(runtime)
    at = log_in(app(), "sam").switch_page("pages/system_alerts.py").run()
    assert not at.exception and any(b.label == "Acknowledge" for b in at.button)
    return at


@pytest.mark.parametrize("revoke", ["disable", "log_out_elsewhere"])
def test_acknowledge_is_refused_once_the_session_has_ended(runtime, revoke) -> None:
    at = _alerts_page(runtime)
    if revoke == "disable":
        runtime.users.set_active(CLI_ADMIN, "sam", False)
    else:
        runtime.accounts.browser_sessions.end(at.session_state["session_token"])
    next(b for b in at.button if b.label == "Acknowledge").click().run()
    assert not at.exception
    assert _alert_status(runtime) == "firing"  # the click did nothing
    assert _login_prompt(at)  # the page is the login prompt now
    assert not any(b.label == "Acknowledge" for b in at.button)


def test_acknowledge_is_refused_once_the_role_lost_the_permission(runtime) -> None:
    at = _alerts_page(runtime)
    runtime.users.set_role(CLI_ADMIN, "sam", "customer")
    next(b for b in at.button if b.label == "Resolve").click().run()
    assert not at.exception
    assert _alert_status(runtime) == "firing"
    assert [e.value for e in at.error] == ["You're not allowed to see this page."]
    assert not any(b.label == "Resolve" for b in at.button)


def test_the_live_panel_shows_the_login_prompt_after_the_session_ended(runtime) -> None:
    at = _alerts_page(runtime)
    runtime.users.set_active(CLI_ADMIN, "sam", False)
    at.run()
    assert not at.exception
    assert not at.metric and not any(b.label == "Acknowledge" for b in at.button)
    assert _login_prompt(at)


def _feedback_script() -> None:
    import streamlit as st

    from ui.chat_view import _store_feedback
    from ui.runtime import get_runtime

    st.session_state["feedback-rated"] = 1  # what the thumbs widget would hold
    st.button("rate", on_click=_store_feedback,
              args=(get_runtime().chat, st.session_state.get("turn_id", 0), "feedback-rated"))


@pytest.mark.parametrize("ended", [False, True])
def test_feedback_is_stored_only_while_the_session_is_open(runtime, ended) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    turn_id = runtime.chat.send(alice, None, "how do I change my PIN").turn_id
    token = runtime.accounts.start_session(alice)
    at = AppTest.from_function(_feedback_script, default_timeout=30)
    at.session_state["session_token"] = token
    at.session_state["turn_id"] = turn_id
    at.run()
    if ended:
        runtime.accounts.browser_sessions.end(token)
    at.button[0].click().run()
    assert not at.exception
    with runtime.sessions() as session:
        stored = session.scalar(select(Feedback.score).where(Feedback.turn_id == turn_id))
    assert stored == (None if ended else 1)


def test_a_panel_refreshing_itself_does_not_keep_an_idle_session_alive(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    token = runtime.accounts.start_session(alice)
    sessions = runtime.accounts.browser_sessions
    started = utcnow()
    for minutes in range(1, 30):  # a refresh every minute for half an hour...
        sessions.resume(token, started + timedelta(minutes=minutes), touch=False)
    with runtime.sessions() as session:
        assert session.scalar(select(UserSession.last_seen_at)) < started + timedelta(minutes=1)
    with pytest.raises(SessionEnded, match="without activity"):  # ...is not activity
        sessions.resume(token, started + timedelta(minutes=31), touch=False)
