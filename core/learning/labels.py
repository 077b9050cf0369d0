"""Labelled examples: what a label means, and storing and reading them.

A label is an intent of the data pack, an article id (it trains as the article's intent),
`out_of_scope`, or "the answer was right" (`CONFIRM`: the turn's predicted intent is
confirmed). The text is stored encrypted (EncryptedText). Functions take a Session and
never commit: the service owns the transaction (and the audit record).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from agents.intent import OUT_OF_SCOPE
from core.engine.datapack import DataPack
from core.storage.models import LabelledExample

CONFIRM = "answer_was_right"
"""The label that confirms the turn's predicted intent."""
MAX_TEXT_CHARS = 2000


class LabelError(ValueError):
    """A label that cannot be used; the message says why, on one line."""


@dataclass(frozen=True)
class Resolved:
    label: str
    """What was chosen: an intent, an article id, `out_of_scope` or CONFIRM."""
    intent: str
    """What it trains as."""
    kind: str
    """intent | article | out_of_scope | confirmed"""


@dataclass(frozen=True)
class LabelView:
    id: int
    created_at: datetime
    text: str
    label: str
    intent: str
    kind: str
    source: str
    status: str
    labelled_by: str | None
    turn_id: int | None
    masked: bool


def choices(pack: DataPack) -> list[str]:
    """Every label a supervisor can give: the intents, then the article ids."""
    intents = [i for i in pack.intents if i != OUT_OF_SCOPE]
    return [*intents, *(a.id for a in pack.articles if a.id not in intents)]


def resolve(pack: DataPack, label: object, predicted: str | None = None) -> Resolved:
    """What `label` trains as, or LabelError naming what is wrong."""
    name = str(label or "").strip()
    if name == CONFIRM:
        if not predicted or (predicted not in pack.intents and predicted != OUT_OF_SCOPE):
            raise LabelError("this turn has no predicted intent to confirm")
        return Resolved(name, predicted, "confirmed")
    if name == OUT_OF_SCOPE:
        return Resolved(name, OUT_OF_SCOPE, "out_of_scope")
    if name in pack.intents:
        return Resolved(name, name, "intent")
    article = next((a for a in pack.articles if a.id == name), None)
    if article is not None:
        return Resolved(name, article.intents[0] if article.intents else article.id, "article")
    raise LabelError(f"unknown intent or article id {name[:80]!r}")


def clean_text(text: object) -> str:
    """The message text as stored, or LabelError when it is empty or too long."""
    cleaned = " ".join(str(text or "").split())
    if not cleaned:
        raise LabelError("the text is empty")
    if len(cleaned) > MAX_TEXT_CHARS:
        raise LabelError(f"the text is longer than {MAX_TEXT_CHARS} characters")
    return cleaned


def add(session: Session, *, text: str, resolved: Resolved, source: str, by: str | None,
        turn_id: int | None = None, message_id: int | None = None) -> int:
    row = LabelledExample(text=text, label=resolved.label, intent=resolved.intent,
                          kind=resolved.kind, source=source, labelled_by=by, turn_id=turn_id,
                          message_id=message_id)
    session.add(row)
    session.flush()
    return row.id


def training_rows(session: Session, statuses: Sequence[str]) -> list[tuple[int, str, str]]:
    """(id, text, intent) of the labels in these statuses, oldest first."""
    rows = session.execute(
        select(LabelledExample.id, LabelledExample.text, LabelledExample.intent)
        .where(LabelledExample.status.in_(list(statuses))).order_by(LabelledExample.id))
    return [(i, t, intent) for i, t, intent in rows]


def listed(session: Session, limit: int = 1000) -> list[LabelView]:
    """The newest labels first."""
    rows = session.scalars(select(LabelledExample).order_by(LabelledExample.id.desc())
                           .limit(max(1, limit)))
    return [LabelView(r.id, r.created_at, r.text, r.label, r.intent, r.kind, r.source, r.status,
                      r.labelled_by, r.turn_id, r.masked) for r in rows]
