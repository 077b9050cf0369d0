"""`concierge examples import|list|export` as a user runs them: bad CSVs get one line and
import nothing; a good one is imported, retrained on, and `ask` then uses it."""

from __future__ import annotations

import json

import pytest

from tests.cli.test_cli import concierge
from tests.learning.conftest import small_pack  # noqa: F401 - the fixture

MISSED = "mugged last night and they took the lot"


@pytest.fixture
def run(tmp_path, small_pack):  # noqa: F811
    env = {"CONCIERGE_DATA_DIR": str(small_pack)}
    return lambda *args: concierge(*args, state=tmp_path / "state", model_dir=tmp_path / "models",
                                   env=env)


BAD = [
    ("words,label\nhello,greeting\n", "needs columns text,intent; missing text, intent"),
    ("text,intent\nhello there,greeting\nwhat now,no_such_intent\n",
     "line 3: unknown intent or article id 'no_such_intent'"),
    ("text,intent\nhello there,greeting\n   ,thanks\n", "line 3: the text is empty"),
    ("text,intent\n", "no rows to import"),
]


@pytest.mark.parametrize(("content", "says"), BAD)
def test_a_bad_csv_gets_one_line_and_imports_nothing(run, tmp_path, content, says) -> None:
    path = tmp_path / "examples.csv"
    path.write_text(content)
    result = run("examples", "import", str(path))
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and says in result.stderr, result.stderr
    assert "Traceback" not in result.stderr
    listed = run("examples", "list", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout)["examples"] == []


def test_imported_examples_are_trained_on_and_used_by_ask(run, tmp_path) -> None:
    before = json.loads(run("ask", MISSED, "--json").stdout)
    assert before["intent"] != "lost_or_stolen_card"
    path = tmp_path / "examples.csv"
    path.write_text(f"text,intent\n{MISSED},lost_or_stolen_card\n"
                    "write to me at ann@example.com,out_of_scope\n")
    imported = run("examples", "import", str(path), "--json")
    assert imported.returncode == 0, imported.stderr
    result = json.loads(imported.stdout)
    assert result["imported"] == 2 and result["retrain"] == "live" and result["model_version"] == 1
    after = json.loads(run("ask", MISSED, "--json").stdout)
    assert after["intent"] == "lost_or_stolen_card"
    listed = json.loads(run("examples", "list", "--json").stdout)["examples"]
    assert [r["status"] for r in listed] == ["live", "live"]
    assert "[email]" in listed[0]["text"]  # list masks; export gives the stored text
    exported = run("examples", "export").stdout.splitlines()
    assert exported[0] == "text,intent" and f"{MISSED},lost_or_stolen_card" in exported
