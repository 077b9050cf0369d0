"""Learning statistics: the share of turns needing review over time, the labels, and which
intent model version answered the turns of a window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, timedelta

from sqlalchemy import Integer, case, cast, func, literal_column, select
from sqlalchemy.orm import Session

from core.learning.review_queue import needs_review_condition
from core.monitoring.sql import epoch_seconds
from core.monitoring.windows import Window, share
from core.storage.models import Feedback, LabelledExample, Turn


@dataclass(frozen=True)
class ReviewBucket:
    start: object
    turns: int
    needing_review: int

    @property
    def share(self) -> float | None:
        return share(self.needing_review, self.turns)


@dataclass(frozen=True)
class LearningStats:
    series: list[ReviewBucket]
    needing_review: int
    turns: int
    labels: dict[str, int]
    """Labelled examples by status: live, pending, refused (replaced ones are left out)."""
    versions: list[tuple[int, int]]
    """(model version, turns it answered in the window); 0 is the data pack alone."""

    @property
    def review_share(self) -> float | None:
        return share(self.needing_review, self.turns)


def learning_stats(session: Session, window: Window, step: timedelta) -> LearningStats:
    in_window = (Turn.created_at >= window.start, Turn.created_at < window.end)
    origin = window.start.replace(tzinfo=UTC).timestamp()  # stored times are naive UTC
    bucket = cast(func.floor((epoch_seconds(Turn.created_at) - origin) / step.total_seconds()),
                  Integer)
    rows = session.execute(
        select(bucket, func.count(Turn.id), func.sum(case((needs_review_condition(), 1), else_=0)))
        .outerjoin(Feedback, Feedback.turn_id == Turn.id).where(*in_window).group_by(bucket)
    ).all()
    by_bucket = {int(b): (n, r or 0) for b, n, r in rows if b is not None}
    total = int((window.end - window.start) / step) + 1
    series = [ReviewBucket(window.start + i * step, *by_bucket.get(i, (0, 0)))
              for i in range(total) if window.start + i * step < window.end]
    labels = dict(session.execute(
        select(LabelledExample.status, func.count()).where(LabelledExample.status != "replaced")
        .group_by(LabelledExample.status)).all())
    version = func.coalesce(Turn.model_version, literal_column("0"))  # one expression for PG
    versions = session.execute(
        select(version, func.count()).where(*in_window).group_by(version).order_by(version)
    ).all()
    return LearningStats(series, sum(b.needing_review for b in series),
                         sum(b.turns for b in series), labels, [(v, n) for v, n in versions])
