"""`DATABASE_URL=postgresql...` without the postgres extra says which extra to install."""

from __future__ import annotations

import sys

import pytest

from core.cli import main
from core.config import Settings, get_settings
from core.storage.database import MissingExtra, make_database

URL = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.mark.parametrize("module", ["langgraph.checkpoint.postgres", "psycopg"])
def test_postgres_without_the_extra_names_the_extra(tmp_path, monkeypatch, capsys, module) -> None:
    monkeypatch.setitem(sys.modules, module, None)  # what an install without the extra sees
    with pytest.raises(MissingExtra, match=r"pip install 'concierge\[postgres\]'"):
        make_database(Settings(state_dir=tmp_path, database_url=URL))

    monkeypatch.setenv("DATABASE_URL", URL)
    monkeypatch.setenv("CONCIERGE_STATE_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert main(["db", "upgrade"]) == 1
    finally:
        get_settings.cache_clear()
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "postgres extra is not installed" in err, err
    assert "No module named" not in err
