"""Smaller round-two items: failed-login names are masked in the audit log, no table a
page offers as CSV holds a live spreadsheet formula, conversation ids are never reused
after a purge (so no process's owner cache can meet a new conversation under an old
owner), and the demo password passes the same strength rules as any password."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, select, text

from core.conversations.service import ConversationNotFound
from core.runtime import Runtime
from core.security import audit
from core.security.auth import AuthError, add_user
from core.security.demo_users import seed_demo_users
from core.storage.models import User
from ui.text import spreadsheet_safe

PASSWORD = "harbour-lantern-quietly-7"
TYPED_PASSWORD = "velvet-orchid-saffron-91"  # typed into the username field by mistake


@pytest.fixture
def runtime(settings, engine) -> Runtime:
    rt = Runtime.start(settings, engine=engine, rate_limit=False)
    with rt.sessions.begin() as session:
        add_user(session, "alice", PASSWORD)
        add_user(session, "ada", PASSWORD, "admin")
    return rt


def test_failed_login_names_are_masked_and_successful_ones_kept(runtime) -> None:
    assert runtime.accounts.authenticate("alice", "wrong-password-here", "10.0.0.1") is None
    assert runtime.accounts.authenticate(TYPED_PASSWORD, PASSWORD, "10.0.0.1") is None
    assert runtime.accounts.authenticate("alice", PASSWORD, "10.0.0.1") is not None
    with runtime.sessions() as session:
        alice = session.scalar(select(User.id).where(User.username == "alice"))
    events = [(e.outcome, e.actor) for e in runtime.audit.events(_ada(runtime))
              if e.action == "login"]
    assert events == [("success", "ada"), ("success", "alice"), ("failure", audit.NOT_AN_ACCOUNT),
                      ("failure", "a****")]
    raw = create_engine(runtime.settings.sqlalchemy_url)
    with raw.connect() as connection:
        rows = connection.execute(text("select actor, actor_id, outcome from audit_events")).all()
    raw.dispose()
    assert not any(TYPED_PASSWORD in str(row) for row in rows)
    assert ("a****", alice, "failure") in [tuple(r) for r in rows]  # still tied to the account


def _ada(runtime: Runtime):
    return runtime.accounts.authenticate("ada", PASSWORD)


@pytest.mark.parametrize("cell", ["=HYPERLINK(\"http://e\")", "+1+1", "-2+3", "@SUM(A1)",
                                  "\tx", "\rx"])
def test_formula_cells_are_neutralised(cell) -> None:
    assert spreadsheet_safe([{"who": cell, "n": -3}]) == [{"who": "'" + cell, "n": -3}]
    assert spreadsheet_safe([{"who": "alice"}]) == [{"who": "alice"}]


def test_a_purged_conversation_id_is_never_reused_by_another_process(settings, engine) -> None:
    app_process = Runtime.start(settings, engine=engine, rate_limit=False)
    cli_process = Runtime.start(settings, engine=engine, rate_limit=False)
    with app_process.sessions.begin() as session:
        add_user(session, "alice", PASSWORD)
        add_user(session, "bob", PASSWORD)
    app_process.chat.trace_writer = cli_process.chat.trace_writer = None  # not the point here
    alice = app_process.accounts.authenticate("alice", PASSWORD)
    bob = app_process.accounts.authenticate("bob", PASSWORD)
    first = app_process.chat.send(alice, None, "hello").conversation_id  # the owner is cached
    cli_process.privacy.delete_mine(alice)  # elsewhere: the app's cache is not told
    second = cli_process.chat.start_conversation(bob)
    assert second != first
    with pytest.raises(ConversationNotFound):
        app_process.chat.send(alice, second, "is this mine?")


def test_a_weak_demo_password_is_refused_in_one_line(runtime) -> None:
    for weak, reason in (("short", "at least 12"), ("password1234", "too common"),
                         ("alice-harbour-lantern", "username")):
        with pytest.raises(AuthError, match=f"CONCIERGE_DEMO_PASSWORD is refused: .*{reason}"):
            seed_demo_users(runtime.sessions, weak)
    with runtime.sessions() as session:
        assert session.scalar(select(User.id).where(User.username == "sam")) is None
    assert seed_demo_users(runtime.sessions, PASSWORD)[0] == ["max", "sam"]  # alice, ada exist


def test_init_demo_with_a_weak_password_fails_on_one_line(tmp_path, model_dir, engine) -> None:
    from tests.cli.test_cli import concierge

    out = concierge("init", "--demo", state=tmp_path / "state", model_dir=model_dir,
                    env={"CONCIERGE_DEMO_PASSWORD": "demo"})
    assert out.returncode == 1 and out.stdout == ""
    assert out.stderr.strip().count("\n") == 0
    assert out.stderr.startswith("concierge: error: CONCIERGE_DEMO_PASSWORD is refused: Use at least")
