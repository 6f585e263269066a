"""Phone numbers to E.164 with Google's libphonenumber rules (`phonenumbers`).

Runs on the distinct raw values only (a few per person), so the Python cost
stays small next to the SQL that uses the result.
"""

from __future__ import annotations

import phonenumbers


def to_e164(raw: str | None, default_region: str = "GB") -> str | None:
    """`07700 900123` -> `+447700900123`; None for anything that is not a valid number."""
    if raw is None:
        return None
    text = raw.strip()
    if not text or not any(c.isdigit() for c in text):
        return None
    if text.startswith("00"):
        text = "+" + text[2:]
    try:
        number = phonenumbers.parse(text, default_region)
    except phonenumbers.NumberParseException:
        return None
    # Possible (right length for the country) rather than valid: numbering
    # plans change faster than the metadata, and junk is caught by the block list.
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


MOBILE_TYPES = (phonenumbers.PhoneNumberType.MOBILE, phonenumbers.PhoneNumberType.PAGER)
FIXED_TYPES = (phonenumbers.PhoneNumberType.FIXED_LINE, phonenumbers.PhoneNumberType.VOIP)


def phone_kind(e164: str | None) -> str | None:
    """'mobile', 'fixed' or None (unknown): a mobile is personal, a landline may be a household's."""
    if e164 is None:
        return None
    kind = phonenumbers.number_type(phonenumbers.parse(e164))
    if kind in MOBILE_TYPES:
        return "mobile"
    if kind in FIXED_TYPES:
        return "fixed"
    return None


def e164_table(values: list[str], default_region: str) -> dict[str, tuple[str | None, str | None]]:
    """raw value -> (E.164, kind)."""
    table = {}
    for value in values:
        e164 = to_e164(value, default_region)
        table[value] = (e164, phone_kind(e164))
    return table
