"""The true population: people, their households, companies and life events.

Every person has one true identity; the sources only ever see noisy views of
it (see `sources.py`). Households share an address and sometimes a landline
or an email address; twins share a surname, birthday and address; some people
move house or change surname during the period.
"""

from __future__ import annotations

import random
import string
from dataclasses import dataclass, field
from datetime import date, timedelta

from cdp_platform.demo.messy import email_local, uk_landline, uk_mobile
from cdp_platform.demo.pools import ACCENTED, ACCENTED_SURNAMES, FREE_MAIL, Pools

# Non-UK customers: country, international dialling code, phone length.
ABROAD = (("IE", "353", 9), ("US", "1", 10), ("DE", "49", 10), ("FR", "33", 9))


@dataclass
class Address:
    number: int
    street: str
    town: str
    postcode: str
    country: str
    flat: int | None = None

    def line(self) -> str:
        prefix = f"Flat {self.flat}, " if self.flat else ""
        return f"{prefix}{self.number} {self.street}"


@dataclass
class Company:
    company_id: str
    name: str
    domains: list[str]
    industry: str
    employees: int
    revenue: float
    created_day: int


@dataclass
class Person:
    pid: str
    sex: str
    first: str
    last: str
    dob: date | None
    country: str
    phone_code: str
    mobile: str  # national format (UK: 07...), or subscriber digits abroad
    email: str
    address: Address
    household: int
    landline: str | None = None
    household_email: str | None = None
    work_email: str | None = None
    company: Company | None = None
    job_title: str | None = None
    account_id: str | None = None  # web shop account (Segment userId)
    twin_of: str | None = None
    # Life events during the period: (day index, new value).
    new_surname: tuple[int, str] | None = None
    new_address: tuple[int, Address] | None = None
    extra: dict = field(default_factory=dict)

    def surname_on(self, day: int) -> str:
        if self.new_surname and day >= self.new_surname[0]:
            return self.new_surname[1]
        return self.last

    def address_on(self, day: int) -> Address:
        if self.new_address and day >= self.new_address[0]:
            return self.new_address[1]
        return self.address


def _postcode(rng: random.Random, area: str) -> str:
    return f"{area} {rng.randrange(1, 10)}{rng.choice(string.ascii_uppercase)}{rng.choice(string.ascii_uppercase)}"


def _address(rng: random.Random, pools: Pools, country: str) -> Address:
    town, area = rng.choice(pools.towns)
    if country == "GB":
        postcode = _postcode(rng, area)
    elif country == "US":
        postcode = str(rng.randrange(10_000, 99_999))
    elif country == "IE":
        postcode = f"D{rng.randrange(1, 24):02d} {rng.choice(string.ascii_uppercase)}{rng.randrange(100, 999)}"
    else:
        postcode = str(rng.randrange(10_000, 99_999))
    flat = rng.randrange(1, 30) if rng.random() < 0.15 else None
    return Address(rng.randrange(1, 250), rng.choice(pools.streets), town, postcode, country, flat)


def _dob(rng: random.Random, start: date) -> date:
    return start - timedelta(days=rng.randrange(18 * 365, 85 * 365))


def _phone(rng: random.Random, country: str, length: int) -> str:
    if country == "GB":
        return uk_mobile(rng)
    first = str(rng.randrange(2, 9))
    return first + "".join(rng.choice(string.digits) for _ in range(length - 1))


