"""Personal data never reaches spans, traces or exports."""

from __future__ import annotations

import pytest

from core.tracing.masking import mask_payload, mask_pii


@pytest.mark.parametrize(("text", "hidden", "placeholder"), [
    ("mail me at jo.doe+bank@mail.example.co.uk please", "jo.doe", "[email]"),
    ("my card 4111 1111 1111 1111 was stolen", "4111", "[card]"),
    ("card number 4111-1111-1111-1111", "1111-1111", "[card]"),
    ("card 4111111111111111", "4111111111111111", "[card]"),
    ("call me on +44 20 7946 0958", "7946", "[phone]"),
    ("my number is (555) 123-4567", "123-4567", "[phone]"),
    ("my mobile is 07700900123", "07700900123", "[phone]"),
    ("send it to GB29 NWBK 6016 1331 9268 19", "NWBK", "[iban]"),
])
def test_personal_data_is_masked(text: str, hidden: str, placeholder: str) -> None:
    masked = mask_pii(text)
    assert hidden not in masked and placeholder in masked


@pytest.mark.parametrize("text", [
    "I paid 25 euros on 12/03/2024", "transfer 1500 to my savings", "order 12345 is late",
    "how do I activate my card?",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert mask_pii(text) == text


def test_payloads_are_masked_all_the_way_down() -> None:
    payload = {"text": "jo@example.com", "nested": [{"phone": "+44 20 7946 0958"}], "n": 3}
    assert mask_payload(payload) == {"text": "[email]", "nested": [{"phone": "[phone]"}], "n": 3}
