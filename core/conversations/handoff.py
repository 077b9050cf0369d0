"""What agents do to a conversation: take, release, transfer, resolve, hand back, reply, note.

Every change of hands is one guarded conditional UPDATE (`... where status = 'waiting'`),
never a read-then-write, so exactly one agent wins a conversation, also across
processes and replicas. Each change is audited and leaves an `event` message the
customer sees ("Max joined the conversation"). Agents act on conversations they hold;
supervisors (`inbox:supervise`) on any.
"""

from __future__ import annotations

from sqlalchemy import ColumnElement, func, select, update
from sqlalchemy.orm import Session, sessionmaker

from core.conversations import store as chat_store
from core.conversations.validation import clean_message
from core.security import audit
from core.security.auth import NotAllowed, Principal, has_permission, require
from core.storage.models import Conversation, User, utcnow

_CONVERSATIONS = Conversation.__table__
NOT_FOUND = "That conversation doesn't exist."


class HandoffConflict(ValueError):
    """The conversation is not in the state the action needs (someone else got there first)."""


def may_supervise(user: Principal) -> bool:
    return user.can("inbox:supervise")


def can_view(user: Principal, status: str, assignee_id: int | None) -> bool:
    """Agents see the queue and what they hold or held; supervisors see everything."""
    if not user.can("inbox:work"):
        return False
    return may_supervise(user) or status == "waiting" or assignee_id == user.id


class HandoffService:
    def __init__(self, sessions: sessionmaker[Session], *, max_message_chars: int = 2000):
        self.sessions = sessions
        self.max_message_chars = max_message_chars

    def take(self, user: Principal, conversation_id: int, client: str | None = None) -> None:
        """Assign a waiting conversation to me; HandoffConflict when another agent was first."""
        require(user, "inbox:work")
        with self.sessions.begin() as session:
            won = _guarded(session, conversation_id, _CONVERSATIONS.c.status == "waiting",
                           status="open", assignee_id=user.id, assigned_at=utcnow())
            if not won:
                raise HandoffConflict(_why_not(session, conversation_id, "waiting"))
            _event(session, conversation_id, f"{user.username.title()} joined the conversation")
            audit.record(session, "conversation_take", actor=user, client=client,
                         detail=f"conversation {conversation_id}")

    def release(self, user: Principal, conversation_id: int, client: str | None = None) -> None:
        """Put a conversation I hold back in the queue (at its old place)."""
        with self.sessions.begin() as session:
            self._change(session, user, conversation_id, status="waiting", assignee_id=None,
                         assigned_at=None)
            _event(session, conversation_id, f"{user.username.title()} left; you're back in "
                   "the queue for the next person")
            audit.record(session, "conversation_release", actor=user, client=client,
                         detail=f"conversation {conversation_id}")

    def transfer(self, user: Principal, conversation_id: int, to_username: str,
                 client: str | None = None) -> None:
        """Hand a conversation I hold to another agent."""
        require(user, "inbox:work")
        with self.sessions.begin() as session:
            target = session.scalar(select(User).where(User.username == to_username))
            if (target is None or not target.is_active
                    or not has_permission(target.role, "inbox:work")):
                raise HandoffConflict(f"{to_username!r} is not an active agent.")
            self._change(session, user, conversation_id, assignee_id=target.id,
                         assigned_at=utcnow())
            _event(session, conversation_id, f"{user.username.title()} passed the conversation "
                   f"to {target.username.title()}")
            audit.record(session, "conversation_transfer", actor=user, client=client,
                         detail=f"conversation {conversation_id} to {target.username}")

    def resolve(self, user: Principal, conversation_id: int, client: str | None = None) -> None:
        """Done: the customer is asked to rate the help; the bot answers their next message."""
        with self.sessions.begin() as session:
            self._change(session, user, conversation_id, status="resolved",
                         resolved_at=utcnow())
            _event(session, conversation_id,
                   f"{user.username.title()} marked the conversation resolved")
            audit.record(session, "conversation_resolve", actor=user, client=client,
                         detail=f"conversation {conversation_id}")

    def hand_back(self, user: Principal, conversation_id: int, client: str | None = None) -> None:
        """Back to the assistant, which answers the customer's next message."""
        with self.sessions.begin() as session:
            self._change(session, user, conversation_id, status="bot")
            _event(session, conversation_id, "You're chatting with our assistant again")
            audit.record(session, "conversation_hand_back", actor=user, client=client,
                         detail=f"conversation {conversation_id}")

    def reply(self, user: Principal, conversation_id: int, text: object) -> int:
        """An agent's message to the customer (only while holding the conversation)."""
        require(user, "inbox:work")
        body = clean_message(text, max_chars=self.max_message_chars)
        with self.sessions.begin() as session:
            self._change(session, user, conversation_id, first_human_reply_at=func.coalesce(
                _CONVERSATIONS.c.first_human_reply_at, utcnow()))
            return chat_store.add_message(session, conversation_id=conversation_id, role="agent",
                                          body=body, sender_id=user.id)

    def note(self, user: Principal, conversation_id: int, text: object) -> int:
        """A private note for other agents; the customer never sees it."""
        require(user, "inbox:work")
        body = clean_message(text, max_chars=self.max_message_chars)
        with self.sessions.begin() as session:
            row = session.execute(select(Conversation.status, Conversation.assignee_id)
                                  .where(Conversation.id == conversation_id)).first()
            if row is None:
                raise HandoffConflict(NOT_FOUND)
            if not can_view(user, row[0], row[1]):
                raise NotAllowed("You don't have permission to do that.")
            return chat_store.add_message(session, conversation_id=conversation_id, role="note",
                                          body=body, sender_id=user.id)

    def _change(self, session: Session, user: Principal, conversation_id: int,
                **values: object) -> None:
        """Change an open conversation I hold (any open one for a supervisor), or raise."""
        require(user, "inbox:work")
        guards = [_CONVERSATIONS.c.status == "open"]
        if not may_supervise(user):
            guards.append(_CONVERSATIONS.c.assignee_id == user.id)
        if not _guarded(session, conversation_id, *guards, **values):
            raise HandoffConflict(_why_not(session, conversation_id, "open", user))


def _guarded(session: Session, conversation_id: int, *guards: ColumnElement[bool],
             **values: object) -> bool:
    """One conditional UPDATE: True when this call changed the row (it won)."""
    result = session.execute(update(_CONVERSATIONS)
                             .where(_CONVERSATIONS.c.id == conversation_id, *guards)
                             .values(**values))
    return result.rowcount == 1


def _event(session: Session, conversation_id: int, text: str) -> None:
    chat_store.add_message(session, conversation_id=conversation_id, role="event", body=text)


def _why_not(session: Session, conversation_id: int, wanted: str,
             user: Principal | None = None) -> str:
    row = session.execute(select(Conversation.status, Conversation.assignee_id)
                          .where(Conversation.id == conversation_id)).first()
    if row is None:
        return NOT_FOUND
    status, assignee = row
    if wanted == "waiting" and status == "open":
        return "Another agent took this conversation first."
    if status == "open" and user is not None and assignee != user.id:
        return "Another agent holds this conversation."
    return {"waiting": "This conversation is waiting in the queue: take it first.",
            "resolved": "This conversation is already resolved.",
            "bot": "The assistant has this conversation (nobody asked for a person)."
            }.get(status, "This conversation can't do that now.")
