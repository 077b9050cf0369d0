"""The app's own accounts: system names are reserved at sign-up and user add, and the
terminal's user is found by its system flag, never by the name `cli`."""

from __future__ import annotations

import pytest

from core.runtime import Runtime
from core.security.auth import (
    AuthError,
    add_user,
    authenticate,
    hash_password,
    login_candidate,
    system_user,
)
from core.security.user_admin import CLI_ADMIN

PASSWORD = "harbour-lantern-quietly-7"


@pytest.fixture
def runtime(settings, engine) -> Runtime:
    return Runtime.start(settings, engine=engine, rate_limit=False)


@pytest.mark.parametrize("name", ["cli", "CLI", "admin", "Root", "system", "bench"])
def test_system_names_are_refused_at_sign_up(runtime, name) -> None:
    with pytest.raises(AuthError, match="reserved"):
        runtime.accounts.sign_up(name, PASSWORD, PASSWORD)


def test_system_names_are_refused_when_an_admin_adds_a_user(runtime) -> None:
    with pytest.raises(AuthError, match="reserved"):
        runtime.users.add(CLI_ADMIN, "cli", "customer", PASSWORD)
    assert runtime.users.add(CLI_ADMIN, "clive", "customer", PASSWORD) == PASSWORD


def test_a_customer_named_cli_never_receives_the_terminals_conversations(runtime) -> None:
    with runtime.sessions.begin() as session:  # signed up before the name was reserved
        squatter = add_user(session, "cli", PASSWORD, "customer").id
    terminal = runtime.local_user()
    assert terminal.id != squatter and terminal.username == "cli@system"
    assert runtime.local_user().id == terminal.id  # found again by its flag
    reply = runtime.chat.send(terminal, None, "How do I activate my card?")
    mallory = runtime.accounts.authenticate("cli", PASSWORD)
    assert mallory is not None and mallory.id == squatter
    assert runtime.chat.conversations(mallory) == []
    assert [c.id for c in runtime.chat.conversations(terminal)] == [reply.conversation_id]


def test_the_terminals_account_is_named_cli_when_free_and_nobody_logs_in_as_it(runtime) -> None:
    terminal = runtime.local_user()
    assert terminal.username == "cli"
    with runtime.sessions.begin() as session:
        user = system_user(session, "cli")
        assert user.id == terminal.id
        user.password_hash = hash_password(PASSWORD)
    with runtime.sessions() as session:
        assert authenticate(login_candidate(session, "cli"), PASSWORD) is None
