"""Personal data never reaches the logs: masked lines and tracebacks, hidden SQL parameters."""

from __future__ import annotations

import io
import logging

from sqlalchemy import text

from core.log_setup import MaskingFilter
from core.runtime import open_database


def test_log_lines_and_tracebacks_are_masked() -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.addFilter(MaskingFilter())
    logger = logging.getLogger("concierge.test-masking")
    logger.addHandler(handler)
    try:
        logger.warning("customer %s wrote from %s", "jo@example.com", "+44 20 7946 0958")
        try:
            raise ValueError("card 4111 1111 1111 1111 declined")
        except ValueError:
            logger.exception("turn failed")
    finally:
        logger.removeHandler(handler)
    written = stream.getvalue()
    assert "[email]" in written and "[phone]" in written and "[card]" in written
    assert "jo@example.com" not in written and "4111 1111" not in written
    assert "Traceback" in written  # the traceback is kept, only masked


def test_database_errors_leave_statement_parameters_out(settings) -> None:
    db = open_database(settings)
    try:
        with db.begin() as connection:
            connection.execute(text("insert into no_such_table values (:v)"),
                               {"v": "my secret message"})
    except Exception as exc:  # noqa: BLE001 (the message is what is checked)
        assert "my secret message" not in str(exc)
        assert "hidden" in str(exc)
    else:
        raise AssertionError("the insert should have failed")


def test_masking_can_be_turned_off_and_cards_must_pass_luhn() -> None:
    from core.tracing.masking import configure, mask_pii

    assert mask_pii("card 4111 1111 1111 1111") == "card [card]"
    assert "[card]" not in mask_pii("order 4111 1111 1111 1112")  # not a card number
    configure(False)
    try:
        assert mask_pii("write to jo@example.com") == "write to jo@example.com"
    finally:
        configure(True)
    assert mask_pii("write to jo@example.com") == "write to [email]"
