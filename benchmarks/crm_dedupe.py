"""A name-only CRM export with duplicates, as landing files with its ground truth.

Models a CRM that holds no email and no phone: each contact has a first and
last name, date of birth, street, city, postal code and country, so every link
must be found from names, dates and addresses. A share of people were entered
more than once (1 to 3 extra copies), and each copy carries 1 to 3 realistic
corruptions: a nickname, a surname typo, day and month of birth swapped, a
mistyped digit of the date, a missing postcode, street or date of birth, a
street suffix abbreviated or spelled out, first and last name in each other's
boxes, or (women) a married surname. Original records are complete.

The population holds the people a careless matcher merges: common names
repeated across strangers (many James Smiths), households (one surname and
address, different first names and birth dates), twins (one surname, address
and birth date, different first names), juniors and seniors (one name and
address, birth dates a generation apart) and neighbours who share a street and
postcode. Names and towns come from Faker in six English-speaking locales,
everything else from `random.Random(seed)`; the same seed writes the same
files. No `identity.yaml` is written: the platform's shipped configuration is
what is measured.

`hand_made_duplicates` writes eighteen rows spelled out below, one case each,
for tests that must see why a pair is or is not merged.
"""

from __future__ import annotations

import argparse
import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta, timezone
from pathlib import Path

from faker import Faker

from benchmarks.febrl import MODIFIED, _write_csv, _write_truth

SOURCE = "crm_contacts"
# Contacts are adults on the export day.
YOUNGEST_DOB = date(2008, 7, 31)

# locale -> (country written to Country/Region, share of the population)
LOCALES = {
    "en_GB": ("GB", 0.35),
    "en_US": ("US", 0.28),
    "en_AU": ("AU", 0.12),
    "en_CA": ("CA", 0.10),
    "en_IE": ("IE", 0.09),
    "en_NZ": ("NZ", 0.06),
}

