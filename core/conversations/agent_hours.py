"""When human agents answer: a daily window in a time zone (the demo bank: 08:00-22:00 UK).

Outside it, a request for a person stays in the queue and the customer is told when
agents are back. A window that ends before it starts (22:00-06:00) runs past midnight.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo


@dataclass(frozen=True)
class AgentHours:
    start: time
    end: time
    zone: ZoneInfo

    @classmethod
    def parse(cls, window: str, zone: str) -> AgentHours:
        """From settings: `HH:MM-HH:MM` and an IANA zone name (ValueError when wrong)."""
        try:
            first, last = (time.fromisoformat(part.strip()) for part in window.split("-"))
            return cls(first, last, ZoneInfo(zone))
        except (ValueError, KeyError) as exc:
            raise ValueError(f"Agent hours must look like 08:00-22:00 with a time zone such "
                             f"as Europe/London (got {window!r}, {zone!r}).") from exc

    def is_open(self, now: datetime | None = None) -> bool:
        local = self._local(now).time()
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def next_opening(self, now: datetime | None = None) -> datetime:
        """When agents are next in (now, when they are in already), in the agents' zone."""
        local = self._local(now)
        if self.is_open(local):
            return local
        opening = local.replace(hour=self.start.hour, minute=self.start.minute, second=0,
                                microsecond=0)
        return opening if opening > local else opening + timedelta(days=1)

    def describe(self) -> str:
        return f"{self.start:%H:%M}-{self.end:%H:%M} ({self.zone.key} time)"

    def back_at(self, now: datetime | None = None) -> str:
        """What the customer is told outside hours, e.g. `Our agents are back at 08:00 ...`."""
        opening = self.next_opening(now)
        local = self._local(now)
        day = "today" if opening.date() == local.date() else "tomorrow"
        return (f"Our agents work {self.describe()}; they are back at {opening:%H:%M} {day}. "
                "Your request stays in the queue and a person will reply here then.")

    def _local(self, now: datetime | None) -> datetime:
        now = now or datetime.now(UTC)
        if now.tzinfo is None:  # stored times are naive UTC
            now = now.replace(tzinfo=UTC)
        return now.astimezone(self.zone)
