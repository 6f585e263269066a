"""SQL that turns each source's current records into standardised identity records.

`staging.identity_records` has one row per source record (one per
`anonymousId` for web events) with the fields matching needs, cleaned the
same way whatever the source: names folded to plain lower-case letters with
nicknames resolved, emails trimmed and lower-cased (plus a matching key that
folds gmail dots and +tags), phones in E.164, birth dates as dates,
postcodes, streets and countries in one spelling. Values on the configured
block lists become NULL: they are never evidence.
"""

from __future__ import annotations

import re

from cdp_platform.identity_config import IdentityConfig
from cdp_platform.sql_text import quoted
from cdp_platform.tables.identity import NICKNAMES
from cdp_platform.tables.sources import (
    CRM_CONTACTS,
    EMAIL_SUBSCRIBERS,
    SHOP_ORDERS,
    SUPPORT_TICKETS,
    WEB_EVENTS,
)

# The common shape every source is mapped to before standardising.
RAW_FIELDS = (
    "source",
    "source_record_id",
    "first_name",
    "last_name",
    "email",
    "phone",
    "street",
    "city",
    "postcode",
    "country",
    "dob_text",
    "user_id",
    "anonymous_id",
    "crm_record_id",
    "loyalty_card",
    "observed_at",
    "order_ids",  # web-shop orders the record is tied to (a list)
)

FIELD_TYPES = {"observed_at": "TIMESTAMPTZ", "order_ids": "VARCHAR[]"}

# One SELECT per person-bearing source, in the common shape.
SOURCE_SELECTS: dict[str, str] = {
    "crm_contacts": f"""
SELECT 'crm_contacts', source_record_id, first_name, last_name, email, phone_number,
       street_address, city, postal_code, country_region, date_of_birth, NULL, NULL,
       source_record_id, NULL, last_modified_date, NULL
FROM {CRM_CONTACTS}""",
    # An order's details sit on its first line item.
    "shop_orders": f"""
SELECT 'shop_orders', source_record_id,
       nullif(split_part(trim(billing_name), ' ', 1), ''),
       nullif(trim(substr(trim(billing_name), length(split_part(trim(billing_name), ' ', 1)) + 1)), ''),
       email, billing_phone, billing_street, billing_city, billing_zip, billing_country,
       NULL, NULL, NULL, NULL, NULL, created_at, [source_record_id]
FROM {SHOP_ORDERS}
QUALIFY row_number() OVER (PARTITION BY source_record_id ORDER BY _line) = 1""",
    # A browser is known by what it told us last; one that signed in to two
    # accounts (or, never signed in, gave two emails) is shared, a family
    # laptop, and is evidence for neither.
    "web_events": f"""
WITH browsers AS (
  SELECT source_record_id,
         count(DISTINCT user_id) > 1
           OR (count(user_id) = 0 AND count(DISTINCT lower(trim(trait_email))) > 1) AS shared,
         arg_max(trait_first_name, "timestamp") FILTER (WHERE trait_first_name IS NOT NULL) AS first_name,
         arg_max(trait_last_name, "timestamp") FILTER (WHERE trait_last_name IS NOT NULL) AS last_name,
         arg_max(trait_email, "timestamp") FILTER (WHERE trait_email IS NOT NULL) AS email,
         arg_max(trait_phone, "timestamp") FILTER (WHERE trait_phone IS NOT NULL) AS phone,
         arg_max(user_id, "timestamp") FILTER (WHERE user_id IS NOT NULL) AS user_id,
         max("timestamp") AS observed_at,
         list(DISTINCT (properties->>'order_id') ORDER BY (properties->>'order_id')) FILTER (
           WHERE event = 'Order Completed' AND (properties->>'order_id') IS NOT NULL
         ) AS order_ids
  FROM {WEB_EVENTS}
  GROUP BY source_record_id
)
SELECT 'web_events', source_record_id,
       CASE WHEN NOT shared THEN first_name END, CASE WHEN NOT shared THEN last_name END,
       CASE WHEN NOT shared THEN email END, CASE WHEN NOT shared THEN phone END,
       NULL, NULL, NULL, NULL, NULL, CASE WHEN NOT shared THEN user_id END,
       source_record_id, NULL, NULL, observed_at, CASE WHEN NOT shared THEN order_ids END
FROM browsers""",
    "support_tickets": f"""
SELECT 'support_tickets', source_record_id,
       nullif(split_part(trim(requester_name), ' ', 1), ''),
       nullif(trim(substr(trim(requester_name), length(split_part(trim(requester_name), ' ', 1)) + 1)), ''),
       requester_email, requester_phone, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
       updated_at, NULL
FROM {SUPPORT_TICKETS}""",
    "email_subscribers": f"""
SELECT 'email_subscribers', source_record_id, first_name, last_name, email_address,
       phone_number, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, last_changed, NULL
FROM {EMAIL_SUBSCRIBERS}""",
    "pos_loyalty": """
SELECT 'pos_loyalty', source_record_id, first_name, last_name, email, phone, street, city,
       postcode, 'GB', birth_date, NULL, NULL, NULL, source_record_id, updated_at, NULL
FROM sources.pos_loyalty""",
}