# Formal first name -> the nicknames a contact may give instead.
NICKNAMES: dict[str, tuple[str, ...]] = {
    # men
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "Richard": ("Rick", "Rich", "Dick"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "John": ("Johnny", "Jack"),
    "Michael": ("Mike", "Mick"),
    "Thomas": ("Tom", "Tommy"),
    "Joseph": ("Joe", "Joey"),
    "Charles": ("Charlie", "Chuck"),
    "Christopher": ("Chris",),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Steven": ("Steve",),
    "Stephen": ("Steve",),
    "Andrew": ("Andy", "Drew"),
    "Joshua": ("Josh",),
    "Kenneth": ("Ken", "Kenny"),
    "Benjamin": ("Ben",),
    "Samuel": ("Sam",),
    "Nicholas": ("Nick",),
    "Jonathan": ("Jon",),
    "Timothy": ("Tim",),
    "Gregory": ("Greg",),
    "Patrick": ("Pat", "Paddy"),
    "Peter": ("Pete",),
    "Alexander": ("Alex",),
    "Jeffrey": ("Jeff",),
    "Ronald": ("Ron", "Ronnie"),
    "Donald": ("Don",),
    "Douglas": ("Doug",),
    "Gerald": ("Gerry",),
    "Lawrence": ("Larry",),
    "Raymond": ("Ray",),
    "Frederick": ("Fred",),
    "Henry": ("Harry", "Hank"),
    "Philip": ("Phil",),
    "Phillip": ("Phil",),
    "Zachary": ("Zach",),
    "Nathan": ("Nate",),
    "Jacob": ("Jake",),
    "David": ("Dave",),
    "Walter": ("Walt",),
    "Terence": ("Terry",),
    "Vincent": ("Vince",),
    "Bradley": ("Brad",),
    # women
    "Elizabeth": ("Liz", "Beth", "Betty", "Lizzie"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cathy", "Kate"),
    "Margaret": ("Maggie", "Peggy", "Meg"),
    "Jennifer": ("Jen", "Jenny"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Susie"),
    "Deborah": ("Debbie", "Deb"),
    "Rebecca": ("Becky", "Becca"),
    "Victoria": ("Vicky", "Tori"),
    "Jessica": ("Jess",),
    "Samantha": ("Sam",),
    "Christine": ("Chris",),
    "Alexandra": ("Alex", "Sandra"),
    "Abigail": ("Abby",),
    "Kimberly": ("Kim",),
    "Amanda": ("Mandy",),
    "Stephanie": ("Steph",),
    "Jacqueline": ("Jackie",),
    "Pamela": ("Pam",),
    "Judith": ("Judy",),
    "Melissa": ("Mel",),
    "Valerie": ("Val",),
    "Angela": ("Angie",),
    "Frances": ("Fran",),
    "Cynthia": ("Cindy",),
}

# The strangers who share a name: a share of households is headed by one of these.
COMMON_NAMES = (
    ("James", "Smith", "M"),
    ("John", "Smith", "M"),
    ("David", "Jones", "M"),
    ("Michael", "Brown", "M"),
    ("Robert", "Williams", "M"),
    ("Mary", "Smith", "F"),
    ("Sarah", "Jones", "F"),
    ("Elizabeth", "Taylor", "F"),
    ("John", "Murphy", "M"),
    ("Jennifer", "Wilson", "F"),
)
COMMON_NAME_SHARE = 0.06

STREET_ROOTS = (
    "Church", "Mill", "Park", "High", "Station", "Victoria", "Oak", "Elm", "Maple",
    "King", "Queen", "George", "Albert", "Chapel", "School", "Green", "Manor", "North",
    "South", "West", "Bridge", "Cedar", "Willow", "Ash", "Beech", "Highfield", "Grange",
    "Orchard", "Meadow", "Riverside", "Hill", "Lake", "Forest", "Spring", "Main",
)  # fmt: skip
# Street suffix -> its usual abbreviation, with how often the suffix is used.
STREET_SUFFIXES = {
    "Street": ("St", 0.26),
    "Road": ("Rd", 0.24),
    "Avenue": ("Ave", 0.12),
    "Lane": ("Ln", 0.09),
    "Drive": ("Dr", 0.09),
    "Close": ("Cl", 0.05),
    "Crescent": ("Cres", 0.05),
    "Place": ("Pl", 0.04),
    "Court": ("Ct", 0.03),
    "Terrace": ("Tce", 0.03),
}
ABBREVIATED = {short: full for full, (short, _) in STREET_SUFFIXES.items()}

# Corruption -> weight when a duplicate's corruptions are drawn. A corruption
# that does not apply to the person (no nickname for the name, a day above 12,
# a man's married name) is not drawn; the groups below are exclusive.
CORRUPTIONS = {
    "nickname": 0.4,
    "surname_typo": 0.18,
    "street_abbreviation": 0.14,
    "missing_postcode": 0.12,
    "missing_dob": 0.09,
    "dob_digit_typo": 0.08,
    "dob_day_month_swap": 0.07,
    "missing_street": 0.06,
    "married_name": 0.05,
    "name_swap": 0.03,
}
EXCLUSIVE = (
    {"missing_dob", "dob_digit_typo", "dob_day_month_swap"},
    {"missing_street", "street_abbreviation"},
    {"surname_typo", "married_name"},
)
DUPLICATED_SHARE = 0.3
EXTRA_COPIES = {1: 0.7, 2: 0.22, 3: 0.08}
CORRUPTIONS_PER_COPY = {1: 0.5, 2: 0.35, 3: 0.15}

KEYBOARD_ROWS = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
LIFECYCLE_STAGES = ("subscriber", "lead", "customer", "customer", "customer", "other")


@dataclass(frozen=True)
class Person:
    person_id: str
    first: str
    last: str
    sex: str  # "F" or "M"
    dob: date
    street: str
    city: str
    postcode: str
    country: str
    locale: str


@dataclass(frozen=True)
class Contact:
    """One CRM row before its record id is given."""

    person_id: str
    first: str
    last: str
    dob: str
    street: str
    city: str
    postcode: str
    country: str


def _weighted(rng: random.Random, weights: dict):
    keys = list(weights)
    return rng.choices(keys, weights=[weights[k] for k in keys])[0]


def _random_date(rng: random.Random, start: date, end: date) -> date:
    return start + timedelta(days=rng.randrange((end - start).days + 1))


def _years_later(rng: random.Random, d: date, low: int, high: int) -> date:
    """A child's birth date, `low` to `high` years after a parent's (an adult by the export)."""
    latest = min(date(d.year + high, 12, 31), YOUNGEST_DOB)
    return _random_date(rng, date(d.year + low, 1, 1), latest)


# -- population ----------------------------------------------------------------


class _Population:
    """Builds people household by household until there are enough."""

    def __init__(self, rng: random.Random, seed: int) -> None:
        self.rng = rng
        self.fakers: dict[str, Faker] = {}
        for n, locale in enumerate(LOCALES):
            fake = Faker(locale)
            fake.seed_instance(seed * 100 + n)
            self.fakers[locale] = fake
        self.streets: dict[str, list[tuple[str, str, str]]] = {loc: [] for loc in LOCALES}
        self.numbers_used: dict[tuple[str, str, str], set[int]] = {}
        self.people: list[Person] = []
        self.kinds: Counter[str] = Counter()
        self.common_named = 0

    def first_name(
        self, locale: str, sex: str, avoid: set[str] | frozenset[str] = frozenset()
    ) -> str:
        fake = self.fakers[locale]
        for _ in range(20):
            name = fake.first_name_female() if sex == "F" else fake.first_name_male()
            if name not in avoid:
                return name
        return name

    def surname(self, locale: str) -> str:
        return self.fakers[locale].last_name()

    def address(self, locale: str) -> tuple[str, str, str]:
        """A house on a street: neighbours (about four households a street) share
        the street, town and postcode and differ by house number."""
        rng, streets = self.rng, self.streets[locale]
        if streets and rng.random() < 0.75:
            street = rng.choice(streets)
        else:
            fake = self.fakers[locale]
            root = rng.choice(STREET_ROOTS) if rng.random() < 0.6 else fake.last_name()
            suffix = _weighted(rng, {k: w for k, (_, w) in STREET_SUFFIXES.items()})
            if rng.random() < 0.12:  # some exports hold the abbreviation from the start
                suffix = STREET_SUFFIXES[suffix][0]
            street = (f"{root} {suffix}", fake.city(), fake.postcode())
            streets.append(street)
        used = self.numbers_used.setdefault(street, set())
        number = rng.randint(1, 240)
        while number in used:
            number = rng.randint(1, 240)
        used.add(number)
        return f"{number} {street[0]}", street[1], street[2]

    def add(self, locale, first, last, sex, dob, address) -> Person:
        person = Person(
            person_id=f"P{len(self.people) + 1:05d}",
            first=first,
            last=last,
            sex=sex,
            dob=dob,
            street=address[0],
            city=address[1],
            postcode=address[2],
            country=LOCALES[locale][0],
            locale=locale,
        )
        self.people.append(person)
        return person

    def household(self) -> None:
        rng = self.rng
        locale = _weighted(rng, {k: share for k, (_, share) in LOCALES.items()})
        kind = _weighted(
            rng, {"single": 0.46, "couple": 0.22, "family": 0.22, "twins": 0.05, "junior": 0.05}
        )
        self.kinds[kind] += 1
        home = self.address(locale)
        surname = self.surname(locale)
        sex = rng.choice("FM")
        if kind == "junior":
            sex = "M"
        first = self.first_name(locale, sex)
        if rng.random() < COMMON_NAME_SHARE:
            first, surname, sex = rng.choice(
                [n for n in COMMON_NAMES if kind != "junior" or n[2] == "M"]
            )
            self.common_named += 1
        if kind == "single":
            dob = _random_date(rng, date(1945, 1, 1), date(2005, 12, 31))
            self.add(locale, first, surname, sex, dob, home)
            return
        head_dob = _random_date(rng, date(1945, 1, 1), date(1978, 12, 31))
        head = self.add(locale, first, surname, sex, head_dob, home)
        names = {first}
        if kind == "couple" or rng.random() < 0.8:
            partner_sex = "F" if sex == "M" or rng.random() < 0.1 else "M"
            partner_last = surname if rng.random() < 0.85 else self.surname(locale)
            partner_first = self.first_name(locale, partner_sex, names)
            names.add(partner_first)
            partner_dob = _random_date(
                rng, head_dob - timedelta(days=6 * 365), head_dob + timedelta(days=6 * 365)
            )
            self.add(locale, partner_first, partner_last, partner_sex, partner_dob, home)
        if kind == "couple":
            return
        if kind == "junior":  # the son named after his father
            self.add(locale, head.first, surname, "M", _years_later(rng, head_dob, 24, 34), home)
        if kind == "twins":
            twins_dob = _years_later(rng, head_dob, 22, 36)
            for _ in range(2):
                twin_sex = rng.choice("FM")
                twin_first = self.first_name(locale, twin_sex, names)
                names.add(twin_first)
                self.add(locale, twin_first, surname, twin_sex, twins_dob, home)
        children = rng.choice((1, 1, 2, 2, 3)) if kind == "family" else rng.choice((0, 0, 1))
        for _ in range(children):
            child_sex = rng.choice("FM")
            child_first = self.first_name(locale, child_sex, names)
            names.add(child_first)
            child_dob = _years_later(rng, head_dob, 22, 38)
            self.add(locale, child_first, surname, child_sex, child_dob, home)


# -- corruption ----------------------------------------------------------------


def _neighbour_key(rng: random.Random, char: str) -> str:
    lower = char.lower()
    for row in KEYBOARD_ROWS:
        i = row.find(lower)
        if i >= 0:
            near = [row[j] for j in (i - 1, i + 1) if 0 <= j < len(row)]
            return rng.choice(near)
    return rng.choice("abcdefghijklmnopqrstuvwxyz")


def surname_typo(rng: random.Random, name: str) -> tuple[str, str]:
    """One keyboard slip in a surname: (typed name, kind of slip)."""
    if len(name) < 2:
        return name + "e", "insertion"
    for _ in range(50):
        kind = rng.choice(("substitution", "deletion", "insertion", "transposition"))
        # The first letter is rarely the one mistyped.
        i = rng.randrange(len(name)) if rng.random() < 0.1 else rng.randrange(1, len(name))
        if kind == "substitution" and name[i].isalpha():
            char = _neighbour_key(rng, name[i])
            typed = name[:i] + (char.upper() if name[i].isupper() else char) + name[i + 1 :]
        elif kind == "deletion" and len(name) > 3:
            typed = name[:i] + name[i + 1 :]
        elif kind == "insertion":
            char = _neighbour_key(rng, name[i]) if rng.random() < 0.5 else name[i].lower()
            typed = name[:i] + char + name[i:]
        elif kind == "transposition" and i + 1 < len(name):
            typed = name[:i] + name[i + 1] + name[i] + name[i + 2 :]
        else:
            continue
        typed = typed[0].upper() + typed[1:]
        if typed != name and typed.lower() != name.lower():
            return typed, kind
    return name + "e", "insertion"


def dob_digit_typo(rng: random.Random, dob: date) -> str:
    """One digit of the date mistyped, keeping it a real date before the export."""
    text = dob.isoformat()
    for _ in range(100):
        i = rng.choice((2, 3, 5, 6, 8, 9))  # not the century
        digit = str(rng.choice([d for d in range(10) if str(d) != text[i]]))
        typed = text[:i] + digit + text[i + 1 :]
        try:
            if date.fromisoformat(typed) <= YOUNGEST_DOB:
                return typed
        except ValueError:
            continue
    return text


def toggle_street_suffix(street: str) -> str:
    """`12 Mill Road` <-> `12 Mill Rd` (the last suffix word found)."""
    words = street.split(" ")
    for i in range(len(words) - 1, 0, -1):
        word = words[i].rstrip(".")
        if word in STREET_SUFFIXES:
            words[i] = STREET_SUFFIXES[word][0]
            return " ".join(words)
        if word in ABBREVIATED:
            words[i] = ABBREVIATED[word]
            return " ".join(words)
    return street


def _applicable(kind: str, person: Person) -> bool:
    if kind == "nickname":
        return person.first in NICKNAMES
    if kind == "dob_day_month_swap":
        return person.dob.day <= 12 and person.dob.day != person.dob.month
    if kind == "married_name":
        return person.sex == "F"
    if kind == "street_abbreviation":
        return toggle_street_suffix(person.street) != person.street
    return True


def _draw_corruptions(rng: random.Random, person: Person) -> list[str]:
    count = _weighted(rng, CORRUPTIONS_PER_COPY)
    chosen: list[str] = []
    for _ in range(count):
        blocked = set(chosen)
        for group in EXCLUSIVE:
            if blocked & group:
                blocked |= group
        options = {
            k: w for k, w in CORRUPTIONS.items() if k not in blocked and _applicable(k, person)
        }
        if not options:
            break
        chosen.append(_weighted(rng, options))
    return chosen


def _contact(person: Person) -> Contact:
    return Contact(
        person_id=person.person_id,
        first=person.first,
        last=person.last,
        dob=person.dob.isoformat(),
        street=person.street,
        city=person.city,
        postcode=person.postcode,
        country=person.country,
    )


def _corrupt(
    rng: random.Random, population: _Population, person: Person, kinds: list[str], tally: Counter
) -> Contact:
    copy = _contact(person)
    # Names first, then the swap of the boxes, so a swapped copy may carry a nickname.
    for kind in sorted(kinds, key=lambda k: k == "name_swap"):
        if kind == "nickname":
            copy = replace(copy, first=rng.choice(NICKNAMES[person.first]))
        elif kind == "surname_typo":
            typed, slip = surname_typo(rng, copy.last)
            copy = replace(copy, last=typed)
            tally[f"surname_typo:{slip}"] += 1
        elif kind == "married_name":
            married = population.surname(person.locale)
            while married == person.last:
                married = population.surname(person.locale)
            if rng.random() < 0.2:
                married = f"{person.last}-{married}"
            copy = replace(copy, last=married)
        elif kind == "name_swap":
            copy = replace(copy, first=copy.last, last=copy.first)
        elif kind == "dob_day_month_swap":
            d = person.dob
            copy = replace(copy, dob=f"{d.year:04d}-{d.day:02d}-{d.month:02d}")
        elif kind == "dob_digit_typo":
            copy = replace(copy, dob=dob_digit_typo(rng, person.dob))
        elif kind == "missing_dob":
            copy = replace(copy, dob="")
        elif kind == "missing_postcode":
            copy = replace(copy, postcode="")
        elif kind == "missing_street":
            copy = replace(copy, street="")
        elif kind == "street_abbreviation":
            copy = replace(copy, street=toggle_street_suffix(copy.street))
        tally[kind] += 1
    return copy


# -- writing -------------------------------------------------------------------


@dataclass
class Built:
    """What `build` made: the rows in file order and what they hold."""

    contacts: list[Contact]
    persons: int
    duplicated_persons: int
    households: Counter
    common_named: int
    corruptions: Counter
    corruptions_per_copy: Counter


def build(persons: int = 5000, seed: int = 11) -> Built:
    """The people, their records and duplicates, shuffled into file order."""
    rng = random.Random(seed)
    population = _Population(rng, seed)
    while len(population.people) < persons:
        population.household()
    people = population.people[:persons]
    contacts: list[Contact] = []
    tally: Counter[str] = Counter()
    per_copy: Counter[int] = Counter()
    duplicated = 0
    for person in people:
        contacts.append(_contact(person))
        if rng.random() >= DUPLICATED_SHARE:
            continue
        duplicated += 1
        for _ in range(_weighted(rng, EXTRA_COPIES)):
            kinds = _draw_corruptions(rng, person)
            per_copy[len(kinds)] += 1
            contacts.append(_corrupt(rng, population, person, kinds, tally))
    rng.shuffle(contacts)
    return Built(
        contacts=contacts,
        persons=len(people),
        duplicated_persons=duplicated,
        households=population.kinds,
        common_named=population.common_named,
        corruptions=tally,
        corruptions_per_copy=per_copy,
    )


def _timestamp(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")


def _write(out: Path, rows: list[dict], truth: list[tuple[str, str]]) -> Path:
    """`<out>/landing/crm_contacts/<DAY>.csv` and `<out>/ground_truth.csv`."""
    landing = out / "landing"
    _write_csv(landing, SOURCE, rows)
    _write_truth(out, [(SOURCE, record_id, person) for record_id, person in truth])
    return landing


def write_crm_dedupe(out: Path, persons: int = 5000, seed: int = 11) -> Path:
    """Landing files and ground truth for `persons` people; returns the landing folder."""
    return _write_built(Path(out), build(persons, seed), seed)


def _write_built(out: Path, built: Built, seed: int) -> Path:
    rng = random.Random(seed + 1)
    first_day = datetime(2019, 1, 1, tzinfo=UTC)
    export_day = datetime(2026, 8, 1, 8, 0, tzinfo=timezone(timedelta(hours=1)))
    history = int((export_day - first_day).total_seconds())
    rows, truth = [], []
    for n, contact in enumerate(built.contacts, start=1):
        record_id = str(5_100_000 + n)
        created = first_day + timedelta(seconds=rng.randrange(history))
        modified = export_day + timedelta(seconds=rng.randrange(10 * 3600))
        rows.append(
            {
                "Record ID": record_id,
                "First Name": contact.first,
                "Last Name": contact.last,
                "Street Address": contact.street,
                "City": contact.city,
                "Postal Code": contact.postcode,
                "Country/Region": contact.country,
                "Date of Birth": contact.dob,
                "Lifecycle Stage": rng.choice(LIFECYCLE_STAGES),
                "Create Date": _timestamp(created),
                "Last Modified Date": _timestamp(modified),
            }
        )
        truth.append((record_id, contact.person_id))
    return _write(out, rows, truth)


# -- the hand-made file ----------------------------------------------------------

# record id, true person, first name, last name, street, city, postcode, date of birth.
# Every row is in Britain; each pair differs only where its comment says.
HAND_MADE = (
    # Duplicates that must merge.
    # A nickname: Bob for Robert.
    ("101", "robert_harris", "Robert", "Harris", "12 Mill Lane", "Bristol", "BS1 4DJ", "1978-03-14"),
    ("102", "robert_harris", "Bob", "Harris", "12 Mill Lane", "Bristol", "BS1 4DJ", "1978-03-14"),
    # A surname typo: a letter dropped.
    ("103", "catherine_whitfield", "Catherine", "Whitfield", "7 Orchard Close", "Norwich", "NR2 3LP", "1983-10-29"),
    ("104", "catherine_whitfield", "Catherine", "Whitfeld", "7 Orchard Close", "Norwich", "NR2 3LP", "1983-10-29"),
    # Day and month of birth swapped (7 April typed as 4 July).
    ("105", "daniel_okafor", "Daniel", "Okafor", "48 Station Road", "Reading", "RG1 1JX", "1985-04-07"),
    ("106", "daniel_okafor", "Daniel", "Okafor", "48 Station Road", "Reading", "RG1 1JX", "1985-07-04"),
    # The postcode missing from the copy.
    ("107", "priya_raman", "Priya", "Raman", "3 Beech Avenue", "Leicester", "LE2 1TA", "1991-12-02"),
    ("108", "priya_raman", "Priya", "Raman", "3 Beech Avenue", "Leicester", "", "1991-12-02"),
    # The surname typed in the first-name box, the last-name box left empty.
    ("117", "olivia_grant", "Olivia", "Grant", "14 Park Terrace", "Cardiff", "CF10 3AT", "1975-01-30"),
    ("118", "olivia_grant", "Grant", "", "14 Park Terrace", "Cardiff", "CF10 3AT", "1975-01-30"),
    # Different people who must stay apart.
    # A household: one surname, street and postcode; different first names and birth dates.
    ("109", "mark_fletcher", "Mark", "Fletcher", "21 Church Street", "York", "YO1 7HH", "1969-11-23"),
    ("110", "helen_fletcher", "Helen", "Fletcher", "21 Church Street", "York", "YO1 7HH", "1972-05-08"),
    # Twins: one surname, address and birth date; different first names.
    ("111", "emily_bennett", "Emily", "Bennett", "9 Willow Drive", "Derby", "DE22 3FB", "1996-02-17"),
    ("112", "sophie_bennett", "Sophie", "Bennett", "9 Willow Drive", "Derby", "DE22 3FB", "1996-02-17"),
    # A senior and a junior: one name and address, born 30 years apart.
    ("113", "george_mason_senior", "George", "Mason", "5 Manor Road", "Bath", "BA2 4QN", "1957-06-02"),
    ("114", "george_mason_junior", "George", "Mason", "5 Manor Road", "Bath", "BA2 4QN", "1987-09-19"),
    # A senior and a junior with rare names (a family shares them however rare), one
    # postcode missing.
    ("119", "tadhg_quennell_senior", "Tadhg", "Quennell", "17 Rowan Way", "Hexham", "NE46 3PL", "1961-03-09"),
    ("120", "tadhg_quennell_junior", "Tadhg", "Quennell", "17 Rowan Way", "Hexham", "", "1990-08-21"),
    # Two strangers with a common name, in different towns with different birth dates.
    ("115", "james_smith_leeds", "James", "Smith", "66 Kirkstall Road", "Leeds", "LS3 1LH", "1971-08-30"),
    ("116", "james_smith_exeter", "James", "Smith", "2 Queen Street", "Exeter", "EX4 3SR", "1990-01-12"),
)  # fmt: skip


def hand_made_duplicates(out: Path) -> Path:
    """The rows of `HAND_MADE` as a CRM export with its ground truth; returns the landing folder."""
    rows, truth = [], []
    for record_id, person, first, last, street, city, postcode, dob in HAND_MADE:
        rows.append(
            {
                "Record ID": record_id,
                "First Name": first,
                "Last Name": last,
                "Street Address": street,
                "City": city,
                "Postal Code": postcode,
                "Country/Region": "GB",
                "Date of Birth": dob,
                "Lifecycle Stage": "customer",
                "Create Date": MODIFIED,
                "Last Modified Date": MODIFIED,
            }
        )
        truth.append((record_id, person))
    return _write(Path(out), rows, truth)


def _summary(built: Built) -> str:
    copies = len(built.contacts) - built.persons
    lines = [
        f"{len(built.contacts)} records of {built.persons} people; "
        f"{built.duplicated_persons} people ({built.duplicated_persons / built.persons:.0%}) "
        f"have {copies} extra copies ({copies / len(built.contacts):.0%} of records)",
        "households: " + ", ".join(f"{k} {v}" for k, v in sorted(built.households.items())),
        f"households headed by a common name: {built.common_named}",
        "corruptions per copy: "
        + ", ".join(f"{k}: {v}" for k, v in sorted(built.corruptions_per_copy.items())),
        "corruptions: "
        + ", ".join(f"{k} {v}" for k, v in built.corruptions.most_common() if ":" not in k),
        "surname typos: "
        + ", ".join(f"{k[13:]} {v}" for k, v in built.corruptions.most_common() if ":" in k),
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--out", type=Path, required=True, help="folder for landing/ and ground_truth.csv"
    )
    parser.add_argument("--persons", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=11)
    args = parser.parse_args(argv)
    built = build(args.persons, args.seed)
    landing = _write_built(args.out, built, args.seed)
    print(_summary(built))
    print(f"landing files in {landing}; truth in {args.out / 'ground_truth.csv'}")


if __name__ == "__main__":
    main()
