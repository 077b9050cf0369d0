"""Retrying a unit of work when the database connection drops (tenacity).

A PostgreSQL restart or a killed backend breaks the pooled connections; the pool's
pre-ping replaces them on the next checkout, so a short retry lets the customer's message
and the reply be stored instead of lost.
"""

from __future__ import annotations

from sqlalchemy.exc import DBAPIError, OperationalError
from tenacity import retry, retry_if_exception, stop_after_attempt, wait_exponential


def _connection_lost(exc: BaseException) -> bool:
    return isinstance(exc, OperationalError) or (
        isinstance(exc, DBAPIError) and exc.connection_invalidated)


on_connection_loss = retry(
    retry=retry_if_exception(_connection_lost),
    stop=stop_after_attempt(5),
    wait=wait_exponential(multiplier=0.05, max=1.0),
    reraise=True,
)
"""Decorator: run the function again (up to 5 times, backing off) after a lost connection."""
