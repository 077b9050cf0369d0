"""The system monitor: samples the host and the app, checks the alert rules, notifies.

Every `interval_s` it records CPU, memory, disk and the process's memory (psutil),
reads the application's last five minutes (error rate, p95 latency, out-of-scope and
hand-off rates, negative feedback, failed logins) and, during agent hours, the queue for a
person (the longest wait; customers waiting while no agent holds or takes conversations),
and runs every rule. The app server
starts one in the background; `concierge monitor` runs one on its own.
"""

from __future__ import annotations

import json
import logging
import threading
import urllib.request
import uuid
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path

import psutil
from sqlalchemy import delete, func, select
from sqlalchemy.orm import Session, sessionmaker

from core.conversations.agent_hours import AgentHours
from core.events import EventBus
from core.monitoring import alert_book
from core.monitoring.human_stats import waiting_queue
from core.monitoring.rules import RuleState, evaluate
from core.monitoring.stats import model_stats, overview
from core.monitoring.windows import window_ending
from core.redis_link import RedisLink
from core.storage.models import Alert, AuditEvent, Conversation, MetricSample, utcnow

log = logging.getLogger("concierge.monitor")
LEADER_KEY = "concierge:monitor:leader"
APP_WINDOW = timedelta(minutes=5)
MIN_TURNS_FOR_RATES = 5
KEEP_SAMPLES = timedelta(days=1)
RECENT_TAKE = timedelta(minutes=10)
"""A take this recent means someone is working the queue (see `queue_readings`)."""


class HostSampler:
    """psutil readings. The first non-blocking cpu_percent() is always 0.0, so prime it."""

    def __init__(self, disk_path: Path):
        self.disk_path = disk_path
        self.process = psutil.Process()
        psutil.cpu_percent(None)

    def sample(self) -> dict[str, float]:
        return {
            "cpu_percent": psutil.cpu_percent(None),
            "memory_percent": psutil.virtual_memory().percent,
            "disk_percent": psutil.disk_usage(str(self.disk_path)).percent,
            "process_rss_mb": round(self.process.memory_info().rss / 2**20, 1),
        }


def application_readings(session: Session) -> dict[str, float | None]:
    """The application metrics of the last five minutes, in the rules' units."""
    now = utcnow()
    recent = overview(session, window_ending(now, APP_WINDOW))
    enough = recent.turns >= MIN_TURNS_FOR_RATES
    model = model_stats(session, window_ending(now, APP_WINDOW))

    def percent(rate: float | None) -> float | None:
        return rate * 100 if rate is not None and enough else None

    negative = None if recent.thumbs_up_share is None else 1 - recent.thumbs_up_share
    failed = session.scalar(
        select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "login", AuditEvent.outcome == "failure",
            AuditEvent.created_at >= now - APP_WINDOW)
    )
    return {
        "error_rate": percent(recent.error_rate),
        "p95_latency_ms": recent.p95_latency_ms if enough else None,
        "out_of_scope_rate": percent(recent.out_of_scope_rate),
        "handoff_rate": percent(recent.handoff_rate),
        "negative_feedback_share": negative * 100 if negative is not None and recent.feedback >= 3
        else None,
        "failed_logins": float(failed or 0),
        "model_paused": (1.0 if model.paused else 0.0) if model.calls else None,
        "model_fallback_rate": model.fallback_rate * 100
        if model.fallback_rate is not None and model.calls >= MIN_TURNS_FOR_RATES else None,
    }


def queue_readings(session: Session, hours: AgentHours | None,
                   now: datetime | None = None) -> dict[str, float | None]:
    """The queue for a person, during agent hours only (outside them waiting is expected):
    how long the first customer in it has waited, in minutes, and whether customers wait
    while no agent holds a conversation or has taken one in the last ten minutes."""
    now = now or utcnow()
    if hours is not None and not hours.is_open(now):
        return {"longest_wait_min": None, "queue_unattended": None}
    waiting, oldest = waiting_queue(session)
    if not waiting:
        return {"longest_wait_min": None, "queue_unattended": 0.0}
    working = session.scalar(select(func.count(Conversation.id)).where(
        (Conversation.status == "open") | (Conversation.assigned_at >= now - RECENT_TAKE)))
    waited = max(0.0, (now - oldest).total_seconds() / 60) if oldest else 0.0
    return {"longest_wait_min": round(waited, 1), "queue_unattended": 0.0 if working else 1.0}


