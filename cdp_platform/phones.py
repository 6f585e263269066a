"""Phone numbers to E.164 with Google's libphonenumber rules (`phonenumbers`).

Runs on the distinct values only, after folding the spellings of one number
(`07700 900123`, `07700-900-123`) together, so each number is parsed once.
"""

from __future__ import annotations

import re

import phonenumbers

MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.PAGER)
FIXED_TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.VOIP)
NOT_DIGITS = re.compile(r"\D")
EXTENSION = re.compile(r"(?i)\s*(?:ext\.?|x|#).*$")


def _spelling_key(raw: str) -> str:
    """The digits, with a leading + (or 00) kept: all that parsing depends on
    (an extension names a desk, not a person, and is dropped)."""
    text = EXTENSION.sub("", raw.strip())
    if text.startswith("00"):
        text = "+" + text[2:]
    return ("+" if text.startswith("+") else "") + NOT_DIGITS.sub("", text)


def _parse(key: str, default_region: str) -> phonenumbers.PhoneNumber | None:
    if not key.strip("+"):
        return None
    try:
        number = phonenumbers.parse(key, default_region)
    except phonenumbers.NumberParseException:
        return None
    # Possible (right length for the country) rather than valid: numbering
    # plans change faster than the metadata, and junk is caught by the block list.
    return number if phonenumbers.is_possible_number(number) else None


def _kind(number: phonenumbers.PhoneNumber) -> str | None:
    """'mobile', 'fixed' or None (unknown): a mobile is personal, a landline may be a household's."""
    kind = phonenumbers.number_type(number)
    if kind in MOBILE_TYPES:
        return "mobile"
    if kind in FIXED_TYPES:
        return "fixed"
    return None


def to_e164(raw: str | None, default_region: str = "GB") -> str | None:
    """`07700 900123` -> `+447700900123`; None for anything that is not a possible number."""
    if raw is None:
        return None
    number = _parse(_spelling_key(raw), default_region)
    return (
        phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164) if number else None
    )


def phone_kind(e164: str | None) -> str | None:
    number = _parse(e164, "ZZ") if e164 else None
    return _kind(number) if number else None


def e164_table(values: list[str], default_region: str) -> dict[str, tuple[str | None, str | None]]:
    """raw value -> (E.164, kind), parsing each distinct number once."""
    by_key: dict[str, tuple[str | None, str | None]] = {}
    table = {}
    for value in values:
        key = _spelling_key(value)
        if key not in by_key:
            number = _parse(key, default_region)
            by_key[key] = (
                (
                    phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164),
                    _kind(number),
                )
                if number
                else (None, None)
            )
        table[value] = by_key[key]
    return table
