"""The inbox's read side: the queue with the bot's summary, one conversation for an agent.

Queue pages are small (25 rows) and read in four statements whatever the queue's
length: the page of conversations, its count, their last messages (a window function)
and their turns. Agents see the queue and what they hold or held; supervisors see all.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased, sessionmaker

from agents.retrieval import Article
from core.conversations.handoff import can_view, may_supervise
from core.security.auth import NotAllowed, Principal, has_permission, require
from core.storage.models import Conversation, Message, Turn, User, utcnow

View = Literal["waiting", "mine", "open", "resolved"]
VIEWS: tuple[View, ...] = ("waiting", "mine", "open", "resolved")
_TRIED = {"answer": "answered", "clarify": "asked to clarify", "smalltalk": "small talk",
          "handoff": "offered a person", "error": "failed"}


@dataclass(frozen=True)
class QueueRow:
    conversation_id: int
    customer: str
    title: str
    status: str
    assignee: str | None
    waiting_since: datetime | None
    intent: str | None = None
    """The bot's last understanding of what the customer wants."""
    tried: str = ""
    """What the bot tried, e.g. `answered 2x, asked to clarify 1x`."""
    last_messages: list[tuple[str, str]] = field(default_factory=list)
    """The last few (sender type, text), oldest first (no private notes)."""

    def waited_s(self, now: datetime | None = None) -> float:
        if self.waiting_since is None:
            return 0.0
        return max(0.0, ((now or utcnow()) - self.waiting_since).total_seconds())


@dataclass(frozen=True)
class QueuePage:
    rows: list[QueueRow]
    total: int


@dataclass(frozen=True)
class InboxEntry:
    """One message as an agent sees it (notes included)."""

    message_id: int
    role: str
    text: str
    at: datetime
    sender: str | None = None
    turn_id: int | None = None
    intent: str | None = None
    confidence: float | None = None
    route: str | None = None


class InboxService:
    def __init__(self, sessions: sessionmaker[Session], articles: list[Article] | None = None):
        self.sessions = sessions
        self.articles = articles or []

    def queue(self, user: Principal, view: View = "waiting", *, limit: int = 25,
              offset: int = 0) -> QueuePage:
        """A page of the view: waiting oldest first; the others most recent first."""
        require(user, "inbox:work")
        if view not in VIEWS:
            raise ValueError(f"Unknown view {view!r}; choose one of {', '.join(VIEWS)}.")
        customer = aliased(User)
        agent = aliased(User)
        wanted = _view_filter(user, view)
        order = (Conversation.handoff_requested_at, Conversation.id) if view == "waiting" else (
            func.coalesce(Conversation.resolved_at, Conversation.assigned_at,
                          Conversation.handoff_requested_at).desc(), Conversation.id.desc())
        with self.sessions() as session:
            total = session.scalar(select(func.count()).select_from(Conversation).where(*wanted))
            rows = session.execute(
                select(Conversation.id, customer.username, Conversation.title,
                       Conversation.status, agent.username, Conversation.handoff_requested_at)
                .join(customer, customer.id == Conversation.user_id)
                .outerjoin(agent, agent.id == Conversation.assignee_id)
                .where(*wanted).order_by(*order)
                .limit(max(1, min(limit, 200))).offset(max(0, offset))).all()
            ids = [r[0] for r in rows]
            last = _last_messages(session, ids)
            turns = _turns(session, ids)
        return QueuePage([
            QueueRow(*r, intent=_last_intent(turns.get(r[0], [])),
                     tried=_tried(turns.get(r[0], [])), last_messages=last.get(r[0], []))
            for r in rows], total or 0)

    def conversation(self, user: Principal, conversation_id: int) -> tuple[QueueRow,
                                                                            list[InboxEntry]]:
        """The conversation's header and whole transcript (notes too), if I may see it."""
        require(user, "inbox:work")
        customer, agent = aliased(User), aliased(User)
        sender = aliased(User)
        with self.sessions() as session:
            head = session.execute(
                select(Conversation.id, customer.username, Conversation.title,
                       Conversation.status, agent.username, Conversation.handoff_requested_at,
                       Conversation.assignee_id)
                .join(customer, customer.id == Conversation.user_id)
                .outerjoin(agent, agent.id == Conversation.assignee_id)
                .where(Conversation.id == conversation_id)).first()
            if head is None:
                raise LookupError("That conversation doesn't exist.")
            if not can_view(user, head[3], head[6]):
                raise NotAllowed("That conversation doesn't exist or isn't yours to see.")
            rows = session.execute(
                select(Message.id, Message.role, Message.body, Message.created_at,
                       sender.username, Turn.id, Turn.intent, Turn.confidence, Turn.route)
                .outerjoin(sender, sender.id == Message.sender_id)
                .outerjoin(Turn, Turn.reply_id == Message.id)
                .where(Message.conversation_id == conversation_id).order_by(Message.id)).all()
        return QueueRow(*head[:6]), [InboxEntry(*r) for r in rows]

    def agents(self, user: Principal) -> list[str]:
        """Who a conversation can be transferred to: the other active agents."""
        require(user, "inbox:work")
        with self.sessions() as session:
            users = session.execute(select(User.username, User.role).where(
                User.is_active.is_(True), User.id != user.id).order_by(User.username)).all()
        return [name for name, role in users if has_permission(role, "inbox:work")
                and role != "admin"]

    def find_articles(self, user: Principal, title_words: str, limit: int = 8) -> list[Article]:
        """Knowledge-base articles whose title has every word typed (for a draft reply)."""
        require(user, "inbox:work")
        words = title_words.lower().split()
        return [a for a in self.articles if all(w in a.title.lower() for w in words)][:limit]