def post_webhook(url: str, event: str, alert: Alert) -> None:
    """JSON POST of an alert event; failures are logged, never raised."""
    body = json.dumps({
        "event": event, "alert_id": alert.id, "rule": alert.rule, "severity": alert.severity,
        "status": alert.status, "message": alert.message, "value": alert.value,
        "threshold": alert.threshold, "fired_at": alert.fired_at.isoformat() + "Z",
        "resolved_at": alert.resolved_at.isoformat() + "Z" if alert.resolved_at else None,
    }).encode()
    request = urllib.request.Request(url, data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5):
            pass
    except OSError as exc:
        log.warning("alert webhook failed: %s", exc)


class Monitor:
    def __init__(self, sessions: sessionmaker[Session], *, disk_path: Path,
                 consecutive: int = 3, webhook_url: str | None = None,
                 notify: Callable[[str, Alert], None] | None = None,
                 link: RedisLink | None = None, events: EventBus | None = None,
                 lease_s: float = 15.0, hours: AgentHours | None = None):
        self.sessions = sessions
        self.hours = hours
        """Agent hours: the queue rules read only inside them (None: always)."""
        self.link = link
        self.events = events
        self.lease_s = lease_s
        self.replica = uuid.uuid4().hex
        self.sampler = HostSampler(disk_path)
        self.consecutive = consecutive
        self.states: dict[str, RuleState] = {}
        self.notify = notify or (
            (lambda event, alert: _in_background(post_webhook, webhook_url, event, alert))
            if webhook_url else (lambda event, alert: None)
        )
        self.ticks = 0
        self.last_readings: dict[str, float | None] = {}

    def is_leader(self) -> bool:
        """Whether this process checks the rules now: with Redis, the one replica holding the
        lease (so an alert fires once across replicas); without it, every process."""
        if self.link is None or not self.link.configured:
            return True

        def hold(r) -> bool:
            ttl = int(self.lease_s * 1000)
            if r.set(LEADER_KEY, self.replica, nx=True, px=ttl):
                return True
            if r.get(LEADER_KEY) == self.replica.encode():
                r.pexpire(LEADER_KEY, ttl)
                return True
            return False

        return self.link.call(hold, lambda: True)  # Redis down: keep watching in-process

    def tick(self) -> list[tuple[str, Alert]]:
        """One sample and one pass over the rules; returns the (event, alert) it caused."""
        if not self.is_leader():
            self.last_readings = {"leader": 0.0}
            return []
        readings = self.sampler.sample()
        events: list[tuple[str, Alert]] = []
        with self.sessions.begin() as session:
            session.add(MetricSample(**readings))
            readings |= application_readings(session)
            readings |= queue_readings(session, self.hours)
            readings["redis_down"] = self._redis_down()
            self.last_readings = readings
            for rule in alert_book.rules_in_force(session):
                state = self.states.get(rule.name, RuleState())
                # The database knows best whether it is open (a person may have resolved it).
                state = RuleState(alert_book.open_alert(session, rule.name) is not None,
                                  state.breaches, state.clears)
                value = readings.get(rule.metric)
                self.states[rule.name], transition = evaluate(rule, value, state, self.consecutive)
                if transition == "fire" and (alert := alert_book.fire(session, rule, value or 0.0)):
                    events.append(("firing", alert))
                elif transition == "resolve" and (alert := alert_book.resolve_rule(session, rule.name)):
                    events.append(("resolved", alert))
            self.ticks += 1
            if self.ticks % 100 == 1:
                session.execute(delete(MetricSample).where(
                    MetricSample.created_at < utcnow() - KEEP_SAMPLES))
        for event, alert in events:
            self.notify(event, alert)
            if self.events is not None:
                self.events.publish(f"alert_{event}", alert.message, alert_id=alert.id,
                                    rule=alert.rule, severity=alert.severity)
        return events

    def _redis_down(self) -> float | None:
        """1 when Redis is configured but not answering, 0 when it is, None without Redis."""
        if self.link is None or not self.link.configured:
            return None
        return 0.0 if self.link.up else 1.0

    def run(self, interval_s: float, stop: threading.Event) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # the monitor must outlive a bad reading or a busy database
                log.exception("monitor tick failed")
            stop.wait(interval_s)

    def start(self, interval_s: float) -> threading.Event:
        """Run in a daemon thread; set the returned event to stop it."""
        stop = threading.Event()
        threading.Thread(target=self.run, args=(interval_s, stop), name="monitor",
                         daemon=True).start()
        return stop


def _in_background(fn: Callable, *args: object) -> None:
    threading.Thread(target=fn, args=args, name="webhook", daemon=True).start()
