"""A small data pack (a few of the demo pack's intents and their articles), so that the
learning tests can retrain several times in seconds, and runtimes on it."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from core.config import PROJECT_DIR, Settings
from core.engine.datapack import load_datapack
from core.security.auth import Principal

DEMO = PROJECT_DIR / "data" / "demo"
INTENTS = ("lost_or_stolen_card", "exchange_rate", "card_arrival", "change_pin", "greeting",
           "thanks", "goodbye", "out_of_scope")
SUPERVISOR = Principal(0, "sam", "supervisor")


@pytest.fixture(scope="session")
def small_pack(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("small-pack")
    (folder / "intents").mkdir()
    (folder / "kb").mkdir()
    demo = load_datapack(DEMO)
    examples = {i: [t for t, label in demo.examples if label == i][:30] for i in INTENTS}
    (folder / "intents" / "small.json").write_text(json.dumps(examples))
    for article in demo.articles:
        if set(article.intents) <= set(INTENTS):
            shutil.copy(DEMO / "kb" / f"{_file_of(article.id)}", folder / "kb")
    return folder


def _file_of(article_id: str) -> str:
    for path in (DEMO / "kb").glob("*.md"):
        if f"id: {article_id}\n" in path.read_text(encoding="utf-8"):
            return path.name
    raise LookupError(article_id)


@pytest.fixture
def learning_settings(small_pack: Path, tmp_path: Path, request) -> Settings:
    """Settings on the small pack, with a model cache of the test's own."""
    url = request.getfixturevalue("postgres_url") if getattr(request, "param", "") == "pg" else None
    return Settings(state_dir=tmp_path / "state", model_dir=tmp_path / "models",
                    data_dir=small_pack, database_url=url, redis_url=None)
