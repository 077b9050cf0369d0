"""The engine: a data pack's trained agents and the compiled workflow, built once.

`Engine.load(settings)` trains (or loads from the model cache) the intent model, builds
the BM25 index and compiles the workflow with its checkpointer: SqliteSaver on a file in
the state folder by default, or an in-memory saver for tests and benchmarks.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Any

from langgraph.checkpoint.memory import InMemorySaver
from langgraph.checkpoint.sqlite import SqliteSaver

from agents.answer import OfflineAnswerWriter
from agents.embeddings import load_encoder
from agents.intent_cache import train_cached
from agents.retrieval import KnowledgeRetriever
from core.config import Settings
from core.engine.answer_model import model_writer
from core.engine.datapack import DataPack, load_datapack, training_examples
from core.engine.workflow import Agents, TurnState, compile_workflow
from core.storage.encryption import Keyring
from core.storage.sealed_serde import encrypting_serializer


def train_intents(settings: Settings, examples: Sequence[tuple[str, str]],
                  encoder: Any | None, cache_dir: Any | None = None,
                  calibrated_like: Any | None = None, **pack_options: Any) -> Any:
    """The intent model on these examples, from the model cache or trained (and cached);
    `calibrated_like` lends a model's calibration to skip the held-out folds;
    `pack_options` are the pack's `training_options` (see `agents.intent_training.train`)."""
    return train_cached(
        examples, cache_dir or settings.model_cache_dir, encoder=encoder,
        calibrated_like=calibrated_like, wrong_answer_cost=settings.wrong_answer_cost,
        **pack_options,
    ).with_threshold(settings.intent_threshold).with_spelling(settings.spelling == "on")


def sqlite_checkpointer(settings: Settings, serde: Any | None = None) -> SqliteSaver:
    """A SqliteSaver on the state folder's checkpoint file, safe to share across threads.

    `serde` is the encrypting serializer in the app (`core.storage.sealed_serde.encrypting_serializer`).
    """
    settings.state_dir.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(settings.checkpoint_path, check_same_thread=False)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: no fsync per commit; a power cut may lose the last commits, never corrupts
    return SqliteSaver(conn, serde=serde)


def database_checkpointer(settings: Settings, keyring: Keyring) -> Any:
    """Encrypted checkpoints in the configured database: PostgreSQL, or a SQLite file."""
    serde = encrypting_serializer(keyring)
    url = settings.sqlalchemy_url
    if url.startswith("postgresql"):
        from core.storage.pg_checkpoints import postgres_checkpointer

        return postgres_checkpointer(url, serde)
    return sqlite_checkpointer(settings, serde)


@dataclass
class Engine:
    """Trained agents, the compiled graph and how long it took to get them ready."""

    pack: DataPack
    agents: Agents
    graph: Any
    load_seconds: float
    durability: str = "exit"
    model_version: int = 0
    """The live intent model: a `ModelVersion` id, 0 for the pack alone (core.learning)."""
    encoder: Any | None = None
    rebuild: Callable[[Agents], Any] | None = None
    """Compiles the workflow for new agents, on the same checkpointer and cache."""

    @classmethod
    def load(cls, settings: Settings, *, checkpointer: Any | None = None,
             keyring: Keyring | None = None, cache: Any | None = None,
             on_breaker_change: Callable[[str], None] | None = None,
             labelled: Sequence[tuple[str, str]] = (), model_version: int = 0) -> Engine:
        """Agents and workflow; checkpoints go to `checkpointer`, or to the state folder's
        SQLite file encrypted with `keyring` (one of the two is required).

        `on_breaker_change` hears when the answer model's circuit breaker opens or closes;
        `labelled` are the live labelled examples of `model_version` (core.learning).
        """
        if checkpointer is None and keyring is None:
            raise ValueError("Engine.load needs a checkpointer or a keyring to encrypt checkpoints")
        started = time.perf_counter()
        pack = load_datapack(settings.data_dir)
        encoder = load_encoder(settings.embeddings)  # None without the `semantic` extra
        classifier = train_intents(settings, training_examples(pack, labelled), encoder,
                                   **pack.training_options)
        retriever = KnowledgeRetriever(pack.articles, encoder=encoder)
        agents = Agents(
            classifier=classifier,
            retriever=retriever,
            writer=OfflineAnswerWriter(retriever.leads()),
            titles_by_intent={i: a.title for a in pack.articles for i in a.intents},
            min_passage_score=settings.min_passage_score,
            model=model_writer(settings, on_breaker_change),
        )
        saver = checkpointer if checkpointer is not None else database_checkpointer(settings, keyring)
        def rebuild(new_agents: Agents) -> Any:
            return compile_workflow(new_agents, saver, cache, settings.answer_cache_ttl_s)

        return cls(pack, agents, rebuild(agents), time.perf_counter() - started,
                   settings.checkpoint_durability, model_version, encoder, rebuild)

    def use_model(self, classifier: Any, version: int) -> None:
        """Serve turns with another intent model from now on (a retrain went live).

        Turns already running finish on the graph they started with.
        """
        agents = replace(self.agents, classifier=classifier)
        graph = self.rebuild(agents) if self.rebuild else self.graph
        self.agents, self.graph, self.model_version = agents, graph, version

    def run_turn(self, thread_id: str, text: str, callbacks: list | None = None,
                 metadata: dict | None = None,
                 on_token: Callable[[str], None] | None = None) -> TurnState:
        """One turn of the workflow on a conversation's thread.

        `callbacks` (span recorder, LangSmith tracer) see every node run; `metadata`
        goes with every run they report; `on_token` gets the reply as it is written.
        """
        config = {"configurable": {"thread_id": thread_id}, "callbacks": callbacks or [],
                  "metadata": metadata or {}, "run_name": "concierge_turn"}
        graph, version = self.graph, self.model_version
        turn: TurnState = {"text": text, "model_version": version}  # also in the cache key
        if on_token is None:
            return graph.invoke(turn, config=config, durability=self.durability)
        state: TurnState = {}
        for mode, chunk in graph.stream(turn, config=config,
                                             stream_mode=["custom", "values"],
                                             durability=self.durability):
            if mode == "custom":
                on_token(chunk)
            else:
                state = chunk
        return state


def memory_checkpointer() -> InMemorySaver:
    return InMemorySaver()