def _view_filter(user: Principal, view: View) -> list:
    status = Conversation.status
    mine = [Conversation.assignee_id == user.id] if not may_supervise(user) else []
    if view == "waiting":
        return [status == "waiting"]
    if view == "mine":
        return [status == "open", Conversation.assignee_id == user.id]
    if view == "open":
        return [status.in_(("waiting", "open")),
                *([] if may_supervise(user) else
                  [(status == "waiting") | (Conversation.assignee_id == user.id)])]
    return [status == "resolved", *mine]


def _last_messages(session: Session, ids: list[int], keep: int = 3) -> dict[int, list]:
    if not ids:
        return {}
    rank = func.row_number().over(partition_by=Message.conversation_id,
                                  order_by=Message.id.desc()).label("rank")
    inner = (select(Message.conversation_id, Message.id, Message.role, Message.body, rank)
             .where(Message.conversation_id.in_(ids), Message.role.in_(
                 ("customer", "assistant", "agent"))).subquery())
    found: dict[int, list] = {}
    for conversation_id, _, role, body, _ in session.execute(
            select(inner).where(inner.c.rank <= keep).order_by(inner.c.conversation_id,
                                                                 inner.c.id)):
        found.setdefault(conversation_id, []).append((role, body))
    return found


def _turns(session: Session, ids: list[int]) -> dict[int, list[tuple[str | None, str | None]]]:
    found: dict[int, list] = {}
    if ids:
        for conversation_id, intent, route in session.execute(
                select(Turn.conversation_id, Turn.intent, Turn.route)
                .where(Turn.conversation_id.in_(ids)).order_by(Turn.id)):
            found.setdefault(conversation_id, []).append((intent, route))
    return found


def _last_intent(turns: list[tuple[str | None, str | None]]) -> str | None:
    return next((intent for intent, _ in reversed(turns) if intent), None)


def _tried(turns: list[tuple[str | None, str | None]]) -> str:
    counts = Counter(_TRIED.get(route or "", route or "?") for _, route in turns)
    return ", ".join(f"{what} {n}x" for what, n in counts.items()) or "nothing yet"
