"""A second synthetic retail data set for identity benchmarks, independent of `cdp_platform.demo`.

    python -m benchmarks.retail_generator --persons N --out DIR
        [--seed S] [--start YYYY-MM-DD] [--days D]

Shape: people live in households (couples sharing a surname, adult children,
twins born the same day, a junior and senior with one name at one address,
flatmates); a household may share a landline and a family email. A web shop
dominates: half the people buy, and a few percent are heavy repeat buyers
with 10 to 60 orders, each order re-typing name, email and address (mostly
as autofilled, sometimes varied). CRM contacts, Segment web events (identify
calls and anonymous browsers), support tickets, mailing-list members and
loyalty cards complete it, with duplicates inside a source (a second CRM
contact, a replacement loyalty card, a second subscription); a few CRM
companies are the employers behind work email addresses.

Error model, per source and rate: nicknames (own table), keyboard slips
(adjacent key, dropped letter, swapped letters, doubled letter), day and
month exchanged in birth dates, empty fields, first and last name in each
other's box, slips in the email's local part, phones typed national or
international with any spacing, postcodes in any case and spacing, married
surnames replacing maiden ones mid-stream, and placeholders (`test@test.com`,
`0000000000`, `n/a`) on a few records. No malformed rows are planted.

Writes `<out>/landing/<source>/<YYYY-MM-DD>.<ext>` in each source's contract
format and `<out>/ground_truth.csv` (`source,source_record_id,true_person`)
for every person-bearing record. Rows are buffered per chunk of households
and appended to the day files, so memory stays bounded at any size.
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from faker import Faker

from cdp_platform.source_contracts import SOURCES

# --- value pools ----------------------------------------------------------

# Name locales the demo does not use, weighted: a UK retailer's mixed customers.
NAME_LOCALES = (("en_US", 40), ("en_IE", 25), ("en_NZ", 20), ("en_IN", 15))

# Formal first name -> informal forms (this generator's own table).
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Alexander": ("Alex", "Xander"),
    "Anthony": ("Tony", "Ant"),
    "Benjamin": ("Ben", "Benny"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Danny", "Dan"),
    "David": ("Dave", "Davy"),
    "Edward": ("Ed", "Ned"),
    "Gerald": ("Gerry",),
    "James": ("Jim", "Jamie"),
    "John": ("Jack", "Johnny"),
    "Joseph": ("Joe", "Joey"),
    "Lawrence": ("Larry", "Laurie"),
    "Matthew": ("Matt", "Matty"),
    "Michael": ("Mike", "Mick"),
    "Nicholas": ("Nick", "Nico"),
    "Patrick": ("Paddy", "Pat"),
    "Richard": ("Rich", "Dick"),
    "Robert": ("Rob", "Bobby"),
    "Thomas": ("Tom", "Tommy"),
    "Timothy": ("Tim",),
    "William": ("Bill", "Liam", "Will"),
    "Zachary": ("Zach",),
    "Catherine": ("Cathy", "Cat"),
    "Christina": ("Tina", "Chrissy"),
    "Deborah": ("Debbie", "Debs"),
    "Elizabeth": ("Liz", "Betsy", "Eliza"),
    "Jacqueline": ("Jackie",),
    "Jennifer": ("Jenny", "Jen"),
    "Kathleen": ("Kath", "Kathy"),
    "Margaret": ("Peggy", "Maggie", "Mags"),
    "Patricia": ("Trish", "Patsy"),
    "Rebecca": ("Becky", "Becca"),
    "Samantha": ("Sam", "Sammie"),
    "Stephanie": ("Steph",),
    "Susan": ("Sue", "Susie"),
    "Theresa": ("Tess", "Terri"),
    "Victoria": ("Vicky", "Tori"),
}
FORMAL_MALE = tuple(list(NICKNAMES)[:21])
FORMAL_FEMALE = tuple(list(NICKNAMES)[21:])

# GB towns with a postcode area; IE towns with Eircode routing keys.
GB_TOWNS = (  # town, postcode area, landline dialling code (without the trunk 0)
    ("Leeds", "LS", "113"),
    ("Manchester", "M", "161"),
    ("Birmingham", "B", "121"),
    ("Glasgow", "G", "141"),
    ("Edinburgh", "EH", "131"),
    ("Cardiff", "CF", "29"),
    ("Bristol", "BS", "117"),
    ("Newcastle upon Tyne", "NE", "191"),
    ("Nottingham", "NG", "115"),
    ("Sheffield", "S", "114"),
    ("Liverpool", "L", "151"),
    ("Brighton", "BN", "1273"),
    ("Norwich", "NR", "1603"),
    ("York", "YO", "1904"),
    ("Belfast", "BT", "28"),
    ("Leicester", "LE", "116"),
    ("Southampton", "SO", "23"),
    ("Exeter", "EX", "1392"),
    ("Aberdeen", "AB", "1224"),
    ("London", "SE", "20"),
    ("London", "N", "20"),
    ("London", "E", "20"),
    ("London", "SW", "20"),
)
IE_TOWNS = (
    ("Dublin", ("D02", "D04", "D06", "D08", "D12", "D15", "D24")),
    ("Cork", ("T12", "T23")),
    ("Galway", ("H91",)),
    ("Limerick", ("V94",)),
    ("Waterford", ("X91",)),
)
POSTCODE_LETTERS = "ABDEFGHJLNPQRSTUWXYZ"
STREET_TYPES = (
    ("Street", "St"),
    ("Road", "Rd"),
    ("Avenue", "Ave"),
    ("Lane", "Ln"),
    ("Close", "Cl"),
    ("Drive", "Dr"),
    ("Gardens", "Gdns"),
    ("Crescent", "Cres"),
    ("Terrace", "Terr"),
    ("Place", "Pl"),
    ("Court", "Ct"),
    ("Way", "Way"),
    ("Grove", "Grove"),
)
# Residence: most customers are in GB, some in Ireland, a few order from abroad.
COUNTRIES = (("GB", 80), ("IE", 13), ("US", 4), ("CA", 2), ("AU", 1))
COUNTRY_SPELLINGS = {
    "GB": ("GB", "United Kingdom", "UK", "gb"),
    "IE": ("IE", "Ireland", "ie"),
    "US": ("US", "United States", "USA"),
    "CA": ("CA", "Canada"),
    "AU": ("AU", "Australia"),
}
CALLING_CODES = {"GB": "44", "IE": "353", "US": "1", "CA": "1", "AU": "61"}
MAIL_DOMAINS = {
    "GB": (
        "gmail.com",
        "gmail.com",
        "outlook.com",
        "hotmail.com",
        "icloud.com",
        "btinternet.com",
        "sky.com",
        "yahoo.co.uk",
    ),
    "IE": ("gmail.com", "gmail.com", "eircom.net", "outlook.com", "hotmail.com", "icloud.com"),
    "US": ("gmail.com", "yahoo.com", "aol.com", "outlook.com", "icloud.com"),
    "CA": ("gmail.com", "shaw.ca", "rogers.com", "outlook.com"),
    "AU": ("gmail.com", "bigpond.com", "outlook.com", "optusnet.com.au"),
}
# Employers behind work email addresses: (CRM company id, name, domain, industry, staff).
COMPANIES = (
    ("9100001", "Harbour Logistics Ltd", "harbourlogistics.co.uk", "Logistics", 420),
    ("9100002", "Northgate Health", "northgate-health.org", "Healthcare", 1800),
    ("9100003", "Kestrel Software", "kestrelsoftware.io", "Software", 95),
    ("9100004", "Millbank College", "millbank.ac.uk", "Education", 640),
    ("9100005", "Brightwater Law LLP", "brightwaterlaw.com", "Legal", 60),
)
EMPLOYERS = {c[2]: c for c in COMPANIES}
PLACEHOLDER_EMAILS = ("test@test.com", "none@none.com", "noemail@example.com")
PLACEHOLDER_PHONES = ("0000000000", "01234567890", "1234567890")
PLACEHOLDER_NAMES = ("n/a", "Test", "x")

PRODUCTS = (
    ("RT-1001", "Merino Hiking Socks", 14.0),
    ("RT-1002", "Enamel Camping Mug", 9.5),
    ("RT-1003", "Waxed Canvas Tote", 42.0),
    ("RT-1004", "Stoneware Planter", 24.0),
    ("RT-1005", "Linen Tea Towel Set", 18.0),
    ("RT-1006", "Insulated Flask 750ml", 29.0),
    ("RT-1007", "Wool Throw Blanket", 65.0),
    ("RT-1008", "Garden Kneeler", 16.5),
    ("RT-1009", "Beeswax Candle Trio", 21.0),
    ("RT-1010", "Trail Running Cap", 19.0),
    ("RT-1011", "Cast Iron Skillet", 48.0),
    ("RT-1012", "Organic Coffee Beans 1kg", 23.0),
)
STORES = ("LDS-01", "MAN-02", "GLA-03", "EDI-04", "BRS-05", "LON-06", "LON-07", "DUB-08", "CRK-09")
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/126.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 Version/17.5 Safari/605.1.15",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 Chrome/126.0 Mobile Safari/537.36",
)
PAGES = ("/", "/new-in", "/home", "/outdoor", "/kitchen", "/sale", "/stores", "/journal")
CAMPAIGNS = (
    (None, None, None),
    ("google", "cpc", "brand"),
    ("newsletter", "email", "weekly"),
    ("instagram", "social", "autumn"),
)
TICKET_SUBJECTS = (
    "Where is my order?",
    "Return request",
    "Damaged item",
    "Change delivery address",
    "Loyalty points missing",
    "Discount code not working",
)
LIFECYCLE = (
    "subscriber",
    "lead",
    "marketingqualifiedlead",
    "salesqualifiedlead",
    "opportunity",
    "customer",
    "evangelist",
    "other",
)
KEYBOARD = ("qwertyuiop", "asdfghjkl", "zxcvbnm")


@dataclass(frozen=True)
class Pools:
    male: tuple[str, ...]
    female: tuple[str, ...]
    surnames: tuple[str, ...]
    street_stems: tuple[str, ...]
    abroad: dict[str, tuple[tuple[str, str], ...]]  # country -> (city, postcode)


def build_pools(seed: int) -> Pools:
    """Faker draws once per seed (per-record Faker calls would be far too slow)."""
    male: list[str] = []
    female: list[str] = []
    surnames: list[str] = []
    for locale, weight in NAME_LOCALES:
        fake = Faker(locale)
        fake.seed_instance(seed)
        male += [fake.first_name_male() for _ in range(weight * 20)]
        female += [fake.first_name_female() for _ in range(weight * 20)]
        surnames += [fake.last_name() for _ in range(weight * 40)]
    # Formal names with nicknames, so the nickname table is actually exercised.
    male += list(FORMAL_MALE) * 12
    female += list(FORMAL_FEMALE) * 12
    stems = Faker("en_NZ")
    stems.seed_instance(seed)
    abroad = {}
    for country, locale in (("US", "en_US"), ("CA", "en_CA"), ("AU", "en_AU")):
        fake = Faker(locale)
        fake.seed_instance(seed)
        abroad[country] = tuple((fake.city(), fake.postcode()) for _ in range(200))
    return Pools(
        male=tuple(male),
        female=tuple(female),
        surnames=tuple(surnames),
        street_stems=tuple(stems.last_name() for _ in range(600)),
        abroad=abroad,
    )


# --- the population -------------------------------------------------------


@dataclass(frozen=True)
class Phone:
    country: str
    national: str  # without the trunk 0 (GB, IE, AU) or the 1 (US, CA)
    area: str = ""  # a landline's dialling code, grouped apart when written


@dataclass(frozen=True)
class Address:
    number: str
    street: str  # stem and full street type, e.g. "Keegan Crescent"
    street_type: str
    city: str
    postcode: str
    country: str
    flat: str = ""
    dial: str = ""  # the town's landline dialling code (GB)


@dataclass
class Person:
    pid: str
    first: str
    last: str
    sex: str
    dob: date
    home: Address
    email: str
    mobile: Phone | None
    landline: Phone | None = None  # the household's
    alt_email: str | None = None  # work or second address
    family_email: str | None = None
    maiden: str | None = None  # surname on records typed before `renamed_on`
    renamed_on: int = 0  # day index (negative: before the window)
    suffix: str = ""  # Jr / Sr for namesakes

    def surname_at(self, day: int) -> str:
        return self.maiden if self.maiden and day < self.renamed_on else self.last


class Ids:
    """Unique random keys per kind: sequential keys would leak who made them together."""

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.used: dict[str, set[int]] = defaultdict(set)

    def draw(self, kind: str, low: int, high: int) -> int:
        used = self.used[kind]
        while True:
            value = self.rng.randint(low, high)
            if value not in used:
                used.add(value)
                return value


def weighted(rng: random.Random, options):
    values, weights = zip(*options, strict=True)
    return rng.choices(values, weights)[0]


def ascii_word(text: str) -> str:
    return "".join(ch for ch in text.lower() if ch.isalnum() and ch.isascii())


class World:
    """Everything the emitters share: randomness, pools, keys, the calendar and the sink."""

    def __init__(self, rng: random.Random, pools: Pools, sink: Sink, start: date, days: int):
        self.rng = rng
        self.pools = pools
        self.sink = sink
        self.days = days
        self.ids = Ids(rng)
        self.emails: set[str] = set()
        self.phones: set[str] = set()
        self.next_person = 0
        self.start = start
        self._base = datetime(start.year, start.month, start.day, tzinfo=UTC)

    def moment(self, day: int) -> datetime:
        """A time on `day` between 01:00 and 22:59 UTC, so every offset keeps the file's date."""
        millis = self.rng.randint(3_600_000, 82_799_999)
        return self._base + timedelta(days=day, milliseconds=millis)

    def day(self) -> int:
        return self.rng.randrange(self.days)

    def later_day(self, day: int) -> int | None:
        return self.rng.randint(day + 1, self.days - 1) if day < self.days - 1 else None

    def day_of(self, moment: datetime) -> int:
        return (moment - self._base).days

    def past_day(self, max_back: int = 2500) -> int:
        return -self.rng.randint(1, max_back)


