"""Spelling: customers' typos are mended before the intent agent and the retriever read
them; known words, other languages and a non-English pack's words are left alone."""

from __future__ import annotations

import pickle
import uuid

import pytest

from agents.intent import IntentClassifier
from agents.spelling import Speller
from core.engine.workflow import compile_workflow

PACK = ["How do I activate my card?", "My transfer is still pending", "Top-up with Apple Pay",
        "Revolut card declined"]


@pytest.fixture(scope="module")
def speller() -> Speller:
    return Speller.of(PACK).ready()


@pytest.mark.parametrize(
    ("typed", "mended"),
    [
        ("my carsd hasnt arived", "my card has not arrived"),  # pack word, contraction, English
        ("tansfer pendnig", "transfer pending"),
        ("I cant actvate my card", "I can not activate my card"),
        ("my revolu card was declned", "my revolut card was declined"),  # the pack's own word
        ("Apple Pay topup", "Apple Pay top up"),  # two words run together
        ("wiht thier help", "with their help"),  # swapped letters are one edit
        ("Card, activate; transfer!", "Card, activate; transfer!"),  # known words as written
        ("didn't get it", "didn't get it"),
        ("café crème at 10:30", "café crème at 10:30"),  # English leaves non-ASCII alone
        ("Wie kann ich meine Karte aktivieren", "Wie kann ich meine Karte aktivieren"),
        ("zxqv", "zxqv"),  # nothing one edit away
    ],
)
def test_typos_are_mended_and_the_rest_is_kept(speller: Speller, typed: str, mended: str) -> None:
    assert speller.correct(typed) == mended


def test_a_pack_that_is_not_english_is_mended_with_its_own_words_only() -> None:
    french = Speller.of(["Comment activer ma carte bancaire", "Mon virement est en attente",
                         "Paiement refusé par la banque"]).ready()
    assert not french.uses_english
    assert french.correct("comment activr ma cartte") == "comment activer ma carte"
    assert french.correct("paiment refuse") == "paiement refusé"
    assert french.correct("activate my card") == "activate my card"  # not its words: left


def test_a_pickled_speller_holds_only_its_packs_words() -> None:
    speller = Speller.of(PACK).ready()
    data = pickle.dumps(speller)
    assert len(data) < 2_000
    assert pickle.loads(data).correct("revolu tansfer") == "revolut transfer"


def without_speller(model: IntentClassifier) -> IntentClassifier:
    return IntentClassifier(model.scorer, model.labels, model.temperature, model.threshold,
                            model.semantic, model.encoder, model.similarity_floor)


# Written for this test, typos and all; none is in the data pack.
TYPED = [
    ("my crad hasnt arived yet", "card_arrival"),
    ("why was my paymnet declnied", "declined_card_payment"),
    ("the cash mahcine kept my crad", "card_swallowed"),
    ("how do i chnage my pin", "change_pin"),
    ("my trasnfer is still pendnig", "pending_transfer"),
    ("can i add my crad to aple pay", "apple_pay_or_google_pay"),
    ("i was chraged twice", "transaction_charged_twice"),
]


def test_the_demo_pack_understands_customers_typos(engine) -> None:
    model = engine.agents.classifier
    mended = [model.predict(text) for text, _ in TYPED]
    assert [p.intent for p in mended] == [intent for _, intent in TYPED]
    assert all(p.read_as for p in mended)  # the trace can show how it was read
    plain = without_speller(model).predict_many([text for text, _ in TYPED])
    assert sum(p.intent == intent for p, (_, intent) in zip(plain, TYPED)) <= len(TYPED) // 2
    assert model.predict("how do I change my PIN").read_as is None


def test_retrieval_searches_the_mended_message(engine) -> None:
    graph = compile_workflow(engine.agents)
    state = graph.invoke({"text": "how do i chnage my pin"},
                         {"configurable": {"thread_id": uuid.uuid4().hex}})
    assert state["query"] == "how do i change my pin"
    assert state["route"] == "answer" and "PIN" in state["sources"][0]["title"]
