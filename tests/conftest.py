"""Shared fixtures: the demo pack's engine (trained once per test session) and a runtime
on a scratch state folder. BANKING77 lives in ../shared/data/banking77 beside the repo."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from core.config import PROJECT_DIR, Settings
from core.engine import Engine, memory_checkpointer

BANKING77 = PROJECT_DIR.parent / "shared" / "data" / "banking77"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def need_banking77() -> Path:
    if not (BANKING77 / "test.csv").exists():
        if IN_CI:
            pytest.fail(f"BANKING77 is missing at {BANKING77}; CI must have ../shared")
        pytest.skip(f"BANKING77 not found at {BANKING77}")
    return BANKING77


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture
def settings(tmp_path: Path, model_dir: Path) -> Settings:
    return Settings(state_dir=tmp_path / "state", model_dir=model_dir, database_url=None,
                    redis_url=None)


@pytest.fixture(scope="session")
def engine(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Engine:
    state = tmp_path_factory.mktemp("engine-state")
    return Engine.load(Settings(state_dir=state, model_dir=model_dir),
                       checkpointer=memory_checkpointer())