def new_pid(w: World) -> str:
    w.next_person += 1
    return f"rp{w.next_person:07d}"


def first_name(w: World, sex: str, avoid: tuple[str, ...] = ()) -> str:
    pool = w.pools.male if sex == "M" else w.pools.female
    while True:
        name = w.rng.choice(pool)
        if name not in avoid:
            return name


def birth_date(w: World, min_age: int, max_age: int) -> date:
    age_days = w.rng.randint(min_age * 365 + 10, max_age * 365 + 300)
    return w.start - timedelta(days=age_days)


def new_address(w: World, country: str) -> Address:
    rng = w.rng
    number = str(rng.randint(1, 240))
    street_type = rng.choice(STREET_TYPES)[0]
    street = f"{rng.choice(w.pools.street_stems)} {street_type}"
    flat = f"Flat {rng.randint(1, 24)}" if rng.random() < 0.15 else ""
    dial = ""
    if country == "GB":
        city, area, dial = rng.choice(GB_TOWNS)
        postcode = (
            f"{area}{rng.randint(1, 28)} {rng.randint(0, 9)}"
            f"{rng.choice(POSTCODE_LETTERS)}{rng.choice(POSTCODE_LETTERS)}"
        )
    elif country == "IE":
        city, keys = rng.choice(IE_TOWNS)
        tail = "".join(rng.choice("ACDEFHKNPRTVWXY0123456789") for _ in range(4))
        postcode = f"{rng.choice(keys)} {tail}"
    else:
        city, postcode = rng.choice(w.pools.abroad[country])
    return Address(number, street, street_type, city, postcode, country, flat, dial)


