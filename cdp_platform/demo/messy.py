"""How one true value turns into the messy values real systems hold."""

from __future__ import annotations

import random
import unicodedata

from cdp_platform.demo.pools import DOMAIN_TYPOS, NICKNAMES, STREET_SUFFIXES


def strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def typo(rng: random.Random, text: str) -> str:
    """One keyboard slip: swapped, dropped or doubled letter."""
    if len(text) < 4:
        return text
    i = rng.randrange(1, len(text) - 1)
    kind = rng.random()
    if kind < 0.4:
        return text[:i] + text[i + 1] + text[i] + text[i + 2 :]
    if kind < 0.7:
        return text[:i] + text[i + 1 :]
    return text[:i] + text[i] + text[i:]


def casing(rng: random.Random, text: str) -> str:
    r = rng.random()
    if r < 0.06:
        return text.upper()
    if r < 0.12:
        return text.lower()
    return text


def padded(rng: random.Random, text: str, rate: float = 0.05) -> str:
    if rng.random() < rate:
        return rng.choice((" ", "  ", "")) + text + rng.choice((" ", "", "  "))
    return text


def first_name_variant(rng: random.Random, first: str, noise: float) -> str:
    r = rng.random()
    if r < noise * 0.45 and first in NICKNAMES:
        return rng.choice(NICKNAMES[first])
    if r < noise * 0.7:
        return typo(rng, first)
    if r < noise * 0.8:
        return strip_accents(first)
    if r < noise * 0.85:
        return first[0] + "."
    return padded(rng, casing(rng, first))


def last_name_variant(rng: random.Random, last: str, noise: float) -> str:
    r = rng.random()
    if r < noise * 0.5:
        return typo(rng, last)
    if r < noise * 0.7:
        return strip_accents(last)
    return padded(rng, casing(rng, last))


def email_local(rng: random.Random, first: str, last: str) -> str:
    f = strip_accents(first).lower().replace(" ", "").replace("'", "")
    s = strip_accents(last).lower().replace(" ", "").replace("'", "")
    style = rng.randrange(6)
    number = str(rng.randrange(1, 99))
    return (
        f"{f}.{s}",
        f"{f[0]}{s}",
        f"{f}{s}{number}",
        f"{f}_{s}",
        f"{s}.{f}{number}",
        f"{f}{number}",
    )[style]


def email_variant(rng: random.Random, email: str, noise: float) -> str:
    """How the same address is typed into another system."""
    local, _, domain = email.partition("@")
    r = rng.random()
    if domain == "gmail.com" and r < noise * 0.5:
        if rng.random() < 0.5:
            local = local.replace(".", "") if "." in local else local[:2] + "." + local[2:]
        else:
            local = f"{local}+{rng.choice(('shop', 'news', 'promo', 'orders'))}"
    elif r < noise * 0.6 and domain in DOMAIN_TYPOS:
        domain = DOMAIN_TYPOS[domain]
    out = f"{local}@{domain}"
    if rng.random() < noise * 0.5:
        out = out.capitalize() if rng.random() < 0.5 else out.upper()
    return padded(rng, out, noise * 0.3)


def uk_mobile(rng: random.Random) -> str:
    """A national-format UK mobile number, digits only: 07xxxxxxxxx."""
    return "07" + str(rng.randrange(100_000_000, 999_999_999))


def uk_landline(rng: random.Random) -> str:
    return rng.choice(("020", "0161", "0113", "0117", "0121", "0131")) + str(
        rng.randrange(1_000_000, 9_999_999)
    )


def phone_variant(rng: random.Random, national: str, country_code: str = "44") -> str:
    """One of the ways people write the same number."""
    rest = national[1:]
    style = rng.randrange(8)
    if style == 0:
        return national
    if style == 1:
        return f"{national[:5]} {national[5:]}"
    if style == 2:
        return f"+{country_code} {rest[:4]} {rest[4:]}"
    if style == 3:
        return f"+{country_code}{rest}"
    if style == 4:
        return f"00{country_code} {rest}"
    if style == 5:
        return f"+{country_code} (0){rest[:4]}-{rest[4:7]}-{rest[7:]}"
    if style == 6:
        return f"({national[:5]}) {national[5:8]} {national[8:]}"
    return f"{national[:5]}-{national[5:]}"


def street_variant(rng: random.Random, street: str, noise: float) -> str:
    r = rng.random()
    if r < noise:
        for full, short in STREET_SUFFIXES.items():
            if street.endswith(" " + full):
                return street[: -len(full)] + short + rng.choice(("", "."))
            if street.endswith(" " + short):
                return street[: -len(short)] + full
    if r < noise * 1.3:
        return street.lower()
    return street


def postcode_variant(rng: random.Random, postcode: str, noise: float) -> str:
    r = rng.random()
    if r < noise * 0.5:
        return postcode.replace(" ", "")
    if r < noise:
        return postcode.lower()
    return postcode
