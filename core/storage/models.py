"""SQLAlchemy 2.0 typed models: users, conversations, messages, turns and feedback.

A conversation has one status (Chatwoot's model): `bot` (the assistant answers),
`waiting` (a person was asked for), `open` (an agent holds it: the bot is silent) or
`resolved`; messages carry their sender type (customer, assistant, agent, note, event).

A customer's message is stored before the workflow runs and its turn afterwards, so a
crash mid-turn leaves the message on record; a customer message with no turn is
unanswered (derived, not stored twice).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from core.storage.encryption import EncryptedText


def utcnow() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(16), default="customer")
    is_active: Mapped[bool] = mapped_column(default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    system_account: Mapped[str | None] = mapped_column(String(32), unique=True, default=None)
    """Set only on the app's own accounts (`cli`: the terminal's customer; `bench`), which
    are found by it, never by a name: no sign-up or admin can set it, nobody logs in."""


class Conversation(Base):
    __tablename__ = "conversations"
    __table_args__ = (Index("ix_conversations_status_queue", "status", "handoff_requested_at"),
                      {"sqlite_autoincrement": True})
    """Ids are never reused on SQLite either: a purged conversation's id can't reach a new
    conversation that another process still remembers under its old owner."""

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    title: Mapped[str] = mapped_column(EncryptedText, default="New conversation")
    thread_id: Mapped[str] = mapped_column(String(64), unique=True)
    handoff_requested_at: Mapped[datetime | None] = mapped_column(default=None)
    """When the customer last asked for a person (their place in the queue)."""
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    status: Mapped[str] = mapped_column(String(16), default="bot")
    """bot | waiting | open (an agent holds it) | resolved; changed only by guarded updates."""
    assignee_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None,
                                                    index=True)
    """The agent holding it (open), or who last held it (resolved, handed back)."""
    assigned_at: Mapped[datetime | None] = mapped_column(default=None)
    first_human_reply_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)

    messages: Mapped[list[Message]] = relationship(
        back_populates="conversation", order_by="Message.id", cascade="all, delete-orphan"
    )


class Message(Base):
    __tablename__ = "messages"

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    role: Mapped[str] = mapped_column(String(16))
    """Sender type: customer | assistant (the bot) | agent | note (agents only) | event."""
    body: Mapped[str] = mapped_column(EncryptedText)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    sender_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    """The agent who wrote an agent message or note."""
    for_person: Mapped[bool] = mapped_column(default=False)
    """A customer message sent while a person was asked for or held it: the bot stays out."""

    conversation: Mapped[Conversation] = relationship(back_populates="messages")


class Turn(Base):
    """One customer message and the workflow's reply to it, with the why."""

    __tablename__ = "turns"
    __table_args__ = (
        # Covering index: the statistics read a window of turns without touching the table.
        Index("ix_turns_created_stats", "created_at", "status", "route", "intent", "confidence",
              "latency_ms"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    question_id: Mapped[int] = mapped_column(ForeignKey("messages.id"), unique=True)
    reply_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), default=None)
    intent: Mapped[str | None] = mapped_column(String(64), default=None)
    confidence: Mapped[float | None] = mapped_column(default=None)
    route: Mapped[str | None] = mapped_column(String(16), default=None)
    sources: Mapped[list] = mapped_column(JSON, default=list)
    options: Mapped[list | None] = mapped_column(JSON, default=list)
    """The topics (article titles) a clarifying question offered, for the customer to pick
    (None on turns stored before they were kept)."""
    latency_ms: Mapped[float | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | error
    error: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    answer_mode: Mapped[str | None] = mapped_column(String(16), default=None)
    """With a model configured: `model` (it wrote the answer), `fallback` (it failed: offline
    answer) or `paused` (its circuit breaker was open: offline answer, model not asked)."""
    model_ms: Mapped[float | None] = mapped_column(default=None)
    prompt_tokens: Mapped[int | None] = mapped_column(default=None)
    completion_tokens: Mapped[int | None] = mapped_column(default=None)
    model_error: Mapped[str | None] = mapped_column(String(200), default=None)
    """Why the model's answer was not used (no customer text: status codes and kinds)."""
    model_version: Mapped[int | None] = mapped_column(default=None)
    """The intent model that answered: a `ModelVersion` id (0: the data pack alone)."""


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    score: Mapped[int]  # 1 thumbs up, 0 thumbs down
    comment: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LabelledExample(Base):
    """A customer message labelled by a supervisor (Review page) or an import: training data.

    `label` is what was chosen (an intent, an article id or `out_of_scope`); `intent` is
    what it trains as. After a retention purge only the masked text remains (`masked`),
    with no link to the turn or message it came from.
    """

    __tablename__ = "labelled_examples"
    __table_args__ = (Index("ix_labelled_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    text: Mapped[str] = mapped_column(EncryptedText)
    label: Mapped[str] = mapped_column(String(128))
    intent: Mapped[str] = mapped_column(String(128))
    kind: Mapped[str] = mapped_column(String(16))  # intent | article | out_of_scope | confirmed
    source: Mapped[str] = mapped_column(String(16))  # review | import
    labelled_by: Mapped[str | None] = mapped_column(String(64), default=None)
    turn_id: Mapped[int | None] = mapped_column(ForeignKey("turns.id"), default=None, index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("messages.id"), default=None,
                                                   index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")  # pending | live | refused
    version_id: Mapped[int | None] = mapped_column(default=None)
    """The retrain that put it live or refused it."""
    masked: Mapped[bool] = mapped_column(default=False)


class ModelVersion(Base):
    """One retrain of the intent model: its held-out scores and whether it went live."""

    __tablename__ = "model_versions"
    __table_args__ = (Index("ix_model_versions_status", "status", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(default=None)
    status: Mapped[str] = mapped_column(String(16), default="training")
    """training | live | refused | failed"""
    reason: Mapped[str | None] = mapped_column(Text, default=None)
    requested_by: Mapped[str | None] = mapped_column(String(64), default=None)
    labels_total: Mapped[int] = mapped_column(default=0)
    labels_new: Mapped[int] = mapped_column(default=0)
    held_out: Mapped[int] = mapped_column(default=0)
    score_before: Mapped[float | None] = mapped_column(default=None)
    score_after: Mapped[float | None] = mapped_column(default=None)
    train_seconds: Mapped[float | None] = mapped_column(default=None)
    heartbeat_at: Mapped[datetime | None] = mapped_column(default=None)
    """While training: when the retrain last said it is alive (see core.learning.service)."""


class Rating(Base):
    """A customer's rating (1-5) of the help after an agent resolved their conversation."""

    __tablename__ = "ratings"
    __table_args__ = (UniqueConstraint("conversation_id", "resolved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    conversation_id: Mapped[int] = mapped_column(ForeignKey("conversations.id"), index=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    resolved_at: Mapped[datetime]
    """The resolution rated (one rating each; rating again replaces it)."""
    score: Mapped[int]
    comment: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class TurnTrace(Base):
    """Why a turn answered as it did: runners-up, passages, the LangSmith run (if exported)."""

    __tablename__ = "turn_traces"

    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), primary_key=True)
    query: Mapped[str] = mapped_column(EncryptedText, default="")
    """What retrieval searched for, masked."""
    follow_up: Mapped[bool] = mapped_column(default=False)
    best_guess: Mapped[str | None] = mapped_column(String(64), default=None)
    alternatives: Mapped[list] = mapped_column(JSON, default=list)
    passages: Mapped[list] = mapped_column(JSON, default=list)
    langsmith_run_id: Mapped[str | None] = mapped_column(String(36), default=None)
    evidence: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    """JSON: the intent decision's nearest examples [text (masked), intent, similarity]."""


class Span(Base):
    """One node run of a turn's workflow (or its routing edge), timed from the turn's start."""

    __tablename__ = "spans"
    __table_args__ = (Index("ix_spans_node_created", "node", "created_at", "duration_ms", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    turn_id: Mapped[int] = mapped_column(ForeignKey("turns.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    """The turn's time (copied here so statistics read spans without a join)."""
    node: Mapped[str] = mapped_column(String(48))
    parent: Mapped[str | None] = mapped_column(String(48), default=None)
    start_ms: Mapped[float] = mapped_column(default=0.0)
    duration_ms: Mapped[float] = mapped_column(default=0.0)
    status: Mapped[str] = mapped_column(String(16), default="ok")  # ok | error | running
    error: Mapped[str | None] = mapped_column(EncryptedText, default=None)
    input_summary: Mapped[str] = mapped_column(EncryptedText, default="")
    output_summary: Mapped[str] = mapped_column(EncryptedText, default="")


class AuditEvent(Base):
    """Security-relevant events: who did what, when and from where (admins read them)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_action_created", "action", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), default=None)
    actor: Mapped[str | None] = mapped_column(String(64), default=None)
    """Who acted, by name (`cli` for the command line); for a failed login, the name tried."""
    action: Mapped[str] = mapped_column(String(48))
    outcome: Mapped[str] = mapped_column(String(16))  # success | failure
    detail: Mapped[str | None] = mapped_column(Text, default=None)
    client: Mapped[str | None] = mapped_column(String(64), default=None)
    """Where from: the client's address, or `cli` for the command line."""


class UserSession(Base):
    """A browser login. Only a hash of its token is stored; the token lives in a cookie."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(default=None)
    end_reason: Mapped[str | None] = mapped_column(String(32), default=None)
    client: Mapped[str | None] = mapped_column(String(64), default=None)


class KeyCheck(Base):
    """A known value encrypted with the keys: a wrong key is caught at start, not mid-chat."""

    __tablename__ = "key_checks"

    id: Mapped[int] = mapped_column(primary_key=True)
    token: Mapped[str] = mapped_column(Text)


class MetricSample(Base):
    """One reading of the host and the app process by the monitor."""

    __tablename__ = "metric_samples"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    cpu_percent: Mapped[float]
    memory_percent: Mapped[float]
    disk_percent: Mapped[float]
    process_rss_mb: Mapped[float]


class Alert(Base):
    """An alert's life: firing -> acknowledged -> resolved. One open alert per rule."""

    __tablename__ = "alerts"
    __table_args__ = (Index("ix_alerts_rule_status", "rule", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    rule: Mapped[str] = mapped_column(String(48))
    severity: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="firing")
    message: Mapped[str] = mapped_column(Text)
    value: Mapped[float]
    threshold: Mapped[float]
    fired_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64), default=None)
    acknowledged_at: Mapped[datetime | None] = mapped_column(default=None)
    resolved_by: Mapped[str | None] = mapped_column(String(64), default=None)
    resolved_at: Mapped[datetime | None] = mapped_column(default=None)


class AlertThreshold(Base):
    """A supervisor's override of a rule's default threshold."""

    __tablename__ = "alert_thresholds"

    rule: Mapped[str] = mapped_column(String(48), primary_key=True)
    threshold: Mapped[float]
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
