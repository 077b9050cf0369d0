"""Export of turns to LangSmith: off unless `LANGSMITH_TRACING=true` and a key are set.

When on, each turn's graph run goes to LangSmith (`LANGSMITH_ENDPOINT`,
`LANGSMITH_PROJECT`) with its node runs as children, tagged and with metadata: the
conversation id, a keyed hash of the user id (never the id or the name) and, once the
intent agent has run, the intent. Customer text in inputs and outputs is masked by the
client before it leaves. When off, no tracer is created and no request is ever made.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from typing import Any

from langchain_core.tracers.langchain import LangChainTracer
from langsmith import Client

from core.tracing.masking import mask_payload

TAGS = ["concierge", "turn"]


def langsmith_enabled() -> bool:
    """Tracing asked for (`LANGSMITH_TRACING` or `LANGCHAIN_TRACING_V2`) and a key given."""
    asked = (os.environ.get("LANGSMITH_TRACING") or os.environ.get("LANGCHAIN_TRACING_V2") or "")
    key = os.environ.get("LANGSMITH_API_KEY") or os.environ.get("LANGCHAIN_API_KEY")
    return asked.strip().lower() == "true" and bool(key)


@cache
def _client(api_url: str | None) -> Client:
    return Client(api_url=api_url, hide_inputs=mask_payload, hide_outputs=mask_payload)


def exporting_client() -> Client:
    """The process's LangSmith client (one per endpoint), masking what it sends."""
    return _client(os.environ.get("LANGSMITH_ENDPOINT") or os.environ.get("LANGCHAIN_ENDPOINT"))


def user_pseudonym(user_id: int, secret: bytes) -> str:
    """A stable keyed hash of a user id: the same user links up, nobody can reverse it."""
    return hmac.new(secret, str(user_id).encode(), hashlib.sha256).hexdigest()[:16]


class TurnExporter(LangChainTracer):
    """LangChain's LangSmith tracer, adding the turn's intent to the root run at its end."""

    def _on_chain_end(self, run: Any) -> None:
        if run.parent_run_id is None and isinstance(run.outputs, dict):
            intent = run.outputs.get("intent")
            if intent:
                run.extra.setdefault("metadata", {})["intent"] = intent
        super()._on_chain_end(run)


def turn_exporter() -> TurnExporter | None:
    """A tracer for one turn when export is on; None (and nothing sent) when it is off."""
    if not langsmith_enabled():
        return None
    return TurnExporter(client=exporting_client(), tags=TAGS)


def flush() -> None:
    """Send what is queued (tests, and the CLI before it exits)."""
    if langsmith_enabled():
        exporting_client().flush()


def load_pseudonym_secret(path: Path) -> bytes:
    """The key of `user_pseudonym`, made once (random, owner-only file) and kept."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:  # another replica made it first
            return path.read_bytes()
        with os.fdopen(fd, "wb") as file:
            file.write(secrets.token_bytes(32))
    return path.read_bytes()


def langsmith_run_url(run_id: str) -> str | None:
    """The LangSmith UI address of a run we exported, or None when export is off or
    LangSmith cannot be reached."""
    if not langsmith_enabled():
        return None
    try:
        from langsmith.schemas import RunBase

        run = RunBase(id=run_id, trace_id=run_id, name="concierge_turn", run_type="chain",
                      start_time=datetime.now(UTC), inputs={})
        project = os.environ.get("LANGSMITH_PROJECT") or os.environ.get("LANGCHAIN_PROJECT")
        return exporting_client().get_run_url(run=run, project_name=project or "default")
    except Exception:  # noqa: BLE001 (a link is a convenience: never break the page for it)
        return None
