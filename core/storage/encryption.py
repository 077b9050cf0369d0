"""Encryption at rest: a MultiFernet keyring and the SQLAlchemy column type that uses it
(checkpoints and the answer cache use it through `core.storage.sealed_serde`).

Keys come from `CONCIERGE_ENCRYPTION_KEYS` (comma-separated, newest first; the app also
reads it from Streamlit secrets) or, on the embedded default, from a key file in the
state folder, created with mode 0600 on first start. The newest key encrypts; every key
decrypts, so a rotation can re-encrypt stored values in batches while the app runs.

`EncryptedText` finds the keyring on the database engine's dialect (`install_keyring`),
so each database carries its own keys and code above the models never sees ciphertext.
A value that no key can read raises `EncryptionKeyError`, never garbage or an empty
history.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from sqlalchemy import Engine, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

_DIALECT_ATTRIBUTE = "concierge_keyring"


class EncryptionKeyError(RuntimeError):
    """The keys are missing, malformed, or cannot read what is stored."""


class Keyring:
    """Fernet keys, newest first: the first encrypts, all of them decrypt.

    `reload` (the key file's reader) is asked for the keys again when a value cannot be
    read, so a running server picks up a key that `concierge keys rotate` added.
    """

    def __init__(self, keys: list[str], reload: Callable[[], list[str]] | None = None):
        self._reload = reload
        self._load(keys)

    def _load(self, keys: list[str]) -> None:
        if not keys:
            raise EncryptionKeyError("No encryption key is configured.")
        try:
            self._fernets = [Fernet(key.strip().encode()) for key in keys]
        except (ValueError, TypeError):
            raise EncryptionKeyError(
                "An encryption key is malformed: each key is 32 url-safe base64-encoded bytes "
                "(`concierge keys generate` prints a new one)."
            ) from None
        self._multi = MultiFernet(self._fernets)
        self._keys = list(keys)
        self.size = len(keys)

    def encrypt(self, plaintext: bytes) -> bytes:
        return self._multi.encrypt(plaintext)

    def decrypt(self, token: bytes) -> bytes:
        try:
            return self._multi.decrypt(token)
        except InvalidToken:
            if self._reloaded():
                return self.decrypt(token)
            raise EncryptionKeyError(
                "Stored data cannot be decrypted with the configured encryption keys "
                "(wrong or missing key)."
            ) from None

    def _reloaded(self) -> bool:
        """Re-read the keys; True when they changed (a rotation added one)."""
        if self._reload is None:
            return False
        try:
            keys = self._reload()
        except (OSError, EncryptionKeyError):
            return False
        if keys == self._keys:
            return False
        self._load(keys)
        return True

    def rotate(self, token: bytes) -> bytes:
        """The same value encrypted under the newest key."""
        try:
            return self._multi.rotate(token)
        except InvalidToken:
            raise EncryptionKeyError(
                "A stored value cannot be decrypted with any configured key; rotation stopped "
                "without changing it."
            ) from None

    def encrypt_text(self, text: str) -> str:
        return self.encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt_text(self, token: str) -> str:
        return self.decrypt(token.encode("ascii")).decode("utf-8")


def generate_key() -> str:
    return Fernet.generate_key().decode("ascii")


def parse_keys(value: str) -> list[str]:
    return [key.strip() for key in value.replace("\n", ",").split(",") if key.strip()]


def read_key_file(path: Path) -> list[str]:
    return parse_keys(path.read_text(encoding="ascii"))


def write_key_file(path: Path, keys: list[str]) -> None:
    """Write the keys (newest first) atomically; the file is readable by its owner only."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".new")
    temporary.unlink(missing_ok=True)
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write("\n".join(keys) + "\n")
        handle.flush()
        os.fsync(handle.fileno())
    os.replace(temporary, path)


def install_keyring(engine: Engine, keyring: Keyring) -> None:
    """Make `keyring` the one `EncryptedText` columns of this engine use."""
    setattr(engine.dialect, _DIALECT_ATTRIBUTE, keyring)


def keyring_of(engine: Engine) -> Keyring:
    return _keyring(engine.dialect)


def _keyring(dialect: Dialect) -> Keyring:
    keyring = getattr(dialect, _DIALECT_ATTRIBUTE, None)
    if keyring is None:
        raise EncryptionKeyError("No encryption key is installed for this database.")
    return keyring


class EncryptedText(TypeDecorator[str]):
    """Text stored as a Fernet token; reads give back the plaintext."""

    impl = Text
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else _keyring(dialect).encrypt_text(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else _keyring(dialect).decrypt_text(value)
