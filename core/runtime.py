"""The running system: settings, database, engine and services, wired once.

The CLI builds one per process; the Streamlit app keeps one per server in
`st.cache_resource`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine as Database
from sqlalchemy.orm import Session, sessionmaker

from core.config import Settings, get_settings
from core.conversations.agent_hours import AgentHours
from core.conversations.handoff import HandoffService
from core.conversations.inbox import InboxService
from core.conversations.privacy import PrivacyService
from core.conversations.service import ChatService
from core.conversations.waiting import WaitingService
from core.engine.answer_cache import SharedAnswerCache
from core.engine.engine import Engine
from core.events import EventBus
from core.learning.replicas import live_labelled
from core.learning.service import LearningService
from core.monitoring.monitor import Monitor
from core.monitoring.service import MonitoringService
from core.redis_link import RedisLink
from core.security.accounts import AccountService
from core.security.audit import AuditService
from core.security.auth import Principal, principal_of, system_user
from core.security.browser_sessions import BrowserSessionPolicy, BrowserSessionService
from core.security.keystore import keyring_for_migration, open_keyring
from core.security.rate_limits import ChatRateLimiter, LoginThrottle, SignUpThrottle
from core.security.user_admin import UserAdminService
from core.storage.database import make_database, make_sessions
from core.storage.encryption import keyring_of
from core.storage.migrate import upgrade
from core.storage.sealed_serde import encrypting_serializer
from core.tracing.langsmith_export import flush as flush_langsmith
from core.tracing.langsmith_export import load_pseudonym_secret
from core.tracing.masking import configure as configure_masking
from core.tracing.writer import TraceWriter


@dataclass
class Runtime:
    settings: Settings
    db: Database
    sessions: sessionmaker[Session]
    engine: Engine
    chat: ChatService
    accounts: AccountService
    monitoring: MonitoringService
    users: UserAdminService
    privacy: PrivacyService
    audit: AuditService
    redis: RedisLink
    events: EventBus
    learning: LearningService
    handoff: HandoffService
    inbox: InboxService
    waiting: WaitingService

    @classmethod
    def start(
        cls, settings: Settings | None = None, *, checkpointer: Any | None = None,
        rate_limit: bool = True, engine: Engine | None = None,
    ) -> Runtime:
        """Wire everything; pass `engine` to share an already loaded one."""
        settings = settings or get_settings()
        db = open_database(settings)
        keyring = keyring_of(db)
        configure_masking(settings.mask_pii)
        sessions = make_sessions(db)
        link = RedisLink(settings.redis_url)
        cache = SharedAnswerCache(link, encrypting_serializer(keyring)) if link.configured else None
        events = EventBus(link)
        if engine is None:
            with sessions() as session:  # the pack plus the live labelled examples
                version, labelled = live_labelled(session)
            engine = Engine.load(settings, checkpointer=checkpointer, keyring=keyring,
                                 cache=cache, on_breaker_change=_announce_breaker(events),
                                 labelled=labelled, model_version=version)
        limiter = ChatRateLimiter(settings.chat_rate_limit, link,
                                  conversations=settings.conversation_rate_limit,
                                  handoffs=settings.handoff_rate_limit) if rate_limit else None
        throttle = LoginThrottle(settings.login_failure_limit, link,
                                 client_rate=settings.login_client_limit) if rate_limit else None
        sign_ups = SignUpThrottle(settings.sign_up_limit, link) if rate_limit else None
        hours = AgentHours.parse(settings.agent_hours, settings.agent_timezone)
        chat = ChatService(engine, sessions, max_message_chars=settings.max_message_chars,
                           limiter=limiter, turn_timeout_s=settings.turn_timeout_s,
                           trace_writer=TraceWriter(sessions) if settings.trace_turns else None,
                           pseudonym_secret=load_pseudonym_secret(settings.pseudonym_key_path),
                           events=events, hours=hours)
        browser_sessions = BrowserSessionService(sessions, BrowserSessionPolicy(
            idle=timedelta(minutes=settings.session_idle_minutes),
            absolute=timedelta(hours=settings.session_absolute_hours)))
        min_chars = settings.password_min_chars
        return cls(
            settings, db, sessions, engine, chat,
            AccountService(sessions, browser_sessions, throttle, sign_ups=sign_ups,
                           min_password_chars=min_chars),
            MonitoringService(sessions, engine, events),
            UserAdminService(sessions, browser_sessions, min_password_chars=min_chars),
            PrivacyService(sessions, getattr(engine.graph, "checkpointer", None),
                           on_deleted=chat.forget_conversations),
            AuditService(sessions),
            link,
            events,
            LearningService(sessions, engine, settings),
            HandoffService(sessions, max_message_chars=settings.max_message_chars),
            InboxService(sessions, engine.pack.articles),
            WaitingService(sessions, hours),
        )

    def close(self) -> None:
        """Store queued traces and send queued LangSmith runs (before a command exits)."""
        if self.chat.trace_writer is not None:
            self.chat.trace_writer.flush()
        flush_langsmith()
        self.db.dispose()  # pooled connections closed; new ones open on the next use

    def start_monitor(self) -> threading.Event:
        """The system monitor in a background thread (set the event to stop it)."""
        settings = self.settings
        monitor = Monitor(self.sessions, disk_path=settings.state_dir,
                          consecutive=settings.alert_consecutive,
                          webhook_url=settings.alert_webhook_url, link=self.redis,
                          events=self.events, lease_s=max(3 * settings.monitor_interval_s, 2.0),
                          hours=AgentHours.parse(settings.agent_hours, settings.agent_timezone))
        self.events.listen()
        return monitor.start(settings.monitor_interval_s)

    def watch_model(self) -> threading.Event:
        """Keep this replica on the live intent model (retrains elsewhere) in the background."""
        return self.learning.watch(self.settings.model_check_interval_s)

    def local_user(self, account: str = "cli") -> Principal:
        """The terminal's own customer account (`bench` for benchmarks), found by its system
        flag, never by its name; created on first use."""
        with self.sessions.begin() as session:
            return principal_of(system_user(session, account))


def open_database(settings: Settings) -> Database:
    """The configured database, migrated to the latest schema, its encryption keys checked."""
    db = make_database(settings)
    upgrade(db, keyring=lambda: keyring_for_migration(settings))
    open_keyring(settings, db)
    return db


def _announce_breaker(events: EventBus):
    """Tells supervisors (system alerts page) when the answer model is paused or back."""

    def announce(state: str) -> None:
        if state == "open":
            events.publish("model_paused", "The answer model keeps failing: answers are "
                           "written offline until it recovers")
        elif state == "closed":
            events.publish("model_resumed", "The answer model is answering again")

    return announce
