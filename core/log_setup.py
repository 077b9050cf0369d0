"""Logging for Concierge's own loggers (`concierge.*`), with personal data masked.

Log lines and tracebacks pass through `mask_pii` before they are written, so an error
that quotes a customer's message does not put their e-mail or card number in the logs.
SQLAlchemy is told to leave statement parameters (customer text) out of its errors.
"""

from __future__ import annotations

import logging
import os

from core.tracing.masking import mask_pii


class MaskingFilter(logging.Filter):
    """Masks e-mails, card numbers, IBANs and phone numbers in a record and its traceback."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.msg, record.args = mask_pii(record.getMessage()), None
        if record.exc_info and not record.exc_text:
            record.exc_text = mask_pii(logging.Formatter().formatException(record.exc_info))
        return True


def configure_logging(level: str | None = None) -> None:
    """One stderr handler for `concierge.*` (idempotent), at `CONCIERGE_LOG_LEVEL` or WARNING."""
    logger = logging.getLogger("concierge")
    logger.setLevel(level or os.environ.get("CONCIERGE_LOG_LEVEL", "WARNING"))
    if not any(isinstance(f, MaskingFilter) for h in logger.handlers for f in h.filters):
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        handler.addFilter(MaskingFilter())
        logger.addHandler(handler)
    logger.propagate = False
