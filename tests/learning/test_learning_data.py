"""Labels are a customer's data too (export, delete, retention keeps them masked), and the
statistics count the turns needing review and the labels."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from core.engine.engine import memory_checkpointer
from core.monitoring.learning_stats import learning_stats
from core.monitoring.windows import window_ending
from core.runtime import Runtime
from core.security.user_admin import CLI_ADMIN
from core.storage.models import LabelledExample, Message, utcnow
from tests.learning.conftest import SUPERVISOR

PERSONAL = "my card was stolen, call me on +44 7700 900123"


def start(settings) -> Runtime:
    return Runtime.start(settings, checkpointer=memory_checkpointer(), rate_limit=False)


def test_export_delete_and_purge_cover_the_labels(learning_settings) -> None:
    runtime = start(learning_settings)
    alice, bob = runtime.local_user("alice"), runtime.local_user("bob")
    mine = runtime.chat.send(alice, None, PERSONAL)
    theirs = runtime.chat.send(bob, None, PERSONAL)
    runtime.learning.label_turn(SUPERVISOR, mine.turn_id, "lost_or_stolen_card")
    runtime.learning.label_turn(SUPERVISOR, theirs.turn_id, "lost_or_stolen_card")
    assert runtime.learning.idle.wait(timeout=120)

    exported = runtime.privacy.export(alice)
    assert [(x["text"], x["label"]) for x in exported["labels"]] == [(PERSONAL,
                                                                       "lost_or_stolen_card")]
    assert runtime.privacy.delete_mine(alice) == 1
    with runtime.sessions.begin() as session:
        assert session.scalars(select(LabelledExample.turn_id)).all() == [theirs.turn_id]
        session.execute(update(Message).values(created_at=utcnow() - timedelta(days=40)))
    assert runtime.privacy.purge(CLI_ADMIN, 30) == 1
    with runtime.sessions() as session:
        kept = session.scalars(select(LabelledExample)).one()
    assert kept.masked and kept.turn_id is None and kept.message_id is None
    assert "7700" not in kept.text and "[phone]" in kept.text and "stolen" in kept.text
    runtime.close()


def test_statistics_show_the_share_needing_review_and_the_labels(learning_settings) -> None:
    runtime = start(learning_settings)
    alice = runtime.local_user("alice")
    confident = runtime.chat.send(alice, None, "how do i change my pin")
    unsure = runtime.chat.send(alice, None, "tell me about the history of rome")
    runtime.chat.give_feedback(alice, confident.turn_id, 1)
    runtime.learning.label_turn(SUPERVISOR, unsure.turn_id, "out_of_scope")
    assert runtime.learning.idle.wait(timeout=120)
    runtime.chat.send(alice, None, "what is the capital of peru")
    with runtime.sessions() as session:
        found = learning_stats(session, window_ending(utcnow() + timedelta(seconds=1),
                                                      timedelta(hours=1)), timedelta(minutes=5))
    assert found.turns == 3 and found.needing_review == 2, found
    assert found.labels == {"live": 1}
    assert [v for v, _ in found.versions] == [0, runtime.engine.model_version]
    runtime.close()
