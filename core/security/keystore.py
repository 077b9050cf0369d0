"""Opening a deployment's keyring and rotating its keys.

`open_keyring` finds the keys (environment or key file), creates the key file on a fresh
embedded install, and checks them against a known value stored in the database so a
wrong key stops the start with a clear message instead of failing mid-chat.

`rotate_keys` adds a new key and re-encrypts every stored value under it: the
`EncryptedText` columns of every table and the encrypted LangGraph checkpoints, in
batches that each commit. Re-encrypting is idempotent, so an interrupted rotation is
finished by running it again with `add_key=False`.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy import Engine, Table, bindparam, column, select, table, text, update

from core.config import Settings
from core.storage.encryption import (
    EncryptedText,
    EncryptionKeyError,
    Keyring,
    generate_key,
    install_keyring,
    parse_keys,
    read_key_file,
    write_key_file,
)
from core.storage.models import Base, KeyCheck

_CANARY = b"concierge key check"


def configured_keys(settings: Settings) -> list[str] | None:
    """The keys from `CONCIERGE_ENCRYPTION_KEYS` or the key file, or None when neither exists."""
    if settings.encryption_keys is not None:
        return parse_keys(settings.encryption_keys.get_secret_value())
    if settings.key_file_path.exists():
        return read_key_file(settings.key_file_path)
    return None


def _new_key_file(settings: Settings) -> list[str]:
    """A first key, written to the state folder's key file (mode 0600)."""
    keys = [generate_key()]
    write_key_file(settings.key_file_path, keys)
    return keys


def keyring_for_migration(settings: Settings) -> Keyring:
    """The keys a migration encrypts existing plaintext with (made on first need)."""
    return Keyring(configured_keys(settings) or _new_key_file(settings))


def open_keyring(settings: Settings, db: Engine) -> Keyring:
    """The deployment's keyring, checked against the database and installed on `db`."""
    keys = configured_keys(settings)
    with db.begin() as connection:
        canary = connection.scalar(select(KeyCheck.token).where(KeyCheck.id == 1))
        if keys is None:
            if canary is not None:
                raise EncryptionKeyError(
                    "This database is encrypted but no key is configured: set "
                    f"CONCIERGE_ENCRYPTION_KEYS or restore the key file {settings.key_file_path}."
                )
            keys = _new_key_file(settings)
        from_file = settings.encryption_keys is None
        keyring = Keyring(keys, reload=(lambda: read_key_file(settings.key_file_path))
                          if from_file else None)
        if canary is None:
            connection.execute(KeyCheck.__table__.insert().values(
                id=1, token=keyring.encrypt(_CANARY).decode("ascii")))
        else:
            try:
                keyring.decrypt(canary.encode("ascii"))
            except EncryptionKeyError:
                raise EncryptionKeyError(
                    "The configured encryption keys cannot read this database (it was encrypted "
                    "with another key): check CONCIERGE_ENCRYPTION_KEYS or the key file "
                    f"{settings.key_file_path}."
                ) from None
    install_keyring(db, keyring)
    return keyring


@dataclass
class RotationReport:
    keys: int
    """How many keys the keyring holds now (the newest encrypts)."""
    values: dict[str, int] = field(default_factory=dict)
    """Re-encrypted values per table (and `checkpoints` for LangGraph's)."""


def rotate_keys(settings: Settings, db: Engine, *, add_key: bool = True, batch_size: int = 500,
                on_batch: Callable[[str, int], None] | None = None) -> RotationReport:
    """Put a new key first (key file only) and re-encrypt every stored value under it."""
    keyring = open_keyring(settings, db)
    if add_key:
        if settings.encryption_keys is not None:
            raise EncryptionKeyError(
                "Keys come from CONCIERGE_ENCRYPTION_KEYS: put a new key first there "
                "(`concierge keys generate`), restart, then run `concierge keys rotate --resume`."
            )
        keys = [generate_key(), *read_key_file(settings.key_file_path)]
        write_key_file(settings.key_file_path, keys)
        keyring = Keyring(keys)
        install_keyring(db, keyring)
    report = RotationReport(keys=keyring.size)
    for tbl in Base.metadata.sorted_tables:
        names = [c.name for c in tbl.columns if isinstance(c.type, EncryptedText)]
        if names:
            report.values[tbl.name] = _rotate_table(db, keyring, tbl, names, batch_size, on_batch)
    with db.begin() as connection:
        connection.execute(KeyCheck.__table__.update().where(KeyCheck.id == 1).values(
            token=keyring.encrypt(_CANARY).decode("ascii")))
    if db.dialect.name == "postgresql":
        report.values["checkpoints"] = _rotate_postgres_checkpoints(db, keyring, batch_size)
    elif settings.checkpoint_path.exists():
        report.values["checkpoints"] = _rotate_sqlite_checkpoints(settings, keyring, batch_size)
    return report


