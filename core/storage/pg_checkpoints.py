"""LangGraph checkpoints in PostgreSQL, encrypted like everything else.

PostgresSaver keeps primitive channel values (strings among them) inline in a JSONB
column, past the serializer, which would leave the customer's words in plaintext. This
saver boxes string values before saving so they take the serializer's (encrypting) path
into `checkpoint_blobs`; reading them back yields plain strings again.
"""

from __future__ import annotations

from typing import Any

from langgraph.checkpoint.postgres import PostgresSaver
from psycopg.rows import dict_row
from psycopg_pool import ConnectionPool


class _Boxed:
    """A string the saver must not inline (not a `str`, so it goes to the blobs table)."""

    __slots__ = ("value",)

    def __init__(self, value: str):
        self.value = value


class _UnboxingSerializer:
    """Serializes a box as its string; everything else as the inner serializer does."""

    def __init__(self, inner: Any):
        self.inner = inner

    def dumps_typed(self, obj: Any) -> tuple[str, bytes]:
        return self.inner.dumps_typed(obj.value if isinstance(obj, _Boxed) else obj)

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        return self.inner.loads_typed(data)


class EncryptedPostgresSaver(PostgresSaver):
    def __init__(self, conn: Any, serde: Any):
        super().__init__(conn, serde=_UnboxingSerializer(serde))

    def put(self, config: Any, checkpoint: Any, metadata: Any, new_versions: Any) -> Any:
        values = {k: _Boxed(v) if isinstance(v, str) else v
                  for k, v in checkpoint["channel_values"].items()}
        return super().put(config, {**checkpoint, "channel_values": values}, metadata,
                           new_versions)


def postgres_checkpointer(database_url: str, serde: Any, max_size: int = 16) -> EncryptedPostgresSaver:
    """A saver on a connection pool for `DATABASE_URL` (a SQLAlchemy URL), tables set up."""
    conninfo = database_url.replace("postgresql+psycopg://", "postgresql://", 1)
    pool = ConnectionPool(conninfo, min_size=1, max_size=max_size, open=True, timeout=5.0,
                          check=ConnectionPool.check_connection,  # a restarted server's dead connections are replaced
                          kwargs={"autocommit": True, "prepare_threshold": 0,
                                  "row_factory": dict_row})
    saver = EncryptedPostgresSaver(pool, serde)
    saver.setup()
    return saver
