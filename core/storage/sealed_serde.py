"""The serializer for LangGraph checkpoints and the Redis answer cache: sealed state only.

Everything it writes is msgpack encrypted under our Fernet keys. When it reads, a value
that is not encrypted (no `+fernet` in its type), names another cipher, or does not
decrypt under our keys is refused before any byte of it is decoded: whoever can write
to Redis or the checkpoint tables cannot make the app import or call anything. The
inner msgpack decoder runs in LangGraph's strict mode (`allowed_msgpack_modules=None`),
so even a value we sealed revives only LangGraph's built-in safe types; the workflow's
state is plain lists, dicts, strings and numbers. A refusal is logged as a warning and
raised as `EncryptionKeyError` (the Redis cache counts it as a miss).
"""

from __future__ import annotations

import logging
from typing import Any

from langgraph.checkpoint.serde.encrypted import EncryptedSerializer
from langgraph.checkpoint.serde.jsonplus import JsonPlusSerializer

from core.storage.encryption import EncryptionKeyError, Keyring

log = logging.getLogger(__name__)
CIPHER = "fernet"
KINDS = frozenset({"msgpack", "null", "bytes", "bytearray"})
"""What our serializer writes under the cipher (never `json` or `pickle`)."""


class FernetCipher:
    """LangGraph's `CipherProtocol` over the keyring: checkpoints are stored encrypted."""

    name = CIPHER

    def __init__(self, keyring: Keyring):
        self.keyring = keyring

    def encrypt(self, plaintext: bytes) -> tuple[str, bytes]:
        return self.name, self.keyring.encrypt(plaintext)

    def decrypt(self, ciphername: str, ciphertext: bytes) -> bytes:
        if ciphername != self.name:
            raise EncryptionKeyError(f"Unknown checkpoint cipher {ciphername!r}.")
        return self.keyring.decrypt(ciphertext)


class SealedSerializer(EncryptedSerializer):
    """`EncryptedSerializer` that never falls back to reading unencrypted values."""

    def loads_typed(self, data: tuple[str, bytes]) -> Any:
        kind, ciphertext = data
        inner, _, cipher = kind.partition("+")
        if cipher != CIPHER or inner not in KINDS:
            return _refuse(f"a stored value of type {kind[:40]!r} is not sealed under our keys")
        try:
            plaintext = self.cipher.decrypt(cipher, bytes(ciphertext))
        except (EncryptionKeyError, TypeError, ValueError):
            return _refuse("a stored value does not decrypt under our keys")
        return self.serde.loads_typed((inner, plaintext))


def _refuse(reason: str) -> Any:
    log.warning("Refused stored state: %s; it was not read.", reason)
    raise EncryptionKeyError(f"Refused stored state: {reason}.")


def encrypting_serializer(keyring: Keyring) -> SealedSerializer:
    """A checkpoint serializer that encrypts everything it writes and reads nothing else."""
    return SealedSerializer(FernetCipher(keyring), JsonPlusSerializer(allowed_msgpack_modules=None))
