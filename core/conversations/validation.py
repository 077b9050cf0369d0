"""Checks on a customer's message before anything is stored or run.

Each failure raises `InvalidMessage` with a specific, user-facing sentence.
"""

from __future__ import annotations

import unicodedata


class InvalidMessage(ValueError):
    """The message cannot be accepted; the text says why, in plain words."""


def clean_message(text: object, *, max_chars: int) -> str:
    """The message, trimmed; or InvalidMessage saying what is wrong with it."""
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidMessage("The message is not valid text (invalid UTF-8).") from None
    if not isinstance(text, str):
        raise InvalidMessage("The message must be text.")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise InvalidMessage("The message contains invalid characters.") from None
    text = text.replace("\r\n", "\n").replace("\r", "\n").strip()
    if not text:
        raise InvalidMessage("Please type a message first.")
    if len(text) > max_chars:
        raise InvalidMessage(
            f"Your message is {len(text):,} characters long; the limit is {max_chars:,}. "
            "Please shorten it."
        )
    if any(_is_control(ch) for ch in text):
        raise InvalidMessage("The message contains control characters; please remove them.")
    return text


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in "\n\t"
