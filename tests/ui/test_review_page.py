"""AppTest of the Review page: the turns that need a look, masked, and a label that
retrains the model in the background."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from core.engine.engine import memory_checkpointer
from core.runtime import Runtime
from core.security.auth import add_user
from core.storage.models import LabelledExample
from tests.learning.conftest import learning_settings, small_pack  # noqa: F401 - fixtures
from tests.ui.test_app import PASSWORD, app, log_in
from ui import runtime as ui_runtime

MISSED = "my plastic got pinched, mail jo@example.com"


@pytest.fixture
def review_runtime(learning_settings, monkeypatch) -> Runtime:  # noqa: F811
    runtime = Runtime.start(learning_settings, checkpointer=memory_checkpointer(),
                            rate_limit=False)
    with runtime.sessions.begin() as session:
        for name, role in (("alice", "customer"), ("sam", "supervisor")):
            add_user(session, name, PASSWORD, role)
    monkeypatch.setattr(ui_runtime, "override", runtime)
    return runtime


def test_a_supervisor_labels_a_missed_message_and_the_model_learns_it(review_runtime) -> None:
    alice = review_runtime.accounts.authenticate("alice", PASSWORD)
    missed = review_runtime.chat.send(alice, None, MISSED)
    assert missed.intent != "lost_or_stolen_card"
    review_runtime.chat.give_feedback(alice, missed.turn_id, 0)  # a wrong answer: thumbs down
    at = log_in(app(), "sam").switch_page("pages/review.py").run()
    assert not at.exception
    texts = [t.value for t in at.text]
    assert any("[email]" in t for t in texts) and not any("jo@example.com" in t for t in texts)
    key = f"review_label_{missed.turn_id}"
    at.selectbox(key=key).select("lost_or_stolen_card")
    at.button(key=f"review_save_{missed.turn_id}").click().run()
    assert not at.exception
    assert "labelled" in at.success[0].value
    assert review_runtime.learning.idle.wait(timeout=120)
    with review_runtime.sessions() as session:
        assert session.scalar(select(LabelledExample.status)) == "live"
    assert review_runtime.chat.send(alice, None, MISSED).intent == "lost_or_stolen_card"
    at.run()
    assert not at.exception
    assert "version 1" in " ".join(m.value for m in at.markdown)
    assert [i.value for i in at.info] == ["Nothing needs a look with these filters."]


def test_customers_cannot_open_the_review_page(review_runtime) -> None:
    at = log_in(app(), "alice").switch_page("pages/review.py").run()
    assert not at.exception
    assert [e.value for e in at.error] == ["You're not allowed to see this page."]
    fresh = app()
    fresh.switch_page("pages/review.py").run()
    assert [i.value for i in fresh.info] == ["Please log in to continue."]
