"""Masking of personal data in text that leaves the conversation (spans, traces, exports).

E-mail addresses, payment card numbers, IBANs and phone numbers are replaced by a
placeholder such as `[email]`. A run of 13-19 digits that passes the Luhn check is a card
number; masking errs on the side of hiding, so any other 8+ digit number with phone
punctuation is masked as a phone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch) * (2 if i % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return "[card]" if luhn_valid(digits) else match.group()


_PATTERNS: tuple[tuple[re.Pattern[str], Any], ...] = (
    (re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), "[iban]"),
    (re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"), _card),
    (re.compile(r"(?<![\w+])\+?\(?\d[\d ().-]{6,}\d(?!\w)"), "[phone]"),
)


_enabled = True


def configure(enabled: bool) -> None:
    """Turn masking on or off for this process (`CONCIERGE_MASK_PII`; on by default)."""
    global _enabled
    _enabled = enabled


def mask_pii(text: str) -> str:
    """`text` with e-mail addresses, card numbers, IBANs and phone numbers masked."""
    return _masked(text) if _enabled else text


@lru_cache(maxsize=4096)
def _masked(text: str) -> str:
    """Cached: a turn's spans repeat the same message several times."""
    if not text or not any(c.isdigit() or c == "@" for c in text):
        return text
    for pattern, placeholder in _PATTERNS:
        text = pattern.sub(placeholder, text)
    return text


def mask_payload(value: Any) -> Any:
    """Every string inside a JSON-like value masked (dicts and lists walked)."""
    if isinstance(value, str):
        return mask_pii(value)
    if isinstance(value, dict):
        return {k: mask_payload(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [mask_payload(v) for v in value]
    return value