_PG_CHECKPOINT_KEYS = {  # table: its primary key (updates move rows, so walk by key)
    "checkpoint_blobs": ("thread_id", "checkpoint_ns", "channel", "version"),
    "checkpoint_writes": ("thread_id", "checkpoint_ns", "checkpoint_id", "task_id", "idx"),
}


def _rotate_postgres_checkpoints(db: Engine, keyring: Keyring, batch_size: int) -> int:
    """Re-encrypt PostgresSaver's blobs and pending writes, in key order and batches."""
    done = 0
    for name, key in _PG_CHECKPOINT_KEYS.items():
        with db.connect() as connection:
            if connection.scalar(text("select to_regclass(:t)"), {"t": name}) is None:
                continue
        columns, marks = ", ".join(key), ", ".join(f":k{i}" for i in range(len(key)))
        match = " and ".join(f"{c} = :k{i}" for i, c in enumerate(key))
        last: tuple | None = None
        while True:
            after = f"and ({columns}) > ({marks})" if last else ""
            with db.begin() as connection:
                rows = connection.execute(text(
                    f"select {columns}, blob from {name} where type like '%+fernet' {after} "
                    f"order by {columns} limit :n"),
                    {"n": batch_size, **{f"k{i}": v for i, v in enumerate(last or ())}}).all()
                if not rows:
                    break
                connection.execute(text(f"update {name} set blob = :blob where {match}"), [
                    {"blob": keyring.rotate(bytes(row[-1])),
                     **{f"k{i}": v for i, v in enumerate(row[:-1])}} for row in rows])
            done += len(rows)
            last = tuple(rows[-1][:-1])
    return done


def _rotate_table(db: Engine, keyring: Keyring, tbl: Table, names: list[str], batch_size: int,
                  on_batch: Callable[[str, int], None] | None) -> int:
    key = tbl.primary_key.columns.values()[0].name
    raw = table(tbl.name, column(key), *(column(n) for n in names))  # untyped: ciphertext as is
    change = update(raw).where(raw.c[key] == bindparam("_key")).values(
        {n: bindparam(f"_{n}") for n in names})
    done, last = 0, None
    while True:
        query = select(raw).order_by(raw.c[key]).limit(batch_size)
        if last is not None:
            query = query.where(raw.c[key] > last)
        with db.begin() as connection:
            rows = connection.execute(query).all()
            if not rows:
                return done
            updates = [{"_key": row[0], **{f"_{n}": _rotated(keyring, v)
                                           for n, v in zip(names, row[1:], strict=True)}}
                       for row in rows]
            connection.execute(change, updates)
        done += sum(v is not None for row in rows for v in row[1:])
        last = rows[-1][0]
        if on_batch:
            on_batch(tbl.name, done)


def _rotated(keyring: Keyring, token: str | None) -> str | None:
    return None if token is None else keyring.rotate(token.encode("ascii")).decode("ascii")


def _rotate_sqlite_checkpoints(settings: Settings, keyring: Keyring, batch_size: int) -> int:
    """Re-encrypt the SqliteSaver's checkpoints and pending writes (their blobs are tokens)."""
    done = 0
    connection = sqlite3.connect(settings.checkpoint_path, timeout=30)
    try:
        for name, blob in (("checkpoints", "checkpoint"), ("writes", "value")):
            exists = connection.execute(
                "select 1 from sqlite_master where type='table' and name=?", (name,)).fetchone()
            last = 0
            while exists:
                rows = connection.execute(
                    f"select rowid, {blob} from {name} where rowid > ? and type like '%+fernet' "
                    "order by rowid limit ?", (last, batch_size)).fetchall()
                if not rows:
                    break
                with connection:
                    connection.executemany(f"update {name} set {blob} = ? where rowid = ?",
                                           [(keyring.rotate(bytes(v)), rowid) for rowid, v in rows])
                done += len(rows)
                last = rows[-1][0]
    finally:
        connection.close()
    return done