def _companies(rng: random.Random, pools: Pools, count: int, days: int) -> list[Company]:
    companies = []
    taken: set[str] = set()
    for n in range(count):
        name = pools.companies[n % len(pools.companies)]
        # A domain names one company: "Shaw Ltd" is shaw.co.uk, a second Shaw firm
        # spells out its whole name, and a third is numbered.
        slug = "".join(c for c in name.lower().split()[0] if c.isalnum()) or f"co{n}"
        if slug in taken:
            slug = "".join(c for c in name.lower() if c.isalnum())
        if slug in taken:
            slug = f"{slug}{n}"
        taken.add(slug)
        domains = [f"{slug}.co.uk"]
        if rng.random() < 0.35:  # groups that run several domains
            domains += rng.sample(
                [f"{slug}.com", f"{slug}group.com", f"{slug}-uk.com"], k=rng.randrange(1, 3)
            )
        companies.append(
            Company(
                company_id=str(7_000_000 + n),
                name=name,
                domains=domains,
                industry=rng.choice(
                    ("Retail", "Software", "Manufacturing", "Finance", "Healthcare", "Logistics")
                ),
                employees=rng.choice((8, 25, 60, 120, 250, 800, 2500)),
                revenue=round(rng.uniform(0.2, 80) * 1_000_000, 2),
                created_day=rng.randrange(0, max(1, days // 3)),
            )
        )
    return companies


class Mailboxes:
    """Hands out addresses no one else holds: a mailbox belongs to one person.

    Common names collide (two Sarah Joneses both want sjones@gmail.com), and
    real providers make the second one add digits; so do we.
    """

    def __init__(self, rng: random.Random):
        self.rng = rng
        self.taken: set[str] = set()

    def claim(self, local: str, domain: str) -> str:
        address = f"{local}@{domain}"
        while address in self.taken:
            address = f"{local}{self.rng.randrange(10, 9999)}@{domain}"
        self.taken.add(address)
        return address


def build_population(
    rng: random.Random, pools: Pools, persons: int, start: date, days: int
) -> tuple[list[Person], list[Company]]:
    companies = _companies(rng, pools, max(3, persons // 60), days)
    people: list[Person] = []
    mailboxes = Mailboxes(rng)
    household = 0
    while len(people) < persons:
        household += 1
        size = rng.choices((1, 2, 3, 4), weights=(55, 30, 10, 5))[0]
        size = min(size, persons - len(people))
        abroad = rng.random() < 0.12
        country, code, length = rng.choice(ABROAD) if abroad else ("GB", "44", 11)
        home = _address(rng, pools, country)
        surname = rng.choice(ACCENTED_SURNAMES) if rng.random() < 0.01 else pools.surnames.pick(rng)
        landline = uk_landline(rng) if country == "GB" and size > 1 and rng.random() < 0.4 else None
        members: list[Person] = []
        for m in range(size):
            sex = rng.choice("FM")
            first = (pools.female_first if sex == "F" else pools.male_first).pick(rng)
            if rng.random() < 0.01:
                first = rng.choice(ACCENTED)
            last = surname if m < 2 or rng.random() < 0.9 else pools.surnames.pick(rng)
            dob = _dob(rng, start) if rng.random() < 0.97 else None
            if m >= 2 and members and members[0].dob:  # a child of the first member
                dob = members[0].dob + timedelta(days=rng.randrange(20 * 365, 35 * 365))
                if dob > start - timedelta(days=16 * 365):
                    dob = start - timedelta(days=rng.randrange(16 * 365, 19 * 365))
            pid = f"P{len(people) + 1:07d}"
            person = Person(
                pid=pid,
                sex=sex,
                first=first,
                last=last,
                dob=dob,
                country=country,
                phone_code=code,
                mobile=_phone(rng, country, length),
                email=mailboxes.claim(email_local(rng, first, last), rng.choice(FREE_MAIL)),
                address=home,
                household=household,
                landline=landline,
            )
            members.append(person)
            people.append(person)
        _household_events(rng, pools, members, companies, days, mailboxes)
    return people, companies


def _household_events(
    rng: random.Random,
    pools: Pools,
    members: list[Person],
    companies: list[Company],
    days: int,
    mailboxes: Mailboxes,
) -> None:
    if len(members) >= 2:
        if rng.random() < 0.04:  # twins: same surname, birthday and address
            twin = members[1]
            twin.last = members[0].last
            twin.dob = members[0].dob
            twin.twin_of = members[0].pid
        if rng.random() < 0.3:  # a couple sharing one email address
            surname = members[0].last.lower().replace(" ", "")
            shared = mailboxes.claim(f"the{surname}", rng.choice(("gmail.com", "btinternet.com")))
            for member in members[:2]:
                member.household_email = shared
    for person in members:
        if person.sex == "F" and rng.random() < 0.03 and days > 4:
            new_last = pools.surnames.pick(rng)
            if new_last != person.last:
                person.new_surname = (rng.randrange(days // 4, days), new_last)
        if rng.random() < 0.05 and days > 4:
            person.new_address = (
                rng.randrange(days // 4, days),
                _address(rng, pools, person.country),
            )
        if rng.random() < 0.07:
            company = rng.choice(companies)
            person.company = company
            domain = rng.choice(company.domains)
            person.work_email = mailboxes.claim(email_local(rng, person.first, person.last), domain)
            person.job_title = rng.choice(
                (
                    "Head of Marketing",
                    "CRM Manager",
                    "Buyer",
                    "Office Manager",
                    "Data Analyst",
                    "Operations Director",
                    "CEO",
                    "Finance Manager",
                )
            )