def new_phone(w: World, country: str, area: str = "") -> Phone:
    """A number nobody else has; a landline when a GB dialling code is given."""
    rng = w.rng
    while True:
        if area:
            rest = "".join(str(rng.randint(0, 9)) for _ in range(9 - len(area)))
            national = f"{area}{rng.randint(2, 8)}{rest}"
        elif country == "GB":
            national = f"7{rng.randint(4, 9)}" + "".join(str(rng.randint(0, 9)) for _ in range(8))
        elif country == "IE":
            national = f"8{rng.choice('35679')}" + "".join(str(rng.randint(0, 9)) for _ in range(7))
        elif country == "AU":
            national = "4" + "".join(str(rng.randint(0, 9)) for _ in range(8))
        else:
            national = f"{rng.randint(201, 989)}{rng.randint(200, 999)}{rng.randint(0, 9999):04d}"
        if national not in w.phones:
            w.phones.add(national)
            return Phone(country, national, area)


def new_email(w: World, first: str, last: str, dob: date, country: str) -> str:
    rng = w.rng
    f, surname = ascii_word(first) or "x", ascii_word(last) or "y"
    local = weighted(
        rng,
        (
            (f"{f}.{surname}", 30),
            (f"{f}{surname}", 15),
            (f"{f[0]}{surname}", 12),
            (f"{f}_{surname}", 6),
            (f"{surname}.{f}", 5),
            (f"{f}{surname}{dob.year % 100:02d}", 12),
            (f"{f}.{surname}{rng.randint(1, 99)}", 10),
            (f"{f}{rng.randint(100, 9999)}", 10),
        ),
    )
    domain = rng.choice(MAIL_DOMAINS[country])
    email = f"{local}@{domain}"
    while email in w.emails:  # another person already has it: add digits, as people do
        email = f"{local}{rng.randint(1, 999)}@{domain}"
    w.emails.add(email)
    return email


def family_email(w: World, surname: str, country: str) -> str:
    local = w.rng.choice(("the{s}s", "{s}family", "{s}.home", "{s}household"))
    email = f"{local.format(s=ascii_word(surname) or 'home')}@{w.rng.choice(MAIL_DOMAINS[country])}"
    while email in w.emails:
        email = email.replace("@", str(w.rng.randint(1, 9)) + "@", 1)
    w.emails.add(email)
    return email


def person(w: World, sex: str, last: str, dob: date, home: Address, avoid=(), first=None) -> Person:
    first = first or first_name(w, sex, avoid)
    p = Person(
        pid=new_pid(w),
        first=first,
        last=last,
        sex=sex,
        dob=dob,
        home=home,
        email=new_email(w, first, last, dob, home.country),
        mobile=new_phone(w, home.country) if w.rng.random() < 0.92 else None,
    )
    if w.rng.random() < 0.2:  # a work or second address some sources get instead
        local, domain = f"{ascii_word(first)}.{ascii_word(last)}", w.rng.choice(COMPANIES)[2]
        p.alt_email = f"{local}@{domain}"
        while p.alt_email in w.emails:  # a namesake colleague got the plain form
            p.alt_email = f"{local}{w.rng.randint(2, 9)}@{domain}"
        w.emails.add(p.alt_email)
    return p


def marry(w: World, p: Person, new_surname: str) -> None:
    """`p` took `new_surname`; records typed before the change carry the maiden name."""
    if p.last == new_surname:
        return
    p.maiden, p.last = p.last, new_surname
    # Mostly long ago; some in the window, where live sources switch mid-stream.
    in_window = w.rng.random() < 0.1 and w.days > 6
    p.renamed_on = w.rng.randint(2, w.days - 3) if in_window else w.past_day(4000)
    if w.rng.random() < 0.3:  # a new address to go with the new name
        p.alt_email, p.email = p.email, new_email(w, p.first, p.last, p.dob, p.home.country)


def household(w: World) -> list[Person]:
    rng = w.rng
    country = weighted(rng, COUNTRIES)
    home = new_address(w, country)
    kind = weighted(
        rng,
        (
            ("single", 40),
            ("couple", 27),
            ("family", 22),
            ("flatmates", 5),
            ("twins", 3),
            ("namesakes", 3),
        ),
    )
    surname = rng.choice(w.pools.surnames)
    if kind == "single":
        members = [person(w, rng.choice("MF"), surname, birth_date(w, 18, 85), home)]
    elif kind == "flatmates":
        members = [
            person(w, rng.choice("MF"), rng.choice(w.pools.surnames), birth_date(w, 19, 35), home)
            for _ in range(rng.randint(2, 4))
        ]
    else:
        members = parents(w, surname, home, single_parent=kind != "couple" and rng.random() < 0.2)
        if kind in ("family", "twins", "namesakes"):
            members += children(w, kind, members)
    if len(members) > 1 and kind != "flatmates":
        share_household_contacts(w, members)
    return members


def parents(w: World, surname: str, home: Address, single_parent: bool) -> list[Person]:
    rng = w.rng
    a = person(w, "M" if rng.random() < 0.5 else "F", surname, birth_date(w, 40, 80), home)
    if single_parent:
        return [a]
    sex_b = ("F" if a.sex == "M" else "M") if rng.random() < 0.92 else a.sex
    dob_b = a.dob + timedelta(days=rng.randint(-2500, 2500))
    b = person(w, sex_b, rng.choice(w.pools.surnames), dob_b, home, avoid=(a.first,))
    if rng.random() < 0.7:  # one of them took the other's surname
        taker = b if b.sex == "F" or a.sex == b.sex else a
        marry(w, taker, a.last if taker is b else b.last)
    return [a, b]


