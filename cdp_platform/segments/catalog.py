"""What segment conditions may name: person and account columns with their types,
activities and consent purposes, all read from the profiles configuration."""

from __future__ import annotations

from dataclasses import dataclass

from cdp_platform.profiles.activity import ACTIVITIES
from cdp_platform.profiles.config import ProfilesConfig
from cdp_platform.profiles.consent import PURPOSES
from cdp_platform.profiles.traits import trait_type

# Columns of a person besides the declared traits: profile, scores, lead score.
PERSON_COLUMNS = {
    "person_id": "text",
    "first_name": "text",
    "last_name": "text",
    "email": "text",
    "phone": "text",
    "street": "text",
    "city": "text",
    "postcode": "text",
    "country": "text",
    "dob": "date",
    "sources": "list",
    "records": "integer",
    "churn_probability": "number",
    "churn_risk": "text",
    "predicted_value": "number",
    "lead_score": "integer",
    "account_id": "text",
}
ACCOUNT_COLUMNS = {
    "name": "text",
    "domain": "text",
    "industry": "text",
    "employees": "integer",
    "annual_revenue": "number",
    "country": "text",
    "lead_score": "integer",
    "best_contact_score": "integer",
}


@dataclass(frozen=True)
class Catalog:
    person: dict[str, str]
    account: dict[str, str]
    activities: tuple[str, ...]
    purposes: tuple[str, ...]


def build_catalog(profiles: ProfilesConfig) -> Catalog:
    person = dict(PERSON_COLUMNS)
    for trait in profiles.traits:
        person[trait.name] = trait_type(trait)
    account = dict(ACCOUNT_COLUMNS)
    for trait in profiles.accounts.traits:
        account[trait.name] = trait.type or "any"
    return Catalog(person, account, tuple(ACTIVITIES), tuple(PURPOSES))
