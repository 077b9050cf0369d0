"""Label -> background retrain -> the same message is understood, on SQLite and
PostgreSQL; a second replica picks the model up; a bad batch is refused."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from sqlalchemy import select

from core.engine.engine import memory_checkpointer
from core.learning import service as learning_service
from core.learning.labels import CONFIRM, LabelError
from core.runtime import Runtime
from core.security.auth import NotAllowed, Principal
from core.storage.models import AuditEvent, LabelledExample, ModelVersion, Turn, utcnow
from tests.learning.conftest import SUPERVISOR

MISSED = "mugged last night and they took the lot"


def start(settings) -> Runtime:
    return Runtime.start(settings, checkpointer=memory_checkpointer(), rate_limit=False)


def wait_for_retrain(runtime: Runtime) -> None:
    assert runtime.learning.idle.wait(timeout=120), "the retrain did not finish"


@pytest.mark.parametrize("learning_settings", ["sqlite", "pg"], indirect=True)
def test_a_label_teaches_the_model_and_every_replica_follows(learning_settings) -> None:
    first, second = start(learning_settings), start(learning_settings)
    alice = first.local_user("alice")
    missed = first.chat.send(alice, None, MISSED)
    assert missed.intent != "lost_or_stolen_card"
    assert first.engine.model_version == 0

    first.learning.label_turn(SUPERVISOR, missed.turn_id, "lost_or_stolen_card")
    wait_for_retrain(first)

    version = first.learning.versions(SUPERVISOR)[0]
    assert version.status == "live", version.reason
    assert version.score_before is not None and version.held_out > 0
    assert first.engine.model_version == version.id
    again = first.chat.send(alice, None, MISSED)
    assert again.intent == "lost_or_stolen_card"
    with first.sessions() as session:
        assert session.get(Turn, again.turn_id).model_version == version.id
        assert session.get(Turn, missed.turn_id).model_version == 0
        label = session.scalar(select(LabelledExample))
        assert (label.status, label.turn_id, label.labelled_by) == ("live", missed.turn_id, "sam")
        stored = session.connection().exec_driver_sql("select text from labelled_examples").scalar()
        assert MISSED not in stored  # encrypted at rest
        assert session.scalar(select(AuditEvent.detail).where(AuditEvent.action == "label_add"))

    assert second.engine.model_version == 0
    assert second.learning.sync() is True  # the replica's cheap check finds the new version
    assert second.engine.model_version == version.id
    assert second.chat.send(second.local_user("bob"), None, MISSED).intent == "lost_or_stolen_card"
    assert second.learning.sync() is False
    third = start(learning_settings)  # a replica started later trains on the live labels
    assert third.engine.model_version == version.id
    for runtime in (first, second, third):
        runtime.close()


def test_a_batch_of_wrong_labels_is_refused_and_says_why(learning_settings) -> None:
    runtime = start(learning_settings)
    pack = runtime.engine.pack
    intents = list(pack.intents)
    wrong = [(text, intents[(intents.index(label) + 1) % len(intents)])
             for text, label in pack.examples[:120]]  # every one labelled as its neighbour
    runtime.learning.import_examples(SUPERVISOR, wrong)
    version = runtime.learning.retrain_now("sam")
    assert version is not None and version.status == "refused"
    assert "not put live" in version.reason and version.score_after < version.score_before
    assert runtime.engine.model_version == 0  # the live model stays
    with runtime.sessions() as session:
        assert set(session.scalars(select(LabelledExample.status))) == {"refused"}
    assert runtime.learning.retrain_now("sam") is None  # refused labels are not retried
    runtime.close()


def test_confirm_out_of_scope_and_article_labels(learning_settings) -> None:
    runtime = start(learning_settings)
    alice = runtime.local_user("alice")
    reply = runtime.chat.send(alice, None, "how do i change my pin")
    runtime.learning.label_turn(SUPERVISOR, reply.turn_id, CONFIRM)
    article = runtime.engine.pack.articles[0]
    other = runtime.chat.send(alice, None, "what is the weather on mars")
    runtime.learning.label_turn(SUPERVISOR, other.turn_id, "out_of_scope")
    runtime.learning.label_turn(SUPERVISOR, other.turn_id, article.id)  # replaces the first
    wait_for_retrain(runtime)
    with runtime.sessions() as session:
        rows = session.execute(select(LabelledExample.kind, LabelledExample.intent,
                                      LabelledExample.status).order_by(LabelledExample.id)).all()
    assert [(k, i) for k, i, _ in rows] == [("confirmed", reply.intent),
                                            ("out_of_scope", "out_of_scope"),
                                            ("article", article.intents[0])]
    assert rows[1][2] == "replaced"
    with pytest.raises(LabelError, match="unknown intent"):
        runtime.learning.label_turn(SUPERVISOR, reply.turn_id, "no_such_intent")
    with pytest.raises(NotAllowed):
        runtime.learning.label_turn(Principal(1, "alice", "customer"), reply.turn_id, CONFIRM)
    runtime.close()


def _training_row(runtime: Runtime, beat_ago: timedelta) -> int:
    with runtime.sessions.begin() as session:
        row = ModelVersion(status="training", requested_by="other-replica",
                           heartbeat_at=utcnow() - beat_ago)
        session.add(row)
        session.flush()
        return row.id


def test_a_retrain_whose_process_died_frees_the_lease(learning_settings, monkeypatch) -> None:
    runtime = start(learning_settings)
    dead = _training_row(runtime, learning_service.LEASE + timedelta(seconds=5))
    runtime.learning.import_examples(SUPERVISOR, [(MISSED, "lost_or_stolen_card")])
    version = runtime.learning.retrain_now("sam")
    assert version is not None and version.status == "live"
    with runtime.sessions() as session:
        stale = session.get(ModelVersion, dead)
        assert stale.status == "failed" and "stopped without finishing" in stale.reason
    runtime.close()


def test_labels_wait_for_another_replicas_retrain_then_train(learning_settings,
                                                             monkeypatch) -> None:
    monkeypatch.setattr(learning_service, "RETRY_S", 0.2)
    runtime = start(learning_settings)
    other = _training_row(runtime, timedelta(0))  # alive: its heartbeat is fresh
    runtime.learning.import_examples(SUPERVISOR, [(MISSED, "lost_or_stolen_card")])
    runtime.learning.request_retrain("sam")
    assert not runtime.learning.idle.wait(timeout=1.0)  # blocked, looking again and again
    with runtime.sessions.begin() as session:  # the other replica finishes
        session.get(ModelVersion, other).status = "refused"
    wait_for_retrain(runtime)
    assert runtime.learning.versions(SUPERVISOR)[0].status == "live"
    runtime.close()


def test_a_running_retrain_beats_while_it_trains(learning_settings, monkeypatch) -> None:
    monkeypatch.setattr(learning_service, "HEARTBEAT_S", 0.05)
    runtime = start(learning_settings)
    real = learning_service.retrain.retrain
    beats: list = []

    def slow_retrain(*args, **kwargs):
        with runtime.sessions() as session:
            first = session.scalar(select(ModelVersion.heartbeat_at))
        for _ in range(200):  # until the heartbeat moves on (10 s at most)
            with runtime.sessions() as session:
                if session.scalar(select(ModelVersion.heartbeat_at)) != first:
                    beats.append(True)
                    break
            threading.Event().wait(0.05)
        return real(*args, **kwargs)

    monkeypatch.setattr(learning_service.retrain, "retrain", slow_retrain)
    runtime.learning.import_examples(SUPERVISOR, [(MISSED, "lost_or_stolen_card")])
    runtime.learning.request_retrain("sam")
    wait_for_retrain(runtime)
    assert beats == [True]
    runtime.close()