def children(w: World, kind: str, elders: list[Person]) -> list[Person]:
    rng = w.rng
    youngest = max(p.dob for p in elders)
    surname = elders[0].last
    home = elders[0].home
    names = tuple(p.first for p in elders)
    first_dob = youngest + timedelta(days=rng.randint(22 * 365, 34 * 365))
    first_dob = min(first_dob, w.start - timedelta(days=18 * 365 + 30))  # customers are adults
    if kind == "namesakes":  # the junior shares the senior's first and last name
        senior = next((p for p in elders if p.sex == "M"), elders[0])
        junior = person(w, senior.sex, senior.last, first_dob, home, first=senior.first)
        if senior.sex == "M":
            senior.suffix, junior.suffix = "Sr", "Jr"
        return [junior]
    if kind == "twins":  # same birthday, different first names
        a = person(w, rng.choice("MF"), surname, first_dob, home, avoid=names)
        b = person(w, rng.choice("MF"), surname, first_dob, home, avoid=(*names, a.first))
        return [a, b]
    kids = []
    for n in range(rng.randint(1, 3)):
        dob = min(
            first_dob + timedelta(days=n * rng.randint(400, 1500)),
            w.start - timedelta(days=18 * 365 + 30),
        )
        kid = person(
            w, rng.choice("MF"), surname, dob, home, avoid=(*names, *(k.first for k in kids))
        )
        kids.append(kid)
    return kids


def share_household_contacts(w: World, members: list[Person]) -> None:
    """A shared landline (some households) and a shared family email (fewer)."""
    if w.rng.random() < 0.4:
        home = members[0].home
        landline = new_phone(w, home.country, home.dial)  # abroad: a shared mobile
        for m in members:
            m.landline = landline
    if w.rng.random() < 0.15:
        shared = family_email(w, members[0].last, members[0].home.country)
        for m in members:
            m.family_email = shared


# --- the error model ------------------------------------------------------


@dataclass(frozen=True)
class Noise:
    """How carelessly one source's records are typed: probabilities per record."""

    typo: float = 0.02  # a keyboard slip in a name
    nickname: float = 0.05  # an informal first name
    case: float = 0.03  # ALL CAPS or all lower case
    swap: float = 0.005  # first and last name in each other's box
    email_typo: float = 0.01  # a slip in the email's local part
    dob_swap: float = 0.0  # day and month exchanged
    junk: float = 0.0  # a placeholder instead of a value
    drop: float = 0.05  # an optional field left empty
    intl_phone: float = 0.25  # phone typed with the country code


CRM = Noise(
    typo=0.03, nickname=0.06, case=0.04, swap=0.01, email_typo=0.015, dob_swap=0.04, drop=0.1
)
CRM_DUPLICATE = replace(CRM, typo=0.1, nickname=0.3, email_typo=0.05, drop=0.3)
CHECKOUT = Noise(
    typo=0.02, nickname=0.1, case=0.05, swap=0.01, email_typo=0.01, junk=0.003, drop=0.05
)
ORDER_VARIATION = 0.12  # share of orders not typed exactly as the buyer's usual checkout
WEB = Noise(typo=0.01, nickname=0.05, case=0.02, email_typo=0.005, drop=0.2)
TICKETS = Noise(typo=0.04, nickname=0.15, case=0.1, email_typo=0.02, junk=0.01, drop=0.2)
SUBSCRIBERS = Noise(typo=0.02, nickname=0.1, case=0.08, email_typo=0.03, drop=0.35)
LOYALTY = Noise(
    typo=0.07,
    nickname=0.12,
    case=0.3,
    swap=0.02,
    dob_swap=0.08,
    junk=0.02,
    drop=0.15,
    intl_phone=0.05,
)


def _neighbours() -> dict[str, str]:
    """Letters next to each letter on a QWERTY keyboard."""
    near: dict[str, str] = {}
    for r, row in enumerate(KEYBOARD):
        for c, ch in enumerate(row):
            keys = [row[i] for i in (c - 1, c + 1) if 0 <= i < len(row)]
            for other in (r - 1, r + 1):
                if 0 <= other < len(KEYBOARD):
                    keys += [
                        KEYBOARD[other][i]
                        for i in (c - 1, c, c + 1)
                        if 0 <= i < len(KEYBOARD[other])
                    ]
            near[ch] = "".join(sorted(set(keys)))
    return near


NEIGHBOURS = _neighbours()


def typo(rng: random.Random, text: str) -> str:
    """One slip: an adjacent key, a dropped or doubled letter, two letters swapped."""
    if len(text) < 4:
        return text
    i = rng.randint(1, len(text) - 2)  # the first letter is rarely wrong
    kind = rng.choice(("adjacent", "drop", "swap", "double"))
    ch = text[i]
    if kind == "adjacent" and ch.lower() in NEIGHBOURS:
        new = rng.choice(NEIGHBOURS[ch.lower()])
        return text[:i] + (new.upper() if ch.isupper() else new) + text[i + 1 :]
    if kind == "drop":
        return text[:i] + text[i + 1 :]
    if kind == "double":
        return text[:i] + ch + text[i:]
    return text[:i] + text[i + 1] + text[i] + text[i + 2 :]


def cased(rng: random.Random, text: str, rate: float) -> str:
    if text and rng.random() < rate:
        return text.upper() if rng.random() < 0.5 else text.lower()
    return text


def typed_first(rng: random.Random, p: Person, noise: Noise) -> str:
    name = p.first
    if name in NICKNAMES and rng.random() < noise.nickname:
        name = rng.choice(NICKNAMES[name])
    elif rng.random() < noise.drop * 0.1:
        name = name[0]  # an initial
    if rng.random() < noise.typo:
        name = typo(rng, name)
    return cased(rng, name, noise.case)


def typed_last(rng: random.Random, p: Person, day: int, noise: Noise) -> str:
    name = p.surname_at(day)
    if p.suffix and rng.random() < 0.15:
        name = f"{name} {p.suffix}"
    if rng.random() < noise.typo:
        name = typo(rng, name)
    return cased(rng, name, noise.case)


def typed_names(rng: random.Random, p: Person, day: int, noise: Noise) -> tuple[str, str]:
    """(first box, last box), with the occasional swap or placeholder."""
    if rng.random() < noise.junk * 0.5:
        return rng.choice(PLACEHOLDER_NAMES), typed_last(rng, p, day, noise)
    first, last = typed_first(rng, p, noise), typed_last(rng, p, day, noise)
    return (last, first) if rng.random() < noise.swap else (first, last)


def typed_email(rng: random.Random, email: str | None, noise: Noise) -> str:
    if not email:
        return ""
    if rng.random() < noise.junk:
        return rng.choice(PLACEHOLDER_EMAILS)
    local, domain = email.split("@")
    if rng.random() < noise.email_typo:
        local = typo(rng, local) if len(local) >= 4 else local + local[-1]
    text = f"{local}@{domain}"
    if rng.random() < noise.case:
        text = text.capitalize() if rng.random() < 0.7 else text.upper()
    return f" {text}" if rng.random() < 0.01 else text


def typed_phone(rng: random.Random, phone: Phone | None, noise: Noise) -> str:
    if phone is None:
        return ""
    if rng.random() < noise.junk:
        return rng.choice(PLACEHOLDER_PHONES)
    foreign = phone.country != "GB"  # people abroad mostly add the country code
    intl = rng.random() < (0.7 if foreign else noise.intl_phone)
    return phone_text(rng, phone, intl)


