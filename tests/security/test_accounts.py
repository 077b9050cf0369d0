"""Passwords, login throttling, sessions, user administration, privacy and the audit log."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from sqlalchemy import select, text, update

from core.runtime import Runtime
from core.security.auth import AuthError, add_user, password_problem, principal_of
from core.security.browser_sessions import SessionEnded
from core.security.rate_limits import RateLimited
from core.security.user_admin import CLI_ADMIN
from core.storage.models import AuditEvent, Conversation, Message, Span, User, UserSession, utcnow

PASSWORD = "harbour-lantern-quietly-7"
LONGEST = "velvet-harbour-quietly-copper-mosaic-lantern-orchid-saffron-tide"


@pytest.mark.parametrize(("password", "username", "problem"), [
    ("short-pass", "", "at least 12"),
    ("correct horse battery staple", "", None),  # no composition rules: lowercase words pass
    ("glimmer-quartz-otter-meadow", "", None),
    ("Password1234", "", "too common"),
    ("qwertyuiop123", "", "too common"),
    ("aaaaaaaaaaaaaaaa", "", "too common"),
    ("alice-harbour-lantern", "alice", "username"),
    (LONGEST, "", None),  # 64 characters are accepted
    (LONGEST + "s", "", "at most 64"),
    ("ünïcødé-påsswörd-ŧest-" * 2 + "✓✓✓✓✓", "", "72 bytes"),  # < 64 chars, > 72 bytes
    ("🔐🌊🦉🍋🚲🎻🧭🪁🌵🧊🐙🥨🔭🪴🎲🧶🦔🍄🪐🥝", "", "72 bytes"),
])
def test_password_policy(password, username, problem) -> None:
    found = password_problem(password, username)
    if problem is None:
        assert found is None
    else:
        assert found is not None and problem in found


def test_minimum_length_is_configurable_and_hashes_cost_12(settings, engine) -> None:
    runtime = Runtime.start(settings.model_copy(update={"password_min_chars": 20}), engine=engine)
    with pytest.raises(AuthError, match="at least 20"):
        runtime.accounts.sign_up("newbie", "glimmer-quartz-ott", "glimmer-quartz-ott")
    runtime.accounts.sign_up("newbie", "glimmer-quartz-otter-meadow", "glimmer-quartz-otter-meadow")
    with runtime.sessions() as session:
        assert session.scalar(select(User.password_hash)).startswith("$2b$12$")
        assert session.scalar(select(AuditEvent.action)) == "sign_up"


@pytest.fixture
def runtime(settings, engine) -> Runtime:
    rt = Runtime.start(settings.model_copy(update={"login_failure_limit": "5 per 15 minutes",
                                                 "login_client_limit": "5 per 15 minutes"}),
                       engine=engine)
    with rt.sessions.begin() as session:
        add_user(session, "alice", PASSWORD)
        add_user(session, "bob", PASSWORD)
        add_user(session, "ada", PASSWORD, "admin")
    return rt


def test_six_fast_failures_throttle_the_account_for_a_while(runtime) -> None:
    for _ in range(5):
        assert runtime.accounts.authenticate("alice", "wrong-password-here", "10.0.0.1") is None
    with pytest.raises(RateLimited, match="Too many failed attempts"):
        runtime.accounts.authenticate("alice", "wrong-password-here", "10.0.0.2")
    with pytest.raises(RateLimited):  # even the right password waits: no oracle while throttled
        runtime.accounts.authenticate("alice", PASSWORD, "10.0.0.3")
    assert runtime.accounts.authenticate("bob", PASSWORD, "10.0.0.3") is not None  # others unaffected
    with runtime.sessions() as session:  # failures name the account by id (the typed name is masked)
        alice = session.scalar(select(User.id).where(User.username == "alice"))
        outcomes = session.scalars(select(AuditEvent.outcome).where(
            AuditEvent.action == "login", AuditEvent.actor_id == alice)).all()
    assert outcomes.count("failure") == 5 and outcomes.count("throttled") == 2


def test_one_client_failing_on_many_accounts_is_throttled(runtime) -> None:
    for name in ("u1", "u2", "u3", "u4", "u5"):
        runtime.accounts.authenticate(name, "wrong-password-here", "203.0.113.9")
    with pytest.raises(RateLimited):
        runtime.accounts.authenticate("alice", PASSWORD, "203.0.113.9")
    assert runtime.accounts.authenticate("alice", PASSWORD, "198.51.100.1") is not None


def test_unknown_and_known_usernames_take_the_same_time(runtime) -> None:
    runtime.accounts.throttle = None  # timing only
    runtime.accounts.authenticate("ghost", "warm-up-password")

    def mean_seconds(username: str) -> float:
        started = time.perf_counter()
        for _ in range(6):
            assert runtime.accounts.authenticate(username, "not-the-password-at-all") is None
        return (time.perf_counter() - started) / 6

    known, unknown = [], []
    for _ in range(2):  # interleaved, so machine noise hits both
        known.append(mean_seconds("alice"))
        unknown.append(mean_seconds("nobody-by-this-name"))
    ratio = sum(unknown) / sum(known)
    # an unknown name skipping bcrypt would be a ratio near 0.01; the band is for noise
    assert 0.5 < ratio < 2.0, f"unknown/known login time ratio {ratio:.2f}"


def test_sessions_store_only_a_hash_and_end_on_idle_absolute_and_logout(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    service = runtime.accounts.browser_sessions
    token = runtime.accounts.start_session(alice, "10.0.0.1")
    assert len(token) >= 43  # 256 random bits, url-safe
    with runtime.db.connect() as connection:
        dump = " ".join(str(v) for row in connection.execute(text("select * from user_sessions"))
                        for v in row)
    assert token not in dump
    assert service.resume(token) == alice
    now = utcnow()
    assert service.resume(token, now + timedelta(minutes=29)) == alice
    with pytest.raises(SessionEnded, match="30 minutes without activity"):
        service.resume(token, now + timedelta(minutes=29) + timedelta(minutes=31))
    with pytest.raises(SessionEnded):  # stays ended
        service.resume(token)

    token = runtime.accounts.start_session(alice)
    at = utcnow()
    for minutes in range(20, 12 * 60, 20):  # active all along...
        service.resume(token, at + timedelta(minutes=minutes))
    with pytest.raises(SessionEnded, match="12 hours"):  # ...still ends after 12 hours
        service.resume(token, at + timedelta(hours=12, minutes=1))

    token = runtime.accounts.start_session(alice)
    runtime.accounts.log_out(alice, token)
    with pytest.raises(SessionEnded, match="logged out"):
        service.resume(token)


def test_disabling_a_user_or_resetting_their_password_ends_their_sessions(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    service = runtime.accounts.browser_sessions
    first, second = runtime.accounts.start_session(alice), runtime.accounts.start_session(alice)
    assert runtime.users.set_active(CLI_ADMIN, "alice", False) == 2
    for token in (first, second):
        with pytest.raises(SessionEnded, match="disabled"):
            service.resume(token)
    assert runtime.accounts.authenticate("alice", PASSWORD) is None
    runtime.users.set_active(CLI_ADMIN, "alice", True)
    token = runtime.accounts.start_session(runtime.accounts.authenticate("alice", PASSWORD))
    new_password = runtime.users.reset_password(CLI_ADMIN, "alice")
    with pytest.raises(SessionEnded, match="password was changed"):
        service.resume(token)
    assert runtime.accounts.authenticate("alice", new_password) is not None


def test_a_password_change_ends_the_other_sessions_only(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    service = runtime.accounts.browser_sessions
    here, elsewhere = runtime.accounts.start_session(alice), runtime.accounts.start_session(alice)
    with pytest.raises(AuthError, match="current password"):
        runtime.accounts.change_password(alice, "wrong", "glimmer-quartz-otter-meadow",
                                         "glimmer-quartz-otter-meadow", keep_token=here)
    runtime.accounts.change_password(alice, PASSWORD, "glimmer-quartz-otter-meadow",
                                     "glimmer-quartz-otter-meadow", keep_token=here)
    assert service.resume(here) == alice
    with pytest.raises(SessionEnded):
        service.resume(elsewhere)
    assert runtime.accounts.authenticate("alice", "glimmer-quartz-otter-meadow") is not None


def test_role_changes_apply_to_open_sessions_and_admins_cannot_lock_themselves_out(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    ada = runtime.accounts.authenticate("ada", PASSWORD)
    token = runtime.accounts.start_session(alice)
    runtime.users.set_role(ada, "alice", "supervisor")
    assert runtime.accounts.browser_sessions.resume(token).can("monitoring:read")
    with pytest.raises(AuthError):
        runtime.users.set_active(ada, "ada", False)
    with pytest.raises(AuthError):
        runtime.users.set_role(ada, "ada", "customer")
    with pytest.raises(AuthError, match="Unknown role"):
        runtime.users.set_role(ada, "alice", "root")


def test_admin_actions_are_audited_with_who_and_where(runtime) -> None:
    ada = runtime.accounts.authenticate("ada", PASSWORD, "192.0.2.7")
    runtime.accounts.authenticate("ada", "wrong-password-here", "192.0.2.8")
    runtime.users.add(ada, "carol", "customer", client="192.0.2.7")
    runtime.users.set_role(ada, "carol", "supervisor", client="192.0.2.7")
    runtime.users.set_active(ada, "carol", False, client="192.0.2.7")
    runtime.privacy.purge(ada, 30, client="192.0.2.7")
    events = {(e.action, e.outcome): e for e in runtime.audit.events(ada)}
    assert set(events) >= {("login", "success"), ("login", "failure"), ("user_add", "success"),
                           ("role_change", "success"), ("user_disable", "success"),
                           ("purge", "success")}
    assert events[("role_change", "success")].actor == "ada"
    assert events[("role_change", "success")].client == "192.0.2.7"
    assert events[("login", "failure")].client == "192.0.2.8"
    assert "customer -> supervisor" in events[("role_change", "success")].detail


def test_customers_export_and_delete_their_own_conversations_only(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    bob = runtime.accounts.authenticate("bob", PASSWORD)
    mine = runtime.chat.send(alice, None, "How do I freeze my card?")
    runtime.chat.send(alice, mine.conversation_id, "thanks!")
    theirs = runtime.chat.send(bob, None, "What are your exchange rates?")
    runtime.close()
    export = runtime.privacy.export(alice)
    assert [m["text"] for c in export["conversations"] for m in c["messages"]
            if m["role"] == "customer"] == ["How do I freeze my card?", "thanks!"]
    assert "exchange rates" not in str(export)
    assert runtime.privacy.delete_mine(alice) == 1
    with runtime.sessions() as session:
        assert session.scalar(select(Conversation.id).where(Conversation.user_id == alice.id)) is None
        assert session.scalar(select(Span.id).where(Span.turn_id == mine.turn_id)) is None
        assert session.scalar(select(Message.id).where(
            Message.conversation_id == theirs.conversation_id)) is not None
    assert runtime.chat.conversations(alice) == []
    again = runtime.chat.send(alice, None, "hello again")  # the customer carries on
    assert again.text and again.conversation_id != mine.conversation_id


def test_purge_deletes_conversations_older_than_the_retention(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    old = runtime.chat.send(alice, None, "an old question about fees")
    recent = runtime.chat.send(alice, None, "a recent question about fees")
    runtime.close()
    with runtime.sessions.begin() as session:
        long_ago = utcnow() - timedelta(days=40)
        session.execute(update(Message).where(Message.conversation_id == old.conversation_id)
                        .values(created_at=long_ago))
    assert runtime.privacy.purge(CLI_ADMIN, 30) == 1
    assert [c.id for c in runtime.chat.conversations(alice)] == [recent.conversation_id]
    with pytest.raises(ValueError, match="whole number of days"):
        runtime.privacy.purge(CLI_ADMIN, 0)


def test_sessions_of_a_deleted_user_row_cannot_resume(runtime) -> None:
    with runtime.sessions.begin() as session:
        user = session.scalar(select(User).where(User.username == "bob"))
        bob = principal_of(user)
    token = runtime.accounts.start_session(bob)
    with runtime.sessions.begin() as session:
        session.execute(update(User).where(User.id == bob.id).values(is_active=False))
    with pytest.raises(SessionEnded, match="disabled"):
        runtime.accounts.browser_sessions.resume(token)
    with runtime.sessions() as session:
        assert session.scalar(select(UserSession.end_reason)) == "disabled"


def test_purge_from_the_command_line_needs_a_retention(settings) -> None:
    import subprocess
    import sys

    from core.config import PROJECT_DIR

    env = {"CONCIERGE_STATE_DIR": str(settings.state_dir), "PATH": "/usr/bin:/bin"}
    result = subprocess.run([sys.executable, "-m", "core.cli", "purge"], env=env, cwd=PROJECT_DIR,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 1 and "retention" in result.stderr
    result = subprocess.run([sys.executable, "-m", "core.cli", "purge", "--json"],
                            env={**env, "CONCIERGE_RETENTION_DAYS": "30"}, cwd=PROJECT_DIR,
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0 and '"deleted_conversations": 0' in result.stdout
