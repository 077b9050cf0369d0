"""The alert lifecycle in the database: firing -> acknowledged -> resolved.

At most one open (firing or acknowledged) alert per rule: a rule that fires again while
open only refreshes the open alert (de-duplication). Functions take a `Session` and do
not commit; the caller owns the transaction.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from core.monitoring.rules import DEFAULT_RULES, AlertRule
from core.storage.models import Alert, AlertThreshold, utcnow

OPEN = ("firing", "acknowledged")


class AlertNotFound(LookupError):
    """No such alert, or not in a state that allows this."""


def open_alert(session: Session, rule: str) -> Alert | None:
    return session.scalar(
        select(Alert).where(Alert.rule == rule, Alert.status.in_(OPEN)).order_by(Alert.id.desc())
    )


def fire(session: Session, rule: AlertRule, value: float) -> Alert | None:
    """A new firing alert, or None when one is already open (then refreshed instead)."""
    existing = open_alert(session, rule.name)
    if existing is not None:
        existing.value, existing.last_seen_at = value, utcnow()
        return None
    alert = Alert(rule=rule.name, severity=rule.severity, status="firing",
                  message=rule.message(value), value=value, threshold=rule.threshold)
    session.add(alert)
    session.flush()
    return alert


def resolve_rule(session: Session, rule: str, by: str | None = None) -> Alert | None:
    """Close the rule's open alert (by None: the condition cleared by itself)."""
    alert = open_alert(session, rule)
    if alert is not None:
        alert.status, alert.resolved_at, alert.resolved_by = "resolved", utcnow(), by
    return alert


def acknowledge(session: Session, alert_id: int, username: str) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.status != "firing":
        raise AlertNotFound("That alert is not firing any more.")
    alert.status, alert.acknowledged_at, alert.acknowledged_by = "acknowledged", utcnow(), username
    return alert


def resolve(session: Session, alert_id: int, username: str) -> Alert:
    alert = session.get(Alert, alert_id)
    if alert is None or alert.status not in OPEN:
        raise AlertNotFound("That alert is already resolved.")
    alert.status, alert.resolved_at, alert.resolved_by = "resolved", utcnow(), username
    return alert


def rules_in_force(session: Session) -> list[AlertRule]:
    """The default rules with the thresholds supervisors have set."""
    overrides = dict(session.execute(select(AlertThreshold.rule, AlertThreshold.threshold)).all())
    return [AlertRule(**{**r.__dict__, "threshold": overrides.get(r.name, r.threshold)})
            for r in DEFAULT_RULES]


def set_threshold(session: Session, rule: str, threshold: float, username: str) -> None:
    row = session.get(AlertThreshold, rule)
    if row is None:
        session.add(AlertThreshold(rule=rule, threshold=threshold, updated_by=username))
    else:
        row.threshold, row.updated_by, row.updated_at = threshold, username, utcnow()
