"""AppTest: My account (password change, download, delete) and the admins' audit log."""

from __future__ import annotations

import json

from core.security import audit
from core.storage.models import Conversation
from tests.ui.test_app import PASSWORD, app, log_in

NEW_PASSWORD = "glimmer-quartz-otter-meadow"


def _open(at, page: str):
    at.switch_page(page)
    return at.run()


def test_change_password_keeps_this_session_and_ends_the_others(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    elsewhere = runtime.accounts.start_session(alice)
    at = _open(log_in(app(), "alice"), "pages/my_account.py")
    assert not at.exception and at.title[0].value == "My account"
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input(PASSWORD)
    fields["New password"].input("short")
    fields["New password again"].input("short")
    next(b for b in at.button if b.label == "Change password").click()
    at.run()
    assert [e.value for e in at.error] == ["Use at least 12 characters."]
    fields = {t.label: t for t in at.text_input}
    fields["Current password"].input(PASSWORD)
    fields["New password"].input(NEW_PASSWORD)
    fields["New password again"].input(NEW_PASSWORD)
    next(b for b in at.button if b.label == "Change password").click()
    at.run()
    assert not at.exception and "Password changed" in at.success[0].value
    assert at.title[0].value == "My account"  # still logged in here
    assert runtime.accounts.authenticate("alice", NEW_PASSWORD) is not None
    try:
        runtime.accounts.browser_sessions.resume(elsewhere)
    except Exception as exc:  # noqa: BLE001 (SessionEnded expected)
        assert "password was changed" in str(exc)
    else:
        raise AssertionError("the other session should have ended")


def test_download_and_delete_my_conversations(runtime) -> None:
    alice = runtime.accounts.authenticate("alice", PASSWORD)
    runtime.chat.send(alice, None, "How do I order a new card?")
    at = _open(log_in(app(), "alice"), "pages/my_account.py")
    next(b for b in at.button if b.label == "Prepare my download").click()
    at.run()
    exported = json.loads(at.session_state["export"])
    assert exported["conversations"][0]["messages"][0]["text"] == "How do I order a new card?"
    delete = next(b for b in at.button if b.label == "Delete my conversations")
    assert delete.disabled  # needs the confirmation first
    at.checkbox(key="delete_sure").check()
    at.run()
    next(b for b in at.button if b.label == "Delete my conversations").click()
    at.run()
    assert not at.exception and "Deleted 1 conversation" in at.success[0].value
    with runtime.sessions() as session:
        assert session.query(Conversation).count() == 0


def test_audit_log_is_for_admins_only(runtime) -> None:
    at = _open(log_in(app(), "sam"), "pages/audit_log.py")
    assert [e.value for e in at.error] == ["You're not allowed to see this page."]
    at = _open(log_in(app(), "ada"), "pages/audit_log.py")
    assert not at.exception and at.title[0].value == "Audit log"
    table = at.dataframe[0].value
    assert {"login"} <= set(table["action"]) and "ada" in set(table["who"])


def test_the_audit_log_page_offers_no_live_formula(runtime) -> None:
    with runtime.sessions.begin() as session:
        audit.record(session, "user_add", actor=runtime.accounts.authenticate("ada", PASSWORD),
                     client='=cmd|" /C calc"!A0', detail="-clive as customer")
    at = _open(log_in(app(), "ada"), "pages/audit_log.py")
    table = at.dataframe[0].value
    cells = [str(v) for column in ("who", "from", "detail") for v in table[column]]
    assert "'=cmd|\" /C calc\"!A0" in cells and "'-clive as customer" in cells
    assert not any(cell.startswith(("=", "+", "-", "@", "\t", "\r")) for cell in cells)
