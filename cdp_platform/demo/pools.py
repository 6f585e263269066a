"""Value pools the generator samples from: names, streets, towns, companies.

Faker builds the pools once per seed (calling it per record would be far too
slow); sampling from the pools is plain `random`. Name pools are weighted so
that a few names are very common, as in real populations, which makes
different people with the same name (hard negatives) frequent.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from itertools import accumulate

from faker import Faker

# Formal first name -> informal variants seen across sources.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "Robert": ("Bob", "Rob", "Bobby"),
    "William": ("Bill", "Will", "Billy"),
    "Elizabeth": ("Liz", "Beth", "Lizzie"),
    "Katherine": ("Kate", "Kathy", "Katie"),
    "Catherine": ("Cath", "Kate", "Cathy"),
    "Margaret": ("Maggie", "Meg", "Peggy"),
    "Richard": ("Rick", "Dick", "Richie"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mick", "Mikey"),
    "Thomas": ("Tom", "Tommy"),
    "Christopher": ("Chris",),
    "Christine": ("Chris", "Chrissie"),
    "Jennifer": ("Jen", "Jenny"),
    "Rebecca": ("Becky", "Becca"),
    "Samuel": ("Sam",),
    "Samantha": ("Sam", "Sammy"),
    "Alexander": ("Alex", "Sandy"),
    "Alexandra": ("Alex", "Lexi"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Andrew": ("Andy", "Drew"),
    "Anthony": ("Tony",),
    "Benjamin": ("Ben", "Benji"),
    "Charles": ("Charlie", "Chuck"),
    "Edward": ("Ed", "Eddie", "Ted"),
    "Frederick": ("Fred", "Freddie"),
    "Joseph": ("Joe", "Joey"),
    "Jonathan": ("Jon", "Johnny"),
    "Nicholas": ("Nick", "Nicky"),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Peter": ("Pete",),
    "Stephen": ("Steve",),
    "Steven": ("Steve",),
    "Susan": ("Sue", "Suzie"),
    "Victoria": ("Vicky", "Tori"),
    "Deborah": ("Debbie", "Deb"),
    "Jessica": ("Jess", "Jessie"),
    "Timothy": ("Tim", "Timmy"),
    "Gregory": ("Greg",),
    "Abigail": ("Abby", "Abi"),
    "Eleanor": ("Ellie", "Nell"),
    "Harriet": ("Hattie",),
    "Josephine": ("Jo", "Josie"),
    "Kimberly": ("Kim",),
    "Lawrence": ("Larry", "Laurie"),
    "Nathaniel": ("Nate", "Nat"),
    "Oliver": ("Ollie",),
    "Philip": ("Phil",),
    "Raymond": ("Ray",),
    "Ronald": ("Ron", "Ronnie"),
}

# First names with accents whose ASCII form appears in other systems.
ACCENTED = ("José", "Zoë", "Chloë", "Renée", "Noël", "Siân", "Seán", "Anaïs", "Bríd", "Éamon")
ACCENTED_SURNAMES = ("Müller", "García", "Núñez", "Böhm", "Ó Briain", "Pérez", "Løvaas", "Gómez")

FREE_MAIL = (
    "gmail.com",
    "gmail.com",
    "gmail.com",
    "hotmail.co.uk",
    "yahoo.co.uk",
    "outlook.com",
    "icloud.com",
    "btinternet.com",
    "hotmail.com",
    "live.co.uk",
)
DOMAIN_TYPOS = {
    "gmail.com": "gmial.com",
    "hotmail.co.uk": "hotmial.co.uk",
    "yahoo.co.uk": "yaho.co.uk",
    "outlook.com": "outlok.com",
}

PLACEHOLDER_EMAILS = ("test@test.com", "noemail@example.com", "n/a", "none@none.com", "a@a.com")
PLACEHOLDER_PHONES = ("0000000000", "n/a", "1234567890", "00000 000000")
SHOP_DEFAULT_PHONE = "+44 20 7946 0000"

STREET_SUFFIXES = {
    "Street": "St",
    "Road": "Rd",
    "Avenue": "Ave",
    "Lane": "Ln",
    "Drive": "Dr",
    "Close": "Cl",
    "Crescent": "Cres",
    "Gardens": "Gdns",
    "Place": "Pl",
    "Terrace": "Terr",
    "Way": "Way",
    "Court": "Ct",
}

INDUSTRIES = (
    "Retail",
    "Software",
    "Manufacturing",
    "Finance",
    "Healthcare",
    "Logistics",
    "Hospitality",
    "Education",
    "Media",
    "Construction",
)
JOB_TITLES = (
    "Head of Marketing",
    "CRM Manager",
    "Buyer",
    "Procurement Lead",
    "Office Manager",
    "Operations Director",
    "Data Analyst",
    "CEO",
    "Store Manager",
    "Finance Manager",
)
PRODUCTS = (
    ("MUG-BLU", "Mug, blue", 12.0),
    ("MUG-RED", "Mug, red", 12.0),
    ("TEE-S", "T-shirt S", 18.0),
    ("TEE-M", "T-shirt M", 18.0),
    ("TEE-L", "T-shirt L", 18.0),
    ("HOOD-M", "Hoodie M", 45.0),
    ("CAP-01", "Cap", 15.0),
    ("BAG-TOTE", "Tote bag", 9.5),
    ("BTL-STEEL", "Steel bottle", 22.0),
    ("NB-A5", "Notebook A5", 7.5),
    ("SCARF-W", "Wool scarf", 29.0),
    ("SOCK-3", "Socks, 3 pack", 11.0),
)
STORES = ("S01", "S02", "S03", "S04", "S05", "S06", "S07", "S08")
CAMPAIGNS = (
    ("newsletter", "email", "weekly"),
    ("google", "cpc", "brand"),
    ("facebook", "paid_social", "autumn_sale"),
    ("instagram", "paid_social", "new_in"),
    ("bing", "cpc", "generic"),
)
PAGES = (
    "/",
    "/new-in",
    "/sale",
    "/mugs",
    "/clothing",
    "/bags",
    "/about",
    "/contact",
    "/account",
    "/basket",
)
USER_AGENTS = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64)",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5)",
    "Mozilla/5.0 (Linux; Android 15; Pixel 9)",
)


@dataclass
class WeightedPool:
    values: list[str]
    cumulative: list[float]

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.values, cum_weights=self.cumulative, k=1)[0]


def _zipf_pool(values: list[str], exponent: float = 1.0) -> WeightedPool:
    weights = [1.0 / (rank + 1) ** exponent for rank in range(len(values))]
    return WeightedPool(values, list(accumulate(weights)))


@dataclass
class Pools:
    female_first: WeightedPool
    male_first: WeightedPool
    surnames: WeightedPool
    streets: list[str]
    towns: list[tuple[str, str]]  # (town, postcode area)
    companies: list[str]


def _unique(make, count: int, attempts: int = 20) -> list[str]:
    seen: dict[str, None] = {}
    for _ in range(count * attempts):
        seen.setdefault(make(), None)
        if len(seen) >= count:
            break
    return list(seen)


def build_pools(seed: int) -> Pools:
    fake = Faker("en_GB")
    fake.seed_instance(seed)
    female = _unique(fake.first_name_female, 350)
    male = _unique(fake.first_name_male, 350)
    # Formal names with nicknames are common, so variants occur often.
    formal = list(NICKNAMES)
    female = [
        n
        for n in formal
        if n
        in {
            "Elizabeth",
            "Katherine",
            "Catherine",
            "Margaret",
            "Jennifer",
            "Rebecca",
            "Samantha",
            "Alexandra",
            "Patricia",
            "Susan",
            "Victoria",
            "Deborah",
            "Jessica",
            "Abigail",
            "Eleanor",
            "Harriet",
            "Josephine",
            "Kimberly",
            "Christine",
        }
    ] + [n for n in female if n not in formal]
    male = [n for n in formal if n not in female] + [n for n in male if n not in formal]
    surnames = ["Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson"]
    surnames += [s for s in _unique(fake.last_name, 2500) if s not in surnames]
    streets = _unique(fake.street_name, 1200)
    towns = [(fake.city(), fake.postcode().split()[0]) for _ in range(300)]
    companies = _unique(lambda: fake.company().replace(",", ""), 2000)
    return Pools(
        female_first=_zipf_pool(female, 0.9),
        male_first=_zipf_pool(male, 0.9),
        surnames=_zipf_pool(surnames, 0.8),
        streets=streets,
        towns=towns,
        companies=companies,
    )
