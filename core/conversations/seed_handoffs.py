"""Synthetic hand-off requests for trying the inbox at scale (`concierge seed handoffs`).

Customers `seed-customer-N` (random, unusable passwords) get conversations waiting for
a person, asked for over the last two hours: each with the customer's question, the
bot's hand-off reply and its turn. Rows go in with bulk inserts.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from datetime import timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from agents.answer import HANDOFF_REPLY
from core.security.auth import add_user
from core.storage.models import Conversation, Message, Turn, User, utcnow

QUESTIONS = ("my card payment was declined twice, can I talk to someone",
             "I want to speak to a real person about a refund",
             "the app keeps saying my identity check failed, a human please",
             "someone took money from my account, I need an agent now")


def seed_handoffs(sessions: sessionmaker[Session], conversations: int, *,
                  customers: int = 20, seed: int = 13) -> dict:
    if conversations < 1:
        raise ValueError("--conversations must be at least 1")
    started = time.perf_counter()
    rng = random.Random(seed)
    owners = _customers(sessions, customers)
    now = utcnow()
    with sessions.begin() as session:
        first = {m: (session.scalar(select(func.max(m.id))) or 0) + 1
                 for m in (Conversation, Message, Turn)}
        asked = sorted(now - timedelta(seconds=rng.uniform(0, 7200)) for _ in range(conversations))
        rows: dict[type, list[dict]] = {Conversation: [], Message: [], Turn: []}
        for i, at in enumerate(asked):
            conversation_id, question_id = first[Conversation] + i, first[Message] + 2 * i
            question = rng.choice(QUESTIONS)
            rows[Conversation].append({
                "id": conversation_id, "user_id": rng.choice(owners), "title": question[:60],
                "thread_id": uuid.uuid4().hex, "created_at": at, "status": "waiting",
                "handoff_requested_at": at})
            rows[Message] += [
                {"id": question_id, "conversation_id": conversation_id, "role": "customer",
                 "body": question, "created_at": at, "for_person": False},
                {"id": question_id + 1, "conversation_id": conversation_id, "role": "assistant",
                 "body": HANDOFF_REPLY, "created_at": at, "for_person": False}]
            rows[Turn].append({
                "id": first[Turn] + i, "conversation_id": conversation_id,
                "question_id": question_id, "reply_id": question_id + 1, "intent": "human_agent",
                "confidence": rng.uniform(0.6, 0.99), "route": "handoff", "sources": [],
                "latency_ms": rng.uniform(3, 12), "status": "ok", "created_at": at})
        for model in (Conversation, Message, Turn):
            session.execute(insert(model), rows[model])
    return {"conversations": conversations, "customers": len(owners),
            "seconds": round(time.perf_counter() - started, 2)}


def _customers(sessions: sessionmaker[Session], count: int) -> list[int]:
    names = [f"seed-customer-{n}" for n in range(count)]
    with sessions.begin() as session:
        found = dict(session.execute(select(User.username, User.id)
                                     .where(User.username.in_(names))).all())
        for name in names:
            if name not in found:
                found[name] = add_user(session, name, secrets.token_urlsafe(24), "customer").id
    return [found[name] for name in names]
