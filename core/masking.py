"""Masking of personal data in text that leaves the conversation (spans, traces, exports).

E-mail addresses, payment card numbers, IBANs and phone numbers are replaced by a
placeholder such as `[email]`. Masking errs on the side of hiding: any run of 13-19
digits is treated as a card number, any 8+ digit number with phone punctuation as a phone.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+"), "[email]"),
    (re.compile(r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b"), "[iban]"),
    (re.compile(r"(?<![\d-])(?:\d[ -]?){12,18}\d(?![\d-])"), "[card]"),
    (re.compile(r"(?<![\w+])\+?\(?\d[\d ().-]{6,}\d(?!\w)"), "[phone]"),
)


@lru_cache(maxsize=4096)
def mask_pii(text: str) -> str:
    """`text` with e-mail addresses, card numbers, IBANs and phone numbers masked.

    Cached: a turn's spans repeat the same message several times.
    """
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
