"""The "why this answer" panel shows the evidence the intent decision used: its nearest
examples by meaning, stored (masked, encrypted) with the turn's trace. With the encoder
(the engine tests' first pass) the evidence is there; without it (CONCIERGE_EMBEDDINGS=off,
the PostgreSQL pass) there is none and the panel says nothing of it."""

from __future__ import annotations

import json

from sqlalchemy import text

from core.runtime import Runtime
from core.security.auth import add_user
from core.storage.models import TurnTrace
from core.tracing.writer import _evidence
from tests.ui.test_app import PASSWORD, app, log_in
from ui import runtime as ui_runtime


def started(settings, engine, monkeypatch) -> tuple[Runtime, object]:
    """A runtime the pages use, with alice (customer) and sam (supervisor); alice."""
    runtime = Runtime.start(settings, engine=engine)
    with runtime.sessions.begin() as session:
        for name, role in (("alice", "customer"), ("sam", "supervisor")):
            add_user(session, name, PASSWORD, role)
    monkeypatch.setattr(ui_runtime, "override", runtime)
    return runtime, runtime.accounts.authenticate("alice", PASSWORD)


def test_the_trace_page_shows_the_nearest_examples_of_the_decision(settings, engine,
                                                                   monkeypatch) -> None:
    runtime, alice = started(settings, engine, monkeypatch)
    reply = runtime.chat.send(alice, None, "my new card still has not come in the post")
    assert runtime.chat.trace_writer.flush()
    sam = runtime.accounts.authenticate("sam", PASSWORD)
    view = runtime.monitoring.trace(sam, reply.turn_id)
    at = log_in(app(), "sam").switch_page("pages/workflow_traces.py").run()
    assert not at.exception
    shown = any("Nearest examples by meaning" in m.value for m in at.markdown)
    if engine.encoder is None:  # no embeddings: no nearest examples to show
        assert view.evidence == [] and not shown
        runtime.close()
        return
    assert shown and view.evidence and all(0 < s <= 1 for _, _, s in view.evidence)
    assert view.evidence[0][1] == reply.intent == "card_arrival"
    with runtime.sessions() as session:  # encrypted at rest
        stored = session.execute(text("select evidence from turn_traces where turn_id = :t"),
                                 {"t": reply.turn_id}).scalar()
        assert stored and view.evidence[0][0] not in stored
        assert session.get(TurnTrace, reply.turn_id).evidence

    table = next(d.value for d in at.dataframe if "similarity" in d.value.columns
                 and "example" in d.value.columns)
    assert table["intent"].iloc[0] == "card_arrival"
    runtime.close()


def test_evidence_text_is_masked() -> None:
    stored = json.loads(_evidence([("call me on +44 20 7946 0958", "contact", 0.81234)]))
    assert stored == [["call me on [phone]", "contact", 0.812]]
    assert _evidence([]) is None


def test_the_trace_page_shows_how_a_typo_was_mended(settings, engine, monkeypatch) -> None:
    runtime, alice = started(settings, engine, monkeypatch)
    typed = runtime.chat.send(alice, None, "my crad hasnt arived, call me on +44 20 7946 0958")
    plain = runtime.chat.send(alice, None, "how do I change my PIN")
    assert runtime.chat.trace_writer.flush()
    sam = runtime.accounts.authenticate("sam", PASSWORD)
    mended = runtime.monitoring.trace(sam, typed.turn_id).mended
    assert mended == "my card has not arrived, call me on [phone]"  # masked like the rest
    assert runtime.monitoring.trace(sam, plain.turn_id).mended is None
    at = log_in(app(), "sam").switch_page("pages/workflow_traces.py").run()
    for turn, shown in ((typed.turn_id, True), (plain.turn_id, False)):
        at.selectbox(key="trace_turn").set_value(turn).run()
        assert not at.exception
        assert ("Read with its typos mended:" in [c.value for c in at.caption]) == shown
        assert (mended in [t.value for t in at.text]) == shown
    runtime.close()