def phone_text(rng: random.Random, phone: Phone, intl: bool) -> str:
    n, code = phone.national, CALLING_CODES[phone.country]
    if phone.country in ("US", "CA"):
        groups = (n[:3], n[3:6], n[6:])
        if intl:
            return rng.choice(
                (f"+1 {' '.join(groups)}", f"+1{n}", f"+1 ({groups[0]}) {groups[1]}-{groups[2]}")
            )
        return rng.choice((f"({groups[0]}) {groups[1]}-{groups[2]}", "-".join(groups), n))
    if phone.area:
        tail = n[len(phone.area) :]
        groups = (phone.area, tail) if len(tail) == 6 else (phone.area, tail[:-4], tail[-4:])
    elif phone.country == "GB":
        groups = (n[:4], n[4:])
    elif phone.country == "AU":
        groups = (n[:3], n[3:6], n[6:])
    else:
        groups = (n[:2], n[2:5], n[5:])
    if intl:
        return rng.choice(
            (
                f"+{code} {' '.join(groups)}",
                f"+{code}{n}",
                f"00{code} {' '.join(groups)}",
                f"+{code} (0){' '.join(groups)}",
            )
        )
    national = "0" + " ".join(groups)
    return rng.choice(
        (
            national,
            national,
            national.replace(" ", ""),
            national.replace(" ", "-"),
            f"({national.replace(' ', ') ', 1)}",
        )
    )


def pick_phone(rng: random.Random, p: Person, landline_bias: float = 0.3) -> Phone | None:
    if p.landline and (p.mobile is None or rng.random() < landline_bias):
        return p.landline
    return p.mobile


def typed_postcode(rng: random.Random, postcode: str, noise: Noise) -> str:
    if rng.random() < noise.drop * 0.3:
        return ""
    roll = rng.random()
    if roll < 0.12:
        return postcode.lower()
    if roll < 0.22:
        return postcode.replace(" ", "")
    if roll < 0.26:
        return postcode.replace(" ", "  ")
    if roll < 0.29:
        return f" {postcode.lower().replace(' ', '')} "
    return postcode


def typed_street(rng: random.Random, home: Address, noise: Noise) -> str:
    if rng.random() < noise.drop:
        return ""
    street = home.street
    if rng.random() < 0.25:
        short = dict(STREET_TYPES)[home.street_type]
        street = street[: -len(home.street_type)] + short + ("." if rng.random() < 0.3 else "")
    number = home.number + ("," if rng.random() < 0.15 else "")
    line = f"{number} {street}"
    if home.flat and rng.random() < 0.7:
        line = f"{home.flat}, {line}"
    return cased(rng, line, noise.case)


def typed_city(rng: random.Random, home: Address, noise: Noise) -> str:
    return "" if rng.random() < noise.drop * 0.5 else cased(rng, home.city, noise.case)


def typed_country(rng: random.Random, home: Address, noise: Noise) -> str:
    if rng.random() < noise.drop * 0.5:
        return ""
    return rng.choice(COUNTRY_SPELLINGS[home.country])


def typed_dob(rng: random.Random, dob: date, noise: Noise, till: bool) -> str:
    """CRM `YYYY-MM-DD`; tills `DD/MM/YYYY`. A swap exchanges day and month when it can."""
    if rng.random() < noise.drop * 2:
        return ""
    day, month = dob.day, dob.month
    if rng.random() < noise.dob_swap and day <= 12 and day != month:
        day, month = month, day
    return f"{day:02d}/{month:02d}/{dob.year}" if till else f"{dob.year}-{month:02d}-{day:02d}"


# --- timestamps, one spelling per source family ---------------------------


