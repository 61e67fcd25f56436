"""Masking personal data in free text (chat transcripts, notes, logs) before it is stored.

What is masked, and how:
- payment card numbers: 13–19 digits, optionally grouped by spaces or dashes, that pass the Luhn check →
  all but the last four digits become "•" ("•••• •••• •••• 1234"); digit runs that fail Luhn (amounts,
  references) are left alone;
- PRC resident ID numbers: 17 digits and a digit or X whose check digit is right (GB 11643) → first six
  and last four kept hidden except the last four ("••••••••••••••123X");
- phone numbers: mainland mobiles (1[3-9] + 9 digits, optionally +86) and international numbers written
  with a leading + → "•••• 5678";
- e-mail addresses → "j•••@example.com".

Masking is idempotent: masked text contains no digits runs long enough to match again.
"""

from __future__ import annotations

import re

MASK = "•"

_CARD = re.compile(r"(?<![\d+-])(?:\d[ -]?){12,18}\d(?![\d-])")  # never right after "+": a phone number
_CN_ID = re.compile(r"(?<![\dA-Za-z])\d{17}[\dXx](?![\dA-Za-z])")
_CN_MOBILE = re.compile(r"(?<!\d)(?:\+?86[ -]?)?1[3-9]\d(?:[ -]?\d{4}){2}(?!\d)")
_INTL_PHONE = re.compile(r"(?<![\w+])\+\d{1,3}(?:[ -]?\d){6,13}(?!\d)")
_EMAIL = re.compile(r"\b([A-Za-z0-9._%+-])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def luhn_valid(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def cn_id_valid(value: str) -> bool:
    body, check = value[:17], value[17].upper()
    return _ID_CHECK[sum(int(c) * w for c, w in zip(body, _ID_WEIGHTS, strict=True)) % 11] == check


def _mask_card(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    if not 13 <= len(digits) <= 19 or not luhn_valid(digits):
        return match.group()
    return f"{MASK * 4} {MASK * 4} {MASK * 4} {digits[-4:]}"


def _mask_id(match: re.Match[str]) -> str:
    value = match.group()
    return MASK * 14 + value[-4:] if cn_id_valid(value) else value


def _mask_phone(match: re.Match[str]) -> str:
    digits = re.sub(r"\D", "", match.group())
    return f"{MASK * 4} {digits[-4:]}"


def mask_pii(text: str) -> str:
    """`text` with card numbers, PRC ID numbers, phone numbers and e-mail addresses masked."""
    if not text:
        return text
    text = _CN_ID.sub(_mask_id, text)
    text = _CARD.sub(_mask_card, text)
    text = _CN_MOBILE.sub(_mask_phone, text)
    text = _INTL_PHONE.sub(_mask_phone, text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}{MASK * 3}@{m.group(2)}", text)


class MaskPiiFilter:
    """A logging filter: the formatted message of every record is masked like a chat transcript, so a card
    number or phone number in an exception or a debug line never reaches the logs in clear."""

    def filter(self, record: object) -> bool:
        import logging

        if isinstance(record, logging.LogRecord):
            message = record.getMessage()
            masked = mask_pii(message)
            if masked != message:
                record.msg, record.args = masked, None
        return True


# --- masking one known field (the admin shows these unless the staff member's role may unmask) ------------------

def mask_tail(value: str, keep: int = 4) -> str:
    """All but the last `keep` characters (spaces and dashes dropped) as "•": '110105199005170011' -> '••••…0011'."""
    compact = re.sub(r"[\s-]", "", value or "")
    if not compact:
        return ""
    if len(compact) <= keep:
        return MASK * len(compact)
    return MASK * (len(compact) - keep) + compact[-keep:]


def mask_email(value: str) -> str:
    """'wang.li@example.com' -> 'w•••@example.com'."""
    local, at, domain = (value or "").partition("@")
    return f"{local[:1]}{MASK * 3}@{domain}" if at else mask_tail(value)


def mask_address(value: str) -> str:
    """Only the last comma-separated part (usually the city) is kept: the street and number are hidden."""
    if not value:
        return ""
    parts = [part.strip() for part in value.split(",")]
    return f"{MASK * 6}, {parts[-1]}" if len(parts) > 1 else MASK * 6
