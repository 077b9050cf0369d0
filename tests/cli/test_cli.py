"""The `concierge` command as a user runs it: JSON out, one-line errors, exit codes."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def concierge(*args: str, state: Path, model_dir: Path, input: str | None = None,
              env: dict | None = None) -> subprocess.CompletedProcess:
    environment = {**os.environ, "CONCIERGE_STATE_DIR": str(state),
                   "CONCIERGE_MODEL_DIR": str(model_dir), **(env or {})}
    environment.pop("DATABASE_URL", None)
    environment.pop("REDIS_URL", None)
    return subprocess.run(
        [sys.executable, "-m", "core.cli", *args], check=False, capture_output=True, text=True,
        env=environment, input=input, timeout=300,
    )


@pytest.fixture
def run(tmp_path, model_dir, engine):  # `engine` warms the shared model cache first
    return lambda *args, **kw: concierge(*args, state=tmp_path / "state", model_dir=model_dir, **kw)


def test_init_demo_creates_users_once_with_the_given_password(run) -> None:
    first = run("init", "--demo", "--json", env={"CONCIERGE_DEMO_PASSWORD": "a-long-demo-pass"})
    assert first.returncode == 0, first.stderr
    result = json.loads(first.stdout)
    assert result["demo_users"] == ["alice", "max", "sam", "ada"]
    assert "demo_password" not in result  # chosen by the operator, so not echoed
    again = json.loads(run("init", "--demo", "--json").stdout)
    assert again["demo_users"] == []


def test_init_demo_generates_and_prints_a_password(run) -> None:
    result = json.loads(run("init", "--demo", "--json").stdout)
    assert len(result["demo_password"]) >= 12


def test_ask_json_has_the_documented_keys(run) -> None:
    out = run("ask", "I lost my card, what should I do?", "--json")
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert {"answer", "intent", "confidence", "route", "sources", "latency_ms"} <= set(result)
    assert result["route"] == "answer" and result["intent"] == "lost_or_stolen_card"
    assert {"id", "title", "score"} <= set(result["sources"][0])
    # the engine process with the demo pack and the shipped encoder loaded (issue 16: <= 800 MB)
    assert result["rss_mb"] <= 800


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (("ask", "   "), "type a message"),
        (("ask", "x" * 5000), "limit"),
        (("eval", "intents", "--test", "/no/such.csv", "--train", "/no/such.csv"), "no such file"),
        (("bench", "engine", "--turns", "0"), "at least 1"),
    ],
)
def test_bad_input_is_one_line_on_stderr(run, args, says) -> None:
    out = run(*args)
    assert out.returncode != 0
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and says in lines[0] and "Traceback" not in out.stderr


def test_eval_reports_missing_columns(run, tmp_path) -> None:
    csv_file = tmp_path / "x.csv"
    csv_file.write_text("sentence,label\nhi,greeting\n")
    out = run("eval", "engine", "--test", str(csv_file))
    assert out.returncode == 1 and "no column(s) category, text" in out.stderr
    assert "found: sentence, label" in out.stderr
    folder = run("eval", "engine", "--test", str(tmp_path))
    assert folder.returncode == 1 and "is a folder" in folder.stderr
    assert "Traceback" not in folder.stderr


def test_a_spreadsheet_export_with_a_byte_order_mark_loads(tmp_path) -> None:
    from core.engine.evaluation import read_labelled_csv

    csv_file = tmp_path / "export.csv"
    csv_file.write_text("\ufefftext , category\nmy card is lost, lost_or_stolen_card \n,empty\n",
                        encoding="utf-8")
    assert read_labelled_csv(csv_file, "text", "category") == [
        ("my card is lost", "lost_or_stolen_card")]


def test_chat_answers_and_quits(run) -> None:
    out = run("chat", input="how do I change my pin\n\n/quit\n")
    assert out.returncode == 0, out.stderr
    assert "bot>" in out.stdout and "Please type a message first." in out.stdout


def test_seed_handoffs_then_inbox_list(run) -> None:
    seeded = run("seed", "handoffs", "--conversations", "30", "--json")
    assert seeded.returncode == 0, seeded.stderr
    assert json.loads(seeded.stdout)["conversations"] == 30
    listed = run("inbox", "list", "--limit", "5", "--json")
    assert listed.returncode == 0, listed.stderr
    result = json.loads(listed.stdout)
    assert result["total"] == 30 and len(result["conversations"]) == 5
    waits = [c["waited_s"] for c in result["conversations"]]
    assert waits == sorted(waits, reverse=True)  # oldest first
    assert result["conversations"][0]["intent"] == "human_agent"
    assert json.loads(run("inbox", "list", "--view", "mine", "--json").stdout)["total"] == 0
    bad = run("seed", "handoffs", "--conversations", "0")
    assert bad.returncode == 1 and bad.stderr.startswith("concierge: error: --conversations")