def hubspot(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S+00:00")


def shopify(moment: datetime) -> str:
    return (moment + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S +0100")


def segment(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def zendesk(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def plain(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S")


# --- the sink -------------------------------------------------------------


class Sink:
    """Buffers rows per day file, appends them in chunks, and streams the ground truth."""

    def __init__(self, out: Path, start: date):
        self.landing = out / "landing"
        self.start = start
        self.buffers: dict[tuple[str, int], list] = defaultdict(list)
        self.buffered = 0
        self.started: set[Path] = set()
        self.rows: dict[str, int] = defaultdict(int)
        self.records: dict[str, int] = defaultdict(int)
        self._truth_file = (out / "ground_truth.csv").open("w", encoding="utf-8", newline="")
        self._truth = csv.writer(self._truth_file, lineterminator="\n")
        self._truth.writerow(["source", "source_record_id", "true_person"])

    def row(self, source: str, day: int, row: dict) -> None:
        self.buffers[(source, day)].append(row)
        self.buffered += 1
        self.rows[source] += 1

    def truth(self, source: str, key: str, pid: str) -> None:
        self._truth.writerow([source, key, pid])
        self.records[source] += 1

    def flush(self) -> None:
        for (source, day), rows in sorted(self.buffers.items()):
            spec = SOURCES[source]
            path = (
                self.landing
                / source
                / f"{(self.start + timedelta(days=day)).isoformat()}.{spec.extension}"
            )
            new = path not in self.started
            if new:
                path.parent.mkdir(parents=True, exist_ok=True)
                self.started.add(path)
            with path.open("w" if new else "a", encoding="utf-8", newline="") as handle:
                if spec.format == "jsonl":
                    handle.writelines(
                        json.dumps(r, ensure_ascii=False, separators=(",", ":")) + "\n"
                        for r in rows
                    )
                    continue
                writer = csv.writer(handle, lineterminator="\n")
                if new:
                    writer.writerow(spec.headers)
                writer.writerows([r.get(h, "") for h in spec.headers] for r in rows)
        self.buffers.clear()
        self.buffered = 0

    def close(self) -> None:
        self.flush()
        self._truth_file.close()


# --- who uses which system ------------------------------------------------


@dataclass
class Channels:
    orders: int = 0
    account: bool = False
    crm: int = 0
    browsers: int = 0
    tickets: int = 0
    subscriptions: int = 0
    cards: int = 0


def order_count(rng: random.Random) -> int:
    """Most buy once; a few percent are heavy repeat buyers (10 to 60 orders)."""
    roll = rng.random()
    if roll < 0.58:
        return 1
    if roll < 0.83:
        return rng.randint(2, 4)
    if roll < 0.94:
        return rng.randint(5, 9)
    return rng.randint(10, 60)


def channels(rng: random.Random, p: Person) -> Channels:
    local = p.home.country in ("GB", "IE")
    ch = Channels()
    if rng.random() < (0.5 if local else 0.75):
        ch.orders = order_count(rng)
        ch.account = rng.random() < 0.7
    heavy = ch.orders >= 10
    ch.crm = (1 + (rng.random() < 0.07)) if rng.random() < (0.5 if heavy else 0.28) else 0
    ch.browsers = (
        rng.choices((1, 2, 3), (55, 30, 15))[0]
        if rng.random() < (0.8 if ch.orders else 0.35)
        else 0
    )
    ch.tickets = (
        rng.choices((1, 2, 3), (75, 18, 7))[0] if rng.random() < (0.3 if heavy else 0.08) else 0
    )
    ch.subscriptions = (1 + (rng.random() < 0.08)) if rng.random() < 0.38 else 0
    ch.cards = (1 + (rng.random() < 0.06)) if local and rng.random() < 0.32 else 0
    if not (ch.orders or ch.crm or ch.browsers or ch.tickets or ch.subscriptions or ch.cards):
        if rng.random() < 0.5:
            ch.subscriptions = 1
        else:
            ch.browsers = 1
    return ch


# --- the sources ----------------------------------------------------------


def emit_companies(w: World) -> None:
    """The employers' CRM records (not person-bearing): contacts at work refer to them."""
    created = w.moment(0) - timedelta(days=900)
    for key, name, domain, industry, staff in COMPANIES:
        row = {
            "Record ID": key,
            "Company name": name,
            "Company Domain Name": domain,
            "Industry": industry,
            "Number of Employees": str(staff),
            "Annual Revenue": f"{staff * 85_000}",
            "Country/Region": "United Kingdom",
            "Create Date": hubspot(created),
            "Last Modified Date": hubspot(w.moment(0)),
        }
        w.sink.row("crm_companies", 0, row)


def emit_crm(w: World, p: Person, count: int) -> None:
    rng = w.rng
    for n in range(count):
        key = str(w.ids.draw("crm", 1_000_000, 99_999_999))
        noise = CRM if n == 0 else CRM_DUPLICATE
        day = w.day()
        created = day if rng.random() < 0.3 else w.past_day(1500)
        modified = w.moment(day)  # a contact created today was last modified when created
        first, last = typed_names(rng, p, created, noise)
        email = p.email if n == 0 or not p.alt_email else p.alt_email
        row = {
            "Record ID": key,
            "First Name": first,
            "Last Name": last,
            "Email": "" if rng.random() < noise.drop * 0.3 else typed_email(rng, email, noise),
            "Phone Number": ""
            if rng.random() < noise.drop * 2
            else typed_phone(rng, pick_phone(rng, p), noise),
            "Street Address": typed_street(rng, p.home, noise),
            "City": typed_city(rng, p.home, noise),
            "Postal Code": typed_postcode(rng, p.home.postcode, noise),
            "Country/Region": typed_country(rng, p.home, noise),
            "Date of Birth": ""
            if rng.random() < 0.45
            else typed_dob(rng, p.dob, noise, till=False),
            "Lifecycle Stage": rng.choice(LIFECYCLE),
            "Email Subscription Status": rng.choice(("subscribed", "unsubscribed", "")),
            "Create Date": hubspot(modified if created == day else w.moment(created)),
        }
        company = EMPLOYERS.get(email.split("@")[1])
        if company:  # a contact made through work
            row["Company Name"] = cased(rng, company[1], 0.2)
            row["Associated Company ID"] = company[0]
            row["Job Title"] = rng.choice(("Buyer", "Office Manager", "Analyst", "Director", ""))
        w.sink.row("crm_contacts", day, {**row, "Last Modified Date": hubspot(modified)})
        w.sink.truth("crm_contacts", key, p.pid)
        crm_updates(w, p, row, day, created)


def crm_updates(w: World, p: Person, row: dict, day: int, created: int) -> None:
    """A later version: the married name once it is known, or a routine edit."""
    rng = w.rng
    renamed_later = p.maiden and created < p.renamed_on and day < p.renamed_on < w.days
    if renamed_later and rng.random() < 0.8:
        update_day = min(p.renamed_on + rng.randint(0, 2), w.days - 1)
        row = {**row, "Last Name": cased(rng, p.last, 0.03)}
    elif rng.random() < 0.15:
        update_day = w.later_day(day)
        row = {**row, "Lifecycle Stage": rng.choice(LIFECYCLE)}
        if rng.random() < 0.3:
            row["Phone Number"] = typed_phone(rng, pick_phone(rng, p, 0.5), CRM)
    else:
        return
    if update_day is not None and update_day > day:
        w.sink.row(
            "crm_contacts", update_day, {**row, "Last Modified Date": hubspot(w.moment(update_day))}
        )


@dataclass
class Order:
    name: str
    moment: datetime
    total: float
    currency: str
    items: list[tuple[str, str, float, int]]


def checkout(w: World, p: Person, day: int, account_email: str | None) -> dict:
    """The details a buyer's browser autofills: typed once, then mostly reused."""
    rng = w.rng
    first, last = typed_names(rng, p, day, CHECKOUT)
    email = account_email or (p.alt_email if p.alt_email and rng.random() < 0.2 else p.email)
    return {
        "Email": typed_email(rng, email, CHECKOUT),
        "Billing Name": f"{first} {last}".strip(),
        "Billing Street": typed_street(rng, p.home, CHECKOUT) or f"{p.home.number} {p.home.street}",
        "Billing City": cased(rng, p.home.city, CHECKOUT.case),
        "Billing Zip": typed_postcode(rng, p.home.postcode, Noise(drop=0)),
        "Billing Country": p.home.country,
        "Billing Phone": ""
        if rng.random() < 0.15
        else typed_phone(rng, pick_phone(rng, p, 0.2), CHECKOUT),
    }


def vary(w: World, p: Person, base: dict, day: int) -> dict:
    """One order typed a little differently from the buyer's usual checkout."""
    rng = w.rng
    row = dict(base)
    change = rng.choice(
        ("name", "name", "phone", "postcode", "street", "email", "missing_phone", "case")
    )
    if change == "name":
        first, last = typed_names(rng, p, day, replace(CHECKOUT, typo=0.5, nickname=0.5))
        row["Billing Name"] = f"{first} {last}"
    elif change == "phone":
        row["Billing Phone"] = typed_phone(
            rng, pick_phone(rng, p, 0.4), replace(CHECKOUT, intl_phone=0.5)
        )
    elif change == "postcode":
        row["Billing Zip"] = typed_postcode(rng, p.home.postcode, CHECKOUT)
    elif change == "street":
        row["Billing Street"] = typed_street(rng, p.home, Noise(drop=0, case=0.3))
    elif change == "email":
        other = p.alt_email or p.family_email or p.email
        row["Email"] = typed_email(rng, other, replace(CHECKOUT, email_typo=0.3))
    elif change == "missing_phone":
        row["Billing Phone"] = ""
    else:
        row["Billing Name"] = row["Billing Name"].upper()
    return row


def emit_shop(w: World, p: Person, ch: Channels, user_email: str | None) -> list[Order]:
    rng = w.rng
    currency = "EUR" if p.home.country == "IE" else "GBP"
    profiles: dict[str, dict] = {}
    orders = []
    for day in sorted(w.day() for _ in range(ch.orders)):
        surname = p.surname_at(day)
        if surname not in profiles:  # a married buyer re-types the checkout form once
            profiles[surname] = checkout(w, p, day, user_email)
        details = (
            vary(w, p, profiles[surname], day)
            if rng.random() < ORDER_VARIATION
            else profiles[surname]
        )
        orders.append(emit_order(w, p, day, details, currency))
    return orders


def emit_order(w: World, p: Person, day: int, details: dict, currency: str) -> Order:
    rng = w.rng
    number = w.ids.draw("order", 100_000, 9_999_999)
    name = f"#{number}"
    items = [
        (sku, title, price, rng.choices((1, 2, 3), (80, 15, 5))[0])
        for sku, title, price in rng.sample(PRODUCTS, rng.choices((1, 2, 3), (70, 20, 10))[0])
    ]
    subtotal = round(sum(price * qty for _, _, price, qty in items), 2)
    shipping = 0.0 if subtotal >= 50 else 3.95
    moment = w.moment(day)
    status = rng.choices(("paid", "pending", "partially_refunded"), (95, 4, 1))[0]
    head = {
        "Name": name,
        **details,
        "Financial Status": status,
        "Paid at": shopify(moment) if status != "pending" else "",
        "Accepts Marketing": rng.choice(("yes", "no")),
        "Currency": currency,
        "Subtotal": f"{subtotal:.2f}",
        "Shipping": f"{shipping:.2f}",
        "Taxes": f"{subtotal / 6:.2f}",
        "Total": f"{subtotal + shipping:.2f}",
        "Discount Code": "WELCOME10" if rng.random() < 0.05 else "",
        "Created at": shopify(moment),
        "Id": str(4_100_000_000_000 + number),
    }
    rows = order_rows(head, items)
    for row in rows:
        w.sink.row("shop_orders", day, row)
    w.sink.truth("shop_orders", name, p.pid)
    if rng.random() < 0.03 and (later := w.later_day(day)) is not None:  # refunded: exported again
        rows[0] = {**rows[0], "Financial Status": "refunded"}
        for row in rows:
            w.sink.row("shop_orders", later, row)
    return Order(name, moment, round(subtotal + shipping, 2), currency, items)


def order_rows(head: dict, items: list) -> list[dict]:
    """One row per line item; order-level columns on the first row only."""
    rows = []
    for n, (sku, title, price, qty) in enumerate(items):
        line = {
            "Lineitem quantity": str(qty),
            "Lineitem name": title,
            "Lineitem price": f"{price:.2f}",
            "Lineitem sku": sku,
        }
        rows.append({**head, **line} if n == 0 else {"Name": head["Name"], **line})
    return rows


def uuid(rng: random.Random) -> str:
    h = f"{rng.getrandbits(128):032x}"
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"


def emit_web(w: World, p: Person, ch: Channels, orders: list[Order], user_id: str | None) -> None:
    rng = w.rng
    browsers = [new_browser(rng) for _ in range(ch.browsers)]
    placed: dict[str, list[Order]] = defaultdict(list)
    for order in orders:  # some orders come from an untracked device
        if browsers and rng.random() < 0.85:
            placed[rng.choice(browsers).anonymous_id].append(order)
    for b in browsers:
        w.sink.truth("web_events", b.anonymous_id, p.pid)
        browse(w, p, b, placed[b.anonymous_id], user_id)


@dataclass(frozen=True)
class Browser:
    anonymous_id: str
    context: dict


def new_browser(rng: random.Random) -> Browser:
    ip = ".".join(str(rng.randint(lo, hi)) for lo, hi in ((2, 223), (0, 255), (0, 255), (1, 254)))
    return Browser(uuid(rng), {"ip": ip, "userAgent": rng.choice(USER_AGENTS)})


def browse(w: World, p: Person, b: Browser, orders: list[Order], user_id: str | None) -> None:
    """A browser's sessions: page views, one identify if the person signs in or gives an email,
    and the checkout events of the orders placed from it."""
    rng = w.rng
    signs_in = user_id is not None and rng.random() < 0.8
    emails_only = user_id is None and rng.random() < 0.3
    uid = user_id if signs_in else None
    for n, day in enumerate(sorted({w.day() for _ in range(rng.randint(1, 3))})):
        moment = w.moment(day)
        for _ in range(rng.randint(1, 4)):  # signed in from the second session on
            web_event(w, b, "page", moment, uid if n else None, path=rng.choice(PAGES))
            moment += timedelta(seconds=rng.randint(5, 120))
        if n == 0 and (signs_in or emails_only):
            identify(w, p, b, moment, uid)
    for order in orders:
        started = order.moment - timedelta(seconds=90)
        web_event(
            w, b, "track", started, uid, event="Checkout Started", properties={"total": order.total}
        )
        products = [
            {"sku": s, "name": t, "price": pr, "quantity": q} for s, t, pr, q in order.items
        ]
        completed = {
            "order_id": order.name,
            "total": order.total,
            "currency": order.currency,
            "products": products,
        }
        web_event(w, b, "track", order.moment, uid, event="Order Completed", properties=completed)


def identify(w: World, p: Person, b: Browser, moment: datetime, uid: str | None) -> None:
    """Signed in: the account's details. Otherwise an email given to a newsletter box."""
    rng = w.rng
    email = p.email if uid else rng.choice((p.email, p.alt_email or p.email))
    traits = {"email": typed_email(rng, email, WEB)}
    if uid or rng.random() < 0.4:
        first, last = typed_names(rng, p, w.day_of(moment), WEB)
        traits.update(firstName=first, lastName=last)
    if uid and rng.random() < 0.3:
        traits["phone"] = typed_phone(rng, p.mobile, WEB) or None
    web_event(w, b, "identify", moment, uid, traits=traits)
    if uid and rng.random() < 0.2:
        web_event(
            w, b, "track", moment + timedelta(seconds=2), uid, event="Signed Up", properties={}
        )


def web_event(
    w: World,
    b: Browser,
    kind: str,
    moment: datetime,
    user_id: str | None,
    path: str = "/checkout",
    event: str | None = None,
    properties: dict | None = None,
    traits: dict | None = None,
) -> None:
    source, medium, campaign = w.rng.choice(CAMPAIGNS)
    page = {"url": f"https://shop.example-retail.co.uk{path}", "path": path, "referrer": ""}
    message = {
        "messageId": uuid(w.rng),
        "type": kind,
        "timestamp": segment(moment),
        "anonymousId": b.anonymous_id,
        "userId": user_id,
        "context": {
            **b.context,
            "page": page,
            "campaign": {"source": source, "medium": medium, "name": campaign},
        },
    }
    if kind == "page":
        message["properties"] = {"path": path, "url": page["url"]}
    if event:
        message["event"] = event
        message["properties"] = properties
    if traits is not None:
        message["traits"] = traits
    w.sink.row("web_events", w.day_of(moment), message)


def emit_tickets(w: World, p: Person, count: int) -> None:
    rng = w.rng
    for _ in range(count):
        key = w.ids.draw("ticket", 100_000, 9_999_999)
        day = w.day()
        channel = rng.choice(("email", "web", "phone", "chat"))
        first, last = typed_names(rng, p, day, TICKETS)
        name = weighted(
            rng, ((f"{first} {last}", 65), (first, 20), (p.email.split("@")[0], 10), ("", 5))
        )
        # Whichever address the person wrote from; a caller may give none.
        address = rng.choice((p.email, p.email, p.alt_email, p.family_email)) or p.email
        email = (
            "" if channel == "phone" and rng.random() < 0.5 else typed_email(rng, address, TICKETS)
        )
        wants_call = channel == "phone" or rng.random() < 0.1
        phone = typed_phone(rng, pick_phone(rng, p), TICKETS) if wants_call else ""
        created = w.moment(day)
        ticket = {
            "id": key,
            "created_at": zendesk(created),
            "updated_at": zendesk(created),
            "status": "new",
            "priority": rng.choice(("low", "normal", "normal", "high", "urgent")),
            "channel": channel,
            "subject": rng.choice(TICKET_SUBJECTS),
            "satisfaction_rating": {"score": "unoffered"},
            "requester": {"name": name.strip(), "email": email or None, "phone": phone or None},
        }
        w.sink.row("support_tickets", day, ticket)
        w.sink.truth("support_tickets", str(key), p.pid)
        if (later := w.later_day(day)) is not None and rng.random() < 0.6:
            solved = {
                **ticket,
                "status": rng.choice(("solved", "closed")),
                "updated_at": zendesk(w.moment(later)),
            }
            solved["satisfaction_rating"] = {"score": rng.choice(("good", "bad", "offered"))}
            w.sink.row("support_tickets", later, solved)


def emit_subscribers(w: World, p: Person, count: int) -> None:
    rng = w.rng
    addresses = [p.email, p.alt_email or p.family_email][:count]
    for address in addresses:
        # No second address: the first one mistyped, a subscription that bounces.
        email = typed_email(
            rng, address or p.email, SUBSCRIBERS if address else Noise(email_typo=1)
        )
        address = address or p.email
        leid = str(w.ids.draw("leid", 10_000_000, 999_999_999))
        day = w.day()
        named = rng.random() > SUBSCRIBERS.drop
        first, last = typed_names(rng, p, day, SUBSCRIBERS) if named else ("", "")
        moment = w.moment(day)
        pending = rng.random() < 0.1
        row = {
            "Email Address": email,
            "First Name": first,
            "Last Name": last,
            "Phone Number": typed_phone(rng, p.mobile, SUBSCRIBERS) if rng.random() < 0.12 else "",
            "Status": "pending" if pending else "subscribed",
            "MEMBER_RATING": str(rng.randint(1, 5)),
            "OPTIN_TIME": plain(moment),
            "CONFIRM_TIME": ""
            if pending
            else plain(moment + timedelta(minutes=rng.randint(1, 30))),
            "LAST_CHANGED": plain(moment),
            "LEID": leid,
            "TAGS": rng.choice(("", "Newsletter", '"Newsletter","Outdoor"', "Kitchen")),
        }
        w.sink.row("email_subscribers", day, row)
        w.sink.truth("email_subscribers", leid, p.pid)
        bounced = email.strip().lower() != address
        if (later := w.later_day(day)) is not None and (bounced or rng.random() < 0.12):
            status = "cleaned" if bounced else rng.choice(("unsubscribed", "subscribed"))
            w.sink.row(
                "email_subscribers",
                later,
                {**row, "Status": status, "LAST_CHANGED": plain(w.moment(later))},
            )


def emit_loyalty(w: World, p: Person, count: int) -> None:
    rng = w.rng
    for n in range(count):
        card = f"6339{w.ids.draw('card', 10**11, 10**12 - 1)}"
        day = w.day()
        enrolled = day if rng.random() < 0.2 else w.past_day(2500)
        updated = w.moment(day)
        first, last = typed_names(rng, p, enrolled, LOYALTY)
        with_address = rng.random() < 0.5
        row = {
            "card_number": card,
            "first_name": first,
            "last_name": last,
            "phone": typed_phone(rng, pick_phone(rng, p, 0.4), LOYALTY)
            if rng.random() > LOYALTY.drop
            else "",
            "email": typed_email(rng, p.email if n == 0 else (p.alt_email or p.email), LOYALTY)
            if rng.random() < 0.35
            else "",
            "postcode": typed_postcode(rng, p.home.postcode, LOYALTY),
            "birth_date": typed_dob(rng, p.dob, LOYALTY, till=True),
            "home_store": rng.choice(STORES[-2:] if p.home.country == "IE" else STORES[:-2]),
            "enrolled_at": plain(updated if enrolled == day else w.moment(enrolled)),
            "points_balance": str(rng.randint(0, 4000)),
            "street": typed_street(rng, p.home, LOYALTY) if with_address else "",
            "city": typed_city(rng, p.home, LOYALTY) if with_address else "",
        }
        w.sink.row("pos_loyalty", day, {**row, "updated_at": plain(updated)})
        w.sink.truth("pos_loyalty", card, p.pid)
        if (later := w.later_day(day)) is not None and rng.random() < 0.4:  # points moved
            points = str(int(row["points_balance"]) + rng.randint(10, 400))
            w.sink.row(
                "pos_loyalty",
                later,
                {**row, "points_balance": points, "updated_at": plain(w.moment(later))},
            )


# --- the run --------------------------------------------------------------


@dataclass
class Totals:
    persons: int = 0
    households: int = 0
    orders: int = 0
    heavy_buyers: int = 0
    orders_by_heavy: int = 0
    max_orders: int = 0


def emit_person(w: World, p: Person, totals: Totals) -> None:
    ch = channels(w.rng, p)
    user_id = str(w.ids.draw("user", 10**12, 10**13 - 1)) if ch.account else None
    account_email = None
    if ch.account:  # the shop account's login: a family shares one now and then
        account_email = p.family_email if p.family_email and w.rng.random() < 0.4 else p.email
    orders = emit_shop(w, p, ch, account_email) if ch.orders else []
    emit_crm(w, p, ch.crm)
    emit_web(w, p, ch, orders, user_id)
    emit_tickets(w, p, ch.tickets)
    emit_subscribers(w, p, ch.subscriptions)
    emit_loyalty(w, p, ch.cards)
    totals.orders += len(orders)
    totals.max_orders = max(totals.max_orders, len(orders))
    if len(orders) >= 10:
        totals.heavy_buyers += 1
        totals.orders_by_heavy += len(orders)


def generate(
    out: Path, persons: int, seed: int = 7, start: date = date(2026, 8, 1), days: int = 30
) -> dict:
    """Write the landing zone and ground truth for `persons` people; returns the counts."""
    if days < 2:
        raise ValueError("days must be at least 2 (later versions land on later days)")
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if (out / "landing").exists():
        shutil.rmtree(out / "landing")  # a stale day file would not match the new truth
    began = time.perf_counter()
    rng = random.Random(seed)
    sink = Sink(out, start)
    w = World(rng, build_pools(seed), sink, start, days)
    emit_companies(w)
    totals = Totals()
    while totals.persons < persons:
        members = household(w)[: persons - totals.persons]
        totals.households += 1
        for p in members:
            emit_person(w, p, totals)
        totals.persons += len(members)
        if sink.buffered > 50_000:  # bounded memory: append to the day files now and then
            sink.flush()
    sink.close()
    return {
        "persons": totals.persons,
        "households": totals.households,
        "orders": totals.orders,
        "heavy_buyers": totals.heavy_buyers,
        "orders_by_heavy_buyers": totals.orders_by_heavy,
        "max_orders_per_person": totals.max_orders,
        "records": {s: sink.records[s] for s in sorted(sink.records)},
        "rows": {s: sink.rows[s] for s in sorted(sink.rows)},
        "ground_truth_records": sum(sink.records.values()),
        "seconds": round(time.perf_counter() - began, 1),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--persons", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--start", type=date.fromisoformat, default=date(2026, 8, 1))
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args(argv)
    counts = generate(args.out, args.persons, args.seed, args.start, args.days)
    json.dump(counts, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
