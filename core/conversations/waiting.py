"""What the customer sees of a hand-off: their place in the queue, who holds it, agent
hours, and rating the help (1-5 stars, optional comment) once an agent resolved it.

The chat page reads `status` on every live refresh, so it is one small query pair; the
rating is stored with the conversation, the resolution it rates and the agent.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from core.conversations.agent_hours import AgentHours
from core.conversations.validation import InvalidMessage, clean_message
from core.security.auth import Principal, require
from core.storage.models import Conversation, Message, Rating, User

_NOT_FOUND = "That conversation doesn't exist or isn't yours."


@dataclass(frozen=True)
class HandoffStatus:
    status: str
    """bot | waiting | open | resolved"""
    agent: str | None
    """Who holds it (open) or resolved it."""
    ahead: int
    """Customers waiting longer than this one (waiting only)."""
    agents_in: bool
    back_at: str | None
    """Outside agent hours: when agents are back."""
    can_rate: bool
    rating: int | None
    last_message_id: int
    """The newest message: a live refresh redraws only when this or the status changed."""


class WaitingService:
    def __init__(self, sessions: sessionmaker[Session], hours: AgentHours):
        self.sessions = sessions
        self.hours = hours

    def status(self, user: Principal, conversation_id: int) -> HandoffStatus:
        require(user, "chat:use")
        with self.sessions() as session:
            row = session.execute(
                select(Conversation.status, User.username, Conversation.handoff_requested_at,
                       Conversation.resolved_at, Conversation.user_id,
                       select(func.max(Message.id)).where(
                           Message.conversation_id == Conversation.id,
                           Message.role != "note").scalar_subquery())
                .outerjoin(User, User.id == Conversation.assignee_id)
                .where(Conversation.id == conversation_id)).first()
            if row is None or row[4] != user.id:
                raise LookupError(_NOT_FOUND)
            status, agent, since, resolved_at, _, last_id = row
            ahead = 0
            if status == "waiting":
                ahead = session.scalar(select(func.count()).select_from(Conversation).where(
                    Conversation.status == "waiting",
                    (Conversation.handoff_requested_at < since)
                    | ((Conversation.handoff_requested_at == since)
                       & (Conversation.id < conversation_id)))) or 0
            rating = None
            if status == "resolved" and resolved_at is not None:
                rating = session.scalar(select(Rating.score).where(
                    Rating.conversation_id == conversation_id,
                    Rating.resolved_at == resolved_at))
        agents_in = self.hours.is_open()
        return HandoffStatus(
            status=status, agent=agent, ahead=ahead, agents_in=agents_in,
            back_at=None if agents_in else self.hours.back_at(),
            can_rate=status == "resolved" and resolved_at is not None and agent is not None,
            rating=rating, last_message_id=last_id or 0)

    def rate(self, user: Principal, conversation_id: int, score: int,
             comment: str | None = None) -> None:
        """Rate the latest resolution (rating again replaces the score and comment)."""
        require(user, "chat:use")
        if isinstance(score, bool) or not isinstance(score, int) or not 1 <= score <= 5:
            raise InvalidMessage("A rating is 1 to 5 stars.")
        comment = clean_message(comment, max_chars=1000) if comment and comment.strip() else None
        with self.sessions.begin() as session:
            conversation = session.get(Conversation, conversation_id)
            if conversation is None or conversation.user_id != user.id:
                raise LookupError(_NOT_FOUND)
            if conversation.status != "resolved" or conversation.resolved_at is None:
                raise InvalidMessage("You can rate the help once an agent has resolved it.")
            existing = session.scalar(select(Rating).where(
                Rating.conversation_id == conversation_id,
                Rating.resolved_at == conversation.resolved_at))
            if existing is None:
                session.add(Rating(conversation_id=conversation_id,
                                   agent_id=conversation.assignee_id,
                                   resolved_at=conversation.resolved_at, score=score,
                                   comment=comment))
            else:
                existing.score = score
                existing.comment = comment if comment is not None else existing.comment
