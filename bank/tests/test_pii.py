"""Masking personal data in free text: what is masked, what is left alone, and that it is idempotent."""

import pytest

from bank.pii import cn_id_valid, luhn_valid, mask_pii


@pytest.mark.parametrize(("text", "masked"), [
    ("card 4111 1111 1111 1111 lost", "card •••• •••• •••• 1111 lost"),
    ("card 4111-1111-1111-1111", "card •••• •••• •••• 1111"),
    ("5500005555555559", "•••• •••• •••• 5559"),
    ("ID 11010519491231002X.", "ID ••••••••••••••002X."),
    ("身份证号11010519491231002x", "身份证号••••••••••••••002x"),
    ("call me on 13812345678", "call me on •••• 5678"),
    ("call me on +86 138 1234 5678", "call me on •••• 5678"),
    ("ring +44 20 7946 0958 please", "ring •••• 0958 please"),
    ("mail jane.doe@example.com", "mail j•••@example.com"),
])
def test_personal_data_is_masked(text, masked):
    assert mask_pii(text) == masked
    assert mask_pii(masked) == masked  # masking twice changes nothing


@pytest.mark.parametrize("text", [
    "transfer 5000 to savings",
    "reference 1234567890123456 on the statement",  # 16 digits that fail the Luhn check: not a card
    "ID 110105194912310021 is wrong",  # check digit wrong: not an ID number
    "on 2026-11-03 at 14:05",
    "¥1,234,567.89",
])
def test_numbers_that_are_not_personal_data_are_left_alone(text):
    assert mask_pii(text) == text


def test_the_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert cn_id_valid("11010519491231002X") and not cn_id_valid("110105194912310021")


def test_the_logging_filter_masks_the_formatted_message():
    import logging

    from bank.pii import MaskPiiFilter

    record = logging.LogRecord("bank", logging.INFO, __file__, 1, "customer phone %s", ("13812345678",), None)

    assert MaskPiiFilter().filter(record) is True
    assert record.getMessage() == "customer phone •••• 5678"
