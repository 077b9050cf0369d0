"""The human side on Agent statistics: who waits now, first human reply and resolve times,
conversations and ratings per agent, and CSAT over time."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import update

from core.runtime import Runtime
from core.storage.models import Conversation, Rating, utcnow
from tests.conversations.test_handoff import people, waiting_conversation


@pytest.fixture
def runtime(settings, engine) -> Runtime:
    rt = Runtime.start(settings, rate_limit=False, engine=engine)
    yield rt
    rt.close()


def _at(runtime, conversation: int, **minutes_ago: float) -> None:
    now = utcnow()
    with runtime.sessions.begin() as session:
        session.execute(update(Conversation).where(Conversation.id == conversation).values(
            **{column: now - timedelta(minutes=m) for column, m in minutes_ago.items()}))


def _worked(runtime, agent, customer, stars: int) -> int:
    conversation = waiting_conversation(runtime, customer)
    runtime.handoff.take(agent, conversation)
    runtime.handoff.reply(agent, conversation, "Hi, how can I help?")
    runtime.handoff.resolve(agent, conversation)
    runtime.waiting.rate(customer, conversation, stars)
    return conversation


def test_agent_statistics_show_waiting_reply_and_resolve_times_and_ratings(runtime) -> None:
    who = people(runtime)
    first = _worked(runtime, who["max"], who["alice"], 5)
    second = _worked(runtime, who["mia"], who["alice"], 2)
    third = _worked(runtime, who["max"], who["bob"], 4)
    waiting = waiting_conversation(runtime, who["bob"])
    for conversation, (asked, replied, resolved) in {
            first: (30, 28, 20), second: (60, 50, 40), third: (20, 19, 5)}.items():
        _at(runtime, conversation, handoff_requested_at=asked, first_human_reply_at=replied,
            resolved_at=resolved, assigned_at=replied)
    _at(runtime, waiting, handoff_requested_at=7)

    human = runtime.monitoring.statistics(who["sam"], "Last day").human
    assert (human.waiting_now, human.held_now) == (1, 0)
    assert 7 * 60 - 5 <= human.longest_wait_s <= 7 * 60 + 60
    assert human.first_reply_p50_s == 120  # 2, 10 and 1 minutes
    assert 500 < human.first_reply_p95_s < 600
    assert human.resolve_p50_s == 900  # 10, 20 and 15 minutes
    loads = {a.agent: a for a in human.agents}
    assert (loads["max"].conversations, loads["max"].resolved, loads["max"].ratings,
            loads["max"].average_rating) == (2, 2, 2, 4.5)
    assert (loads["mia"].conversations, loads["mia"].average_rating) == (1, 2.0)
    assert [a.agent for a in human.agents] == ["max", "mia"]  # busiest first
    assert human.ratings == 3 and abs(human.overall_csat - 2 / 3) < 1e-9
    assert sum(b.ratings for b in human.csat) == 3

    with runtime.sessions.begin() as session:  # last week's rating is not today's CSAT
        session.execute(update(Rating).where(Rating.conversation_id == second)
                        .values(created_at=utcnow() - timedelta(days=3)))
    human = runtime.monitoring.statistics(who["sam"], "Last day").human
    assert human.ratings == 2 and human.overall_csat == 1.0
    assert runtime.monitoring.statistics(who["sam"], "Last week").human.ratings == 3


def test_with_nobody_asking_for_a_person_there_is_nothing_to_show(runtime) -> None:
    human = runtime.monitoring.statistics(people(runtime)["sam"], "Last hour").human
    assert (human.waiting_now, human.longest_wait_s, human.first_reply_p50_s) == (0, None, None)
    assert human.agents == [] and human.overall_csat is None
