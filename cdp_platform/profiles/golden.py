"""Golden profiles: one row per person, values chosen by survivorship.

Candidates are the standardised identity records with their person; values
are shown in display form (names, streets and towns in title case, UK
postcodes with their space). Beside the chosen email and phone, every
distinct email and phone the person's records carry is kept (`emails`,
`phones`). Writes `profiles.golden_profiles` and `profiles.profile_provenance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cdp_platform.profiles.config import ProfilesConfig
from cdp_platform.profiles.survivorship import golden_sql, provenance_sql

GOLDEN_TABLE = "profiles.golden_profiles"
PROVENANCE_TABLE = "profiles.profile_provenance"
CANDIDATES = "_profile_candidates"


def title_sql(column: str) -> str:
    """`mary-jane o'neil` -> `Mary-Jane O'neil`: each word and hyphenated part capitalised."""
    part = "p -> upper(p[1]) || p[2:]"
    word = f"w -> array_to_string(list_transform(string_split(w, '-'), {part}), '-')"
    return f"array_to_string(list_transform(string_split({column}, ' '), {word}), ' ')"


def postcode_sql(postcode: str, country: str) -> str:
    """UK postcodes get their space back (`SW1A1AA` -> `SW1A 1AA`)."""
    return (
        f"CASE WHEN coalesce({country}, 'GB') = 'GB' AND length({postcode}) BETWEEN 5 AND 7 "
        f"THEN left({postcode}, length({postcode}) - 3) || ' ' || right({postcode}, 3) "
        f"ELSE {postcode} END"
    )


CANDIDATES_SQL = f"""
SELECT m.person_id, r.source, r.source_record_id, r.observed_at,
       {title_sql("r.first_name")} AS first_name, {title_sql("r.last_name")} AS last_name,
       r.email, r.phone, {title_sql("r.street")} AS street, {title_sql("r.city")} AS city,
       {postcode_sql("r.postcode", "r.country")} AS postcode, r.country, r.dob
FROM staging.identity_records r
JOIN identity.person_id_map m USING (source, source_record_id)
"""


@dataclass(frozen=True)
class GoldenSummary:
    persons: int
    filled: dict[str, float]  # attribute -> share of persons with a value


def build_golden_profiles(conn: duckdb.DuckDBPyConnection, config: ProfilesConfig) -> GoldenSummary:
    rules = config.survivorship
    conn.execute("CREATE SCHEMA IF NOT EXISTS profiles")
    conn.execute(f"CREATE OR REPLACE TEMP TABLE {CANDIDATES} AS {CANDIDATES_SQL}")
    conn.execute(
        f"""CREATE OR REPLACE TABLE {GOLDEN_TABLE} AS
        WITH chosen AS ({golden_sql(rules, CANDIDATES)}),
        contacts AS (
          SELECT person_id,
                 list_sort(list_distinct(list(email))) AS emails,
                 list_sort(list_distinct(list(phone))) AS phones,
                 list_sort(list_distinct(list(source))) AS sources,
                 count(*) AS records
          FROM {CANDIDATES} GROUP BY person_id
        )
        SELECT chosen.*, contacts.* EXCLUDE (person_id)
        FROM chosen JOIN contacts USING (person_id)
        ORDER BY person_id"""
    )
    conn.execute(
        f"CREATE OR REPLACE TABLE {PROVENANCE_TABLE} AS "
        f"SELECT * FROM ({provenance_sql(rules, CANDIDATES)}) ORDER BY person_id, attribute"
    )
    attributes = rules.attributes
    counts = conn.execute(
        f"SELECT count(*), {', '.join(f'count({a})' for a in attributes)} FROM {GOLDEN_TABLE}"
    ).fetchone()
    persons = counts[0]
    filled = {
        a: (n / persons if persons else 0.0) for a, n in zip(attributes, counts[1:], strict=True)
    }
    return GoldenSummary(persons, filled)
