"""The model writer as plain Python: a LangChain fake chat model, no network, no graph."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from agents.answer import OfflineAnswerWriter, compose_reply
from agents.model_answer import (
    ModelAnswerWriter,
    ModelPaused,
    ModelUnavailable,
    circuit_breaker,
    cited_passages,
    tidy,
)
from agents.retrieval import Passage

PASSAGES = [
    Passage("card-delivery", "Card delivery", "How long it takes", "Cards arrive in 3-5 days.",
            0.9, True),
    Passage("card-fees", "Card fees", "Fees", "A replacement card costs nothing.", 0.6, False),
]


def writer(*replies: str, **options: object) -> ModelAnswerWriter:
    model = GenericFakeChatModel(messages=iter([AIMessage(r) for r in replies]))
    return ModelAnswerWriter(model, model_name="fake", timeout_s=2.0, **options)  # type: ignore[arg-type]


def test_the_reply_streams_in_pieces_and_names_what_it_cites() -> None:
    tokens: list[str] = []
    answer = writer("Cards arrive in 3-5 days [1], and a new one is free [2].").answer(
        "where is my card", PASSAGES, tokens.append)
    assert len(tokens) > 3 and "".join(tokens) == answer.text
    assert answer.cited == [1, 2] and answer.usage.model == "fake"


@pytest.mark.parametrize("text, cited", [("a [2] b [1] c [2]", [2, 1]), ("[1]", [1])])
def test_citations_are_read_in_order_without_repeats(text: str, cited: list[int]) -> None:
    assert cited_passages(text, 2) == cited


@pytest.mark.parametrize("text, reason", [("no citation here", "none"), ("see [3]", "3"),
                                          ("see [0]", "0")])
def test_invented_or_missing_citations_are_refused(text: str, reason: str) -> None:
    with pytest.raises(ModelUnavailable, match=reason):
        cited_passages(text, 2)


def test_images_and_links_are_reduced_to_their_text() -> None:
    shown = tidy("Look ![tracker](http://evil.example/x.png?q=1) and [open this](javascript:alert(1)) [1]")
    assert "http" not in shown and "javascript" not in shown
    assert shown == "Look tracker and open this [1]"


def test_a_runaway_reply_is_cut_off() -> None:
    with pytest.raises(ModelUnavailable, match="ran past"):
        writer("word " * 2000 + "[1]").answer("q", PASSAGES)


def test_customer_text_is_redacted_before_the_model_sees_it() -> None:
    seen: list[str] = []

    class Recording(GenericFakeChatModel):
        def _stream(self, messages, *args, **kwargs):  # type: ignore[no-untyped-def]
            seen.extend(m.content for m in messages)
            return super()._stream(messages, *args, **kwargs)

    model = Recording(messages=iter([AIMessage("Fine [1].")]))
    ModelAnswerWriter(model, model_name="fake", timeout_s=2.0,
                      redact=lambda text: text.replace("secret", "[x]")).answer(
        "my secret question", PASSAGES)
    assert any("[x]" in m for m in seen) and not any("secret" in m for m in seen)


class SlowModel:
    """Stands still for `seconds` before its first token."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def stream(self, messages: list) -> Iterator[AIMessage]:
        time.sleep(self.seconds)
        yield AIMessage("late [1]")


def test_the_whole_call_is_bounded_by_the_timeout() -> None:
    slow = ModelAnswerWriter(SlowModel(2.0), model_name="slow", timeout_s=0.2)
    started = time.perf_counter()
    with pytest.raises(ModelUnavailable, match="in time"):
        slow.answer("q", PASSAGES)
    # the model takes 2 s: 0.2 s plus room for a machine three times slower still proves it
    assert time.perf_counter() - started < 0.2 + 0.5


def test_the_breaker_opens_after_repeated_failures_and_says_so() -> None:
    changes: list[str] = []
    breaker = circuit_breaker(2, 60.0, changes.append)
    failing = writer("no citation", "no citation", "fine [1]", breaker=breaker)
    for _ in range(2):
        with pytest.raises(ModelUnavailable):
            failing.answer("q", PASSAGES)
    with pytest.raises(ModelPaused):
        failing.answer("q", PASSAGES)
    assert changes == ["open"]


def test_compose_reply_falls_back_to_the_offline_writer_and_says_why() -> None:
    offline = OfflineAnswerWriter({"card-delivery": "Cards arrive in 3-5 days."})
    reply = compose_reply("where is my card", PASSAGES, offline, intent_in_scope=True,
                          min_score=0.35, model=writer("nothing cited"))
    assert reply.route == "answer" and reply.text.startswith("Cards arrive in 3-5 days.")
    assert reply.model_call == {"mode": "fallback", "model": "fake",
                                "error": "the reply cites none of the passages"}


def test_compose_reply_sources_are_the_cited_passages_only() -> None:
    offline = OfflineAnswerWriter({})
    reply = compose_reply("a new card", PASSAGES, offline, intent_in_scope=True, min_score=0.35,
                          model=writer("It is free [2]."))
    assert [s.id for s in reply.sources] == ["card-fees"]
    assert reply.text == "It is free [2].\n\nSources: [2] Card fees"
    assert reply.model_call["mode"] == "model"


class StalledModel:
    """A server that accepted the request and then stopped sending (until `release`)."""

    def __init__(self):
        import threading

        self.release = threading.Event()

    def stream(self, messages: list) -> Iterator[AIMessage]:
        self.release.wait(30)
        yield AIMessage("too late [1]")


def test_stalled_model_reads_do_not_starve_other_turns() -> None:
    from concurrent.futures import ThreadPoolExecutor

    stalled = StalledModel()
    stuck = ModelAnswerWriter(stalled, model_name="stalled", timeout_s=0.2,
                              breaker=circuit_breaker(1000, 60.0))
    try:
        with ThreadPoolExecutor(40) as pool:  # more stalled reads than the old 32-thread pool
            outcomes = list(pool.map(lambda _: _fails(stuck), range(40)))
        assert all(isinstance(o, ModelUnavailable) for o in outcomes)
        # the 40 readers are still blocked; a turn on a healthy model is answered at once
        started = time.perf_counter()
        answer = writer("Cards arrive in 3-5 days [1].").answer("where is my card", PASSAGES)
        assert answer.cited == [1] and time.perf_counter() - started < 1.5
    finally:
        stalled.release.set()


def _fails(model_writer: ModelAnswerWriter) -> Exception | None:
    try:
        model_writer.answer("where is my card", PASSAGES)
    except ModelUnavailable as exc:
        return exc
    return None