STREET_WORDS = {
    "st": "street",
    "rd": "road",
    "ave": "avenue",
    "av": "avenue",
    "ln": "lane",
    "dr": "drive",
    "cl": "close",
    "cres": "crescent",
    "gdns": "gardens",
    "pl": "place",
    "terr": "terrace",
    "ter": "terrace",
    "ct": "court",
    "sq": "square",
    "pk": "park",
}
COUNTRIES = {
    "gb": "GB",
    "uk": "GB",
    "united kingdom": "GB",
    "great britain": "GB",
    "england": "GB",
    "scotland": "GB",
    "wales": "GB",
    "northern ireland": "GB",
    "ie": "IE",
    "ireland": "IE",
    "us": "US",
    "usa": "US",
    "united states": "US",
    "de": "DE",
    "germany": "DE",
    "fr": "FR",
    "france": "FR",
}
GMAIL_DOMAINS = ("gmail.com", "googlemail.com")


def _list(values) -> str:
    return ", ".join(quoted(v) for v in values) or "NULL"


def name_sql(column: str, blocked: list[str], titles: list[str] = ()) -> str:
    """Lower case without accents or punctuation; NULL for a blocked name.
    Leading `titles` before a name are taken off; a title alone is kept, as
    the only thing typed in that box."""
    folded = (
        f"trim(regexp_replace(regexp_replace(lower(strip_accents(trim({column}))), "
        "'[^a-z'' -]+', ' ', 'g'), '\\s+', ' ', 'g'))"
    )
    if titles:
        pattern = "^((" + "|".join(re.escape(t) for t in titles) + ") )+"
        folded = f"trim(regexp_replace({folded}, {quoted(pattern)}, ''))"
    return f"CASE WHEN {folded} IN ('', {_list(blocked)}) THEN NULL ELSE {folded} END"


def email_sql(column: str, config: IdentityConfig) -> str:
    email = f"lower(trim({column}))"
    blocked = config.blocked
    return (
        f"CASE WHEN NOT regexp_full_match({email}, '[^@\\s]+@[^@\\s]+\\.[a-z]{{2,}}') "
        f"OR {email} IN ({_list(blocked.emails)}) "
        f"OR split_part({email}, '@', 1) IN ({_list(blocked.email_local_parts)}) "
        f"THEN NULL ELSE {email} END"
    )


def email_match_sql(email: str, domain_corrections: dict[str, str]) -> str:
    """Fold +tags everywhere, mistyped domains and dots at gmail, for matching only."""
    local = f"split_part(split_part({email}, '@', 1), '+', 1)"
    domain = f"split_part({email}, '@', 2)"
    if domain_corrections:
        cases = " ".join(
            f"WHEN {quoted(typo)} THEN {quoted(right)}"
            for typo, right in sorted(domain_corrections.items())
        )
        domain = f"CASE {domain} {cases} ELSE {domain} END"
    return (
        f"CASE WHEN {email} IS NULL THEN NULL "
        f"WHEN {domain} IN ({_list(GMAIL_DOMAINS)}) THEN replace({local}, '.', '') || '@gmail.com' "
        f"ELSE {local} || '@' || {domain} END"
    )


