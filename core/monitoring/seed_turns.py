"""Synthetic turns for trying the monitoring pages at scale (`concierge seed turns`).

Customers `seed-customer-N` (with random, unusable passwords) get conversations whose
turns are spread over the last `days`, each with its question, reply, "why" and four
spans, some feedback, a few errors, clarifications and hand-offs. Rows go in with bulk
inserts, in chunks.
"""

from __future__ import annotations

import random
import secrets
import time
import uuid
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select
from sqlalchemy.orm import Session, sessionmaker

from core.security.auth import add_user
from core.storage.models import (
    Conversation,
    Feedback,
    Message,
    Span,
    Turn,
    TurnTrace,
    User,
    utcnow,
)

INTENTS = ("card_arrival", "activate_my_card", "lost_or_stolen_card", "exchange_rate",
           "top_up_failed", "transfer_timing", "pending_transfer", "card_payment_fee_charged",
           "change_pin", "verify_my_identity", "refund_not_showing_up", "balance_not_updated_after_bank_transfer")
NODES = (("classify_intent", None, 1.5), ("route_turn", "classify_intent", 0.05),
         ("retrieve_passages", None, 0.8), ("write_answer", None, 0.3))
CHUNK = 5_000


def seed_turns(sessions: sessionmaker[Session], turns: int, *, days: float = 7.0,
               seed: int = 11) -> dict:
    started = time.perf_counter()
    rng = random.Random(seed)
    user_ids = _seed_customers(sessions, 20)
    now = utcnow()
    with sessions.begin() as session:
        next_id = {m: (session.scalar(select(func.max(m.id))) or 0) + 1
                   for m in (Conversation, Message, Turn)}
    owners = [rng.choice(user_ids) for _ in range(max(1, turns // 5))]
    with sessions.begin() as session:
        session.execute(insert(Conversation), [
            {"id": next_id[Conversation] + i, "user_id": owner,
             "title": "Seeded conversation", "thread_id": uuid.uuid4().hex,
             "created_at": now - timedelta(days=days)} for i, owner in enumerate(owners)
        ])
    for first in range(0, turns, CHUNK):
        rows = [_turn(rng, i, next_id, owners, now, days)
                for i in range(first, min(turns, first + CHUNK))]
        with sessions.begin() as session:
            for model, key in ((Message, "messages"), (Turn, "turn"), (TurnTrace, "trace"),
                               (Span, "spans"), (Feedback, "feedback")):
                batch = [r for row in rows for r in (row[key] if isinstance(row[key], list)
                                                     else [row[key]])]
                if batch:
                    session.execute(insert(model), batch)
    return {"turns": turns, "conversations": len(owners), "days": days,
            "seconds": round(time.perf_counter() - started, 2)}


def _seed_customers(sessions: sessionmaker[Session], count: int) -> list[int]:
    ids = []
    with sessions.begin() as session:
        for n in range(count):
            name = f"seed-customer-{n}"
            user = session.scalar(select(User).where(User.username == name))
            if user is None:
                user = add_user(session, name, secrets.token_urlsafe(24), "customer")
            ids.append(user.id)
    return ids


def _turn(rng: random.Random, i: int, next_id: dict, owners: list[int], now: datetime,
          days: float) -> dict:
    turn_id = next_id[Turn] + i
    question_id, reply_id = next_id[Message] + 2 * i, next_id[Message] + 2 * i + 1
    n = rng.randrange(len(owners))
    conversation_id = next_id[Conversation] + n
    at = now - timedelta(seconds=rng.uniform(0, days * 86400))
    roll = rng.random()
    intent = "out_of_scope" if roll < 0.08 else "human_agent" if roll < 0.11 else rng.choice(INTENTS)
    route = {"out_of_scope": "clarify", "human_agent": "handoff"}.get(intent, "answer")
    failed = rng.random() < 0.01
    spans, clock = [], 0.2
    for node, parent, typical in NODES:
        if route != "answer" and node in ("retrieve_passages", "write_answer"):
            continue
        took = rng.lognormvariate(0, 0.5) * typical
        broken = failed and node == "retrieve_passages"
        spans.append({"turn_id": turn_id, "created_at": at, "node": node, "parent": parent,
                      "start_ms": clock, "duration_ms": took, "status": "error" if broken else "ok",
                      "error": "TimeoutError: index busy" if broken else None,
                      "input_summary": f"intent='{intent}'", "output_summary": ""})
        clock += took + 0.1
    return {
        "messages": [
            {"id": question_id, "conversation_id": conversation_id, "role": "customer",
             "body": f"seeded question {i}", "created_at": at},
            {"id": reply_id, "conversation_id": conversation_id, "role": "assistant",
             "body": f"seeded reply {i}", "created_at": at},
        ],
        "turn": {"id": turn_id, "conversation_id": conversation_id, "question_id": question_id,
                 "reply_id": reply_id, "intent": intent, "confidence": rng.betavariate(5, 1.2),
                 "route": "error" if failed else route, "sources": [], "latency_ms": clock + 2.0,
                 "status": "error" if failed else "ok", "error": "retrieve_passages: TimeoutError"
                 if failed else None, "created_at": at},
        "trace": {"turn_id": turn_id, "query": f"seeded question {i}", "follow_up": False,
                  "best_guess": intent, "alternatives": [], "passages": []},
        "spans": spans,
        "feedback": [{"turn_id": turn_id, "user_id": owners[n], "score": int(rng.random() < 0.8),
                      "created_at": at}] if rng.random() < 0.1 else [],
    }
