"""The default install's sentence embeddings (all-MiniLM-L6-v2 on onnxruntime): real,
offline, without torch, and what they add. They ship with the package, so a missing
encoder is a failure, never a skip."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest

from agents.embeddings import available, load_encoder
from agents.intent import IntentClassifier
from agents.intent_training import train as train_intents
from agents.retrieval import Article, KnowledgeRetriever
from core.config import PROJECT_DIR, Settings
from core.engine.datapack import load_datapack


@pytest.fixture(scope="module")
def pack():
    return load_datapack(Settings().data_dir)


def need_encoder():
    assert available(), "onnxruntime, tokenizers or agents/encoder/ is missing"
    return load_encoder("auto")


def run_python(code: str, **env: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)], cwd=PROJECT_DIR, capture_output=True,
        text=True, check=False, timeout=300, env={**os.environ, **env},
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return result.stdout


def test_off_means_no_encoder() -> None:
    assert load_encoder("off") is None
    with pytest.raises(ValueError):
        load_encoder("sometimes")


def test_embeddings_never_import_torch() -> None:
    out = run_python("""
        import sys
        import agents.intent, agents.retrieval, agents.embeddings
        import core.engine.engine, core.engine.evaluation, core.cli
        from agents.embeddings import load_encoder
        from agents.intent_training import train as train_intents
        encoder = load_encoder("auto")
        assert encoder is not None
        examples = [(f"card {w} arrive", "card_arrival") for w in "abcdef"]
        examples += [(f"pin {w} blocked", "pin_blocked") for w in "abcdef"]
        train_intents(examples, encoder=encoder).predict("card q arrive")
        print(sorted(m for m in ("torch", "transformers", "sentence_transformers")
                     if m in sys.modules))
    """)
    assert out.strip() == "[]"


def test_without_onnxruntime_auto_is_off() -> None:
    out = run_python("""
        import sys
        sys.modules["onnxruntime"] = None  # as if the runtime were not installed
        from agents.embeddings import available, load_encoder
        print(available(), load_encoder("auto"))
    """)
    assert out.split() == ["False", "None"]


def test_embeddings_are_real_normalised_and_offline() -> None:
    need_encoder()
    out = run_python("""
        import numpy as np
        from agents.embeddings import load_encoder
        encoder = load_encoder("auto")
        vectors = encoder.encode(["my new card still has not arrived",
                                  "the card you sent me never showed up",
                                  "what is the weather like in Paris"])
        assert vectors.dtype == np.float32 and vectors.shape == (3, encoder.dim)
        assert np.allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
        print(encoder.identity, float(vectors[0] @ vectors[1]), float(vectors[0] @ vectors[2]))
    """, HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1", HF_HOME="/nonexistent")
    identity, paraphrase, unrelated = out.split()
    assert identity == "all-MiniLM-L6-v2-int8/384"
    assert float(paraphrase) > 0.5, out
    assert float(unrelated) < 0.2, out


def test_encoder_is_loaded_once_and_single_texts_match_batches() -> None:
    encoder = need_encoder()
    assert load_encoder("auto") is encoder
    texts = ["how do I change my PIN", "a much longer message about a transfer that failed"]
    batch = encoder.encode(texts)
    # int8 activations are quantised per call, so a batch differs a little from single calls
    assert float(encoder.encode(texts[:1])[0] @ batch[0]) > 0.97
    assert encoder.encode([]).shape == (0, encoder.dim)


def test_embeddings_improve_intents_on_unseen_wording(pack) -> None:
    encoder = need_encoder()
    # Paraphrases written for this test, sharing few words with the pack's examples.
    held_out = [
        ("my plastic never showed up in the post", "card_arrival"),
        ("some thief took my purse with the debit card", "lost_or_stolen_card"),
        ("the hole in the wall ate my card", "card_swallowed"),
        ("i want to end my relationship with your bank", "terminate_account"),
        ("my secret number stopped working after three tries", "pin_blocked"),
        ("is there a fee when i wire money overseas", "transfer_fee_charged"),
        ("can i pay with my phone at the till", "apple_pay_or_google_pay"),
        ("get me a real person", "human_agent"),
    ]
    words = train_intents(pack.examples)
    semantic = train_intents(pack.examples, encoder=encoder)
    assert semantic.embeddings == encoder.identity and words.embeddings is None

    def hits(model: IntentClassifier) -> int:
        return sum(p.best_guess == gold for p, (_, gold) in
                   zip(model.predict_many([t for t, _ in held_out]), held_out))

    assert hits(semantic) > hits(words) and hits(semantic) >= len(held_out) - 1


def test_cached_model_holds_no_encoder_and_gets_it_back(tmp_path) -> None:
    encoder = need_encoder()
    from agents.intent_cache import train_cached

    examples = [(f"card {w} arrive", "card_arrival") for w in "abcdef"]
    examples += [(f"pin {w} blocked", "pin_blocked") for w in "abcdef"]
    first = train_cached(examples, tmp_path, encoder=encoder)
    plain = train_cached(examples, tmp_path)
    assert first.embeddings and plain.embeddings is None
    files = list(tmp_path.glob("intent-*.joblib"))
    assert files and all(b"onnxruntime" not in f.read_bytes() for f in files)
    assert all(b"InferenceSession" not in f.read_bytes() for f in files)
    again = train_cached(examples, tmp_path, encoder=encoder)
    assert again.encoder is encoder
    assert again.predict("card z arrive").best_guess == "card_arrival"


def _articles() -> list[Article]:
    return [
        Article("kb-delivery", "Card delivery", ("card_arrival",), (),
                "# Card delivery\n\nA new card arrives by post within 5 working days."),
        Article("kb-fees", "Transfer fees", ("transfer_fee_charged",), (),
                "# Transfer fees\n\nSending money abroad costs 0.5% of the amount."),
        Article("kb-pin", "Change your PIN", ("change_pin",), (),
                "# Change your PIN\n\nChoose a new PIN in the app under Security."),
    ]


def test_hybrid_retrieval_finds_paraphrases_bm25_cannot(pack) -> None:
    encoder = need_encoder()
    query = "when should I expect to receive it in the mail"  # no keyword in common
    plain = KnowledgeRetriever(_articles())
    hybrid = KnowledgeRetriever(_articles(), encoder=encoder)
    assert "kb-delivery" not in [p.article_id for p in plain.search(query)]
    found = hybrid.search(query, k=1)
    assert found and found[0].article_id == "kb-delivery" and 0.0 < found[0].score <= 1.0
    # unrelated questions still match nothing, so the answer agent still refuses them
    assert hybrid.search("who won the football match yesterday") == []
    assert hybrid.search("zyxxq blorft") == []
    # keyword matches keep their relative BM25 score
    assert hybrid.search("change my PIN", k=1)[0].score >= plain.search("change my PIN", k=1)[0].score


def test_hybrid_retrieval_on_the_demo_pack(pack) -> None:
    encoder = need_encoder()
    retriever = KnowledgeRetriever(pack.articles, encoder=encoder)
    assert retriever.search("how long until my card is delivered", k=3)[0].article_id \
        == "kb-card-delivery-estimate"
    boosted = retriever.search("it still hasn't come", intent="card_arrival", k=3)
    assert boosted[0].article_id == "kb-card-arrival" and boosted[0].intent_match


def test_the_engine_uses_embeddings_when_on(tmp_path) -> None:
    need_encoder()
    from core.config import Settings
    from core.engine.engine import Engine, memory_checkpointer

    engine = Engine.load(Settings(state_dir=tmp_path, embeddings="auto"),
                         checkpointer=memory_checkpointer())
    assert engine.agents.classifier.semantic is not None
    # Outside wording the lexical model alone sent out of scope (issue 16's example).
    state = engine.run_turn("t", "someone stole my card")
    assert state["route"] == "answer" and state["intent"] == "lost_or_stolen_card"
    assert state["sources"]
    off = Engine.load(Settings(state_dir=tmp_path, embeddings="off"),
                      checkpointer=memory_checkpointer())
    assert off.agents.classifier.semantic is None


def test_the_encoders_threads_do_not_spin_after_a_run() -> None:
    """Busy-waiting pool threads took the cores from the rest of a turn (the similarity
    matmul after an encoding ran 20x slower) and from the server's event loop."""
    encoder = load_encoder("auto")
    options = encoder._session.get_session_options()
    assert options.get_session_config_entry("session.intra_op.allow_spinning") == "0"


def test_example_vectors_are_converted_once_and_stored_as_float16() -> None:
    import pickle

    import numpy as np

    from agents.intent import SemanticPart

    vectors = np.random.default_rng(0).random((6, 4)).astype(np.float16)
    part = SemanticPart("x", vectors, np.array([0, 3]), tuple("abcdef"), 1.0, 1.0)
    query = np.ones((1, 4), np.float32)
    first = part.similarities(query)
    converted = part.__dict__["_vectors32"]
    assert converted.dtype == np.float32
    part.similarities(query)
    assert part.__dict__["_vectors32"] is converted  # not converted again per message
    copy = pickle.loads(pickle.dumps(part))
    assert "_vectors32" not in copy.__dict__ and copy.vectors.dtype == np.float16
    assert np.allclose(copy.similarities(query), first)