def street_sql(column: str) -> str:
    text = f"trim(regexp_replace(lower(strip_accents({column})), '[^a-z0-9 ]+', ' ', 'g'))"
    for short, full in STREET_WORDS.items():
        text = f"regexp_replace({text}, '\\b{short}\\b', '{full}', 'g')"
    return f"nullif(regexp_replace({text}, '\\s+', ' ', 'g'), '')"


def country_sql(column: str) -> str:
    key = f"lower(trim({column}))"
    cases = " ".join(f"WHEN {quoted(k)} THEN {quoted(v)}" for k, v in COUNTRIES.items())
    return f"CASE {key} {cases} ELSE nullif(upper(trim({column})), '') END"


def raw_union(sources: list[str]) -> str:
    """Every given source in the common shape; no rows when none is loaded yet."""
    if not sources:
        nulls = ", ".join(f"NULL::{FIELD_TYPES.get(f, 'VARCHAR')}" for f in RAW_FIELDS)
        return f"SELECT {nulls} WHERE FALSE"
    # Explicit types: a column that is NULL in every selected source would
    # otherwise come out as INTEGER.
    typed = ", ".join(f"{f}::{FIELD_TYPES.get(f, 'VARCHAR')}" for f in RAW_FIELDS)
    names = ", ".join(RAW_FIELDS)
    return "\nUNION ALL\n".join(
        f"SELECT {typed} FROM ({SOURCE_SELECTS[s]}) AS t({names})" for s in sources
    )


def identity_records_sql(config: IdentityConfig, sources: list[str], phones_table: str) -> str:
    """The standardised records of the given sources.

    `phones_table` maps each raw phone (`phone_text`) to its E.164 form (`e164`) and
    kind (`mobile`, `fixed` or NULL); it is computed in Python with libphonenumber on
    the distinct values.
    """
    union = raw_union(sources)
    blocked_phones = _list(config.blocked.phones)
    return f"""
WITH raw ({", ".join(RAW_FIELDS)}) AS (
{union}
), clean AS (
  SELECT
    source, source_record_id,
    {name_sql("first_name", config.blocked.names, config.blocked.titles)} AS first_name,
    {name_sql("last_name", config.blocked.names)} AS last_name,
    {email_sql("email", config)} AS email,
    CASE WHEN regexp_replace(coalesce(phone, ''), '[^0-9]', '', 'g') IN ({blocked_phones})
           OR replace(p.e164, '+', '') IN ({blocked_phones}) THEN NULL ELSE p.e164 END AS phone,
    p.kind AS phone_kind,
    {street_sql("street")} AS street,
    nullif(lower(trim(city)), '') AS city,
    nullif(upper(regexp_replace(postcode, '[^A-Za-z0-9]', '', 'g')), '') AS postcode,
    {country_sql("country")} AS country,
    coalesce(try_strptime(trim(dob_text), '%Y-%m-%d'), try_strptime(trim(dob_text), '%d/%m/%Y'))::DATE AS dob,
    nullif(trim(user_id), '') AS user_id,
    anonymous_id, crm_record_id, loyalty_card,
    observed_at, order_ids
  FROM raw LEFT JOIN {phones_table} p ON p.phone_text = raw.phone
)
SELECT
  clean.* EXCLUDE (dob, phone_kind),
  CASE WHEN clean.phone IS NOT NULL THEN phone_kind END AS phone_kind,
  -- Any past date is a birth date (registers hold people born centuries ago);
  -- 1900-01-01 and 0001-01-01 are what systems write for "unknown".
  CASE WHEN dob <= current_date AND dob NOT IN (DATE '1900-01-01', DATE '0001-01-01') THEN dob END AS dob,
  coalesce(nick.canonical, split_part(first_name, ' ', 1)) AS first_name_canonical,
  {email_match_sql("email", config.email_domain_corrections)} AS email_match
FROM clean LEFT JOIN {NICKNAMES} nick ON nick.name = split_part(clean.first_name, ' ', 1)
"""
