"""Live events (alerts firing or resolving, customers asking for a person) for every open
supervisor page, on every replica.

`publish` sends an event on the Redis channel when Redis is up (every replica's listener
receives it) and always records it locally, so a single server, or one whose Redis is
down, still shows its own events. Events carry ids and labels only, never customer text.
"""

from __future__ import annotations

import json
import logging
import threading
import time
import uuid
from collections import deque
from dataclasses import asdict, dataclass, field

from core.redis_link import RedisLink

CHANNEL = "concierge:events"
log = logging.getLogger("concierge.events")


@dataclass(frozen=True)
class Event:
    kind: str  # alert_firing | alert_resolved | handoff_requested
    title: str
    detail: dict = field(default_factory=dict)
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    at: float = field(default_factory=time.time)


class EventBus:
    def __init__(self, link: RedisLink | None = None, keep: int = 200):
        self.link = link
        self._events: deque[Event] = deque(maxlen=keep)
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._listening = False

    def publish(self, kind: str, title: str, **detail: object) -> Event:
        event = Event(kind, title, dict(detail))
        self._record(event)
        if self.link is not None and self.link.configured:
            payload = json.dumps(asdict(event))
            self.link.call(lambda r: r.publish(CHANNEL, payload), lambda: 0)
        return event

    def since(self, at: float) -> list[Event]:
        """Events newer than `at` (a time.time() value), oldest first."""
        with self._lock:
            return [e for e in self._events if e.at > at]

    def _record(self, event: Event) -> None:
        with self._lock:
            if event.id in self._seen:
                return
            self._seen.add(event.id)
            if len(self._seen) > 4 * (self._events.maxlen or 200):
                self._seen = {e.id for e in self._events}
            self._events.append(event)

    def listen(self) -> None:
        """Receive other replicas' events in a daemon thread (reconnects after Redis outages)."""
        if self._listening or self.link is None or not self.link.configured:
            return
        self._listening = True
        threading.Thread(target=self._listen_forever, name="events", daemon=True).start()

    def _listen_forever(self) -> None:
        while True:
            try:
                pubsub = self.link.client.pubsub(ignore_subscribe_messages=True)
                pubsub.subscribe(CHANNEL)
                while True:
                    message = pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._record(Event(**json.loads(message["data"])))
            except Exception:
                log.info("event listener lost Redis; retrying", exc_info=True)
                time.sleep(self.link.retry_s)
