"""Golden profiles: one row per person, values chosen by survivorship.

Candidates are the standardised identity records with their person; values
are shown in display form (names, streets and towns in title case, UK
postcodes with their space). Beside the chosen email and phone, every
distinct email and phone the person's records carry is kept (`emails`,
`phones`). A data team pins a value in `profiles.steward_overrides`; a pin
beats survivorship on every run and follows its person through merges (an
id merged away hands its pins to the id that carries on). Writes
`profiles.golden_profiles` and `profiles.profile_provenance`.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb

from cdp_platform.profiles.config import ProfilesConfig
from cdp_platform.profiles.survivorship import golden_sql, provenance_sql
from cdp_platform.tables.identity import IDENTITY_RECORDS, PERSON_ID_MAP, PERSONS
from cdp_platform.tables.profiles import GOLDEN_PROFILES, PROFILE_PROVENANCE

GOLDEN_TABLE = GOLDEN_PROFILES
OVERRIDES_TABLE = "profiles.steward_overrides"
PROVENANCE_TABLE = PROFILE_PROVENANCE
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
       r.email::VARCHAR AS email, r.phone::VARCHAR AS phone, {title_sql("r.street")} AS street, {title_sql("r.city")} AS city,
       {postcode_sql("r.postcode", "r.country")} AS postcode, r.country, r.dob
FROM {IDENTITY_RECORDS} r
JOIN {PERSON_ID_MAP} m USING (source, source_record_id)
"""


@dataclass(frozen=True)
class GoldenSummary:
    persons: int
    filled: dict[str, float]  # attribute -> share of persons with a value
    pinned: int  # values set by a steward override


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
    pinned = apply_overrides(
        conn, {a: name for name, group in rules.groups.items() for a in group.attributes}
    )
    attributes = rules.attributes
    counts = conn.execute(
        f"SELECT count(*), {', '.join(f'count({a})' for a in attributes)} FROM {GOLDEN_TABLE}"
    ).fetchone()
    persons = counts[0]
    filled = {
        a: (n / persons if persons else 0.0) for a, n in zip(attributes, counts[1:], strict=True)
    }
    return GoldenSummary(persons, filled, pinned)


def ensure_overrides_table(conn: duckdb.DuckDBPyConnection) -> None:
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {OVERRIDES_TABLE} (
            person_id VARCHAR NOT NULL, attribute VARCHAR NOT NULL, value VARCHAR,
            reason VARCHAR, pinned_by VARCHAR, pinned_at TIMESTAMPTZ DEFAULT now())"""
    )


# Each pin's person as of now: follow `merged_into` from the id it was set on.
CURRENT_PINS_SQL = f"""
WITH RECURSIVE chain (pin, person_id, depth) AS (
  SELECT rowid, person_id, 0 FROM {OVERRIDES_TABLE}
  UNION ALL
  SELECT c.pin, p.merged_into, c.depth + 1
  FROM chain c JOIN {PERSONS} p ON p.person_id = c.person_id
  WHERE p.status = 'merged' AND p.merged_into IS NOT NULL AND c.depth < 100
), current AS (
  SELECT pin, arg_max(person_id, depth) AS person_id FROM chain GROUP BY pin
)
SELECT c.person_id, o.attribute,
       arg_max(o.value, o.pinned_at) AS value, max(o.pinned_at) AS pinned_at
FROM {OVERRIDES_TABLE} o JOIN current c ON c.pin = o.rowid
GROUP BY ALL
"""


def apply_overrides(conn: duckdb.DuckDBPyConnection, groups: dict[str, str]) -> int:
    """Overwrite pinned values in the profiles and their provenance; returns how many.

    `groups`: attribute -> its survivorship group. Pins of other attributes,
    or of persons no longer present (erased), are kept but not applied."""
    attributes = list(groups)
    ensure_overrides_table(conn)
    conn.execute(
        f"CREATE OR REPLACE TEMP TABLE _pins AS SELECT * FROM ({CURRENT_PINS_SQL}) "
        f"WHERE attribute IN ({', '.join(repr(a) for a in attributes)}) "
        f"AND person_id IN (SELECT person_id FROM {GOLDEN_TABLE})"
    )
    types = dict(
        conn.execute(f"SELECT column_name, column_type FROM (DESCRIBE {GOLDEN_TABLE})").fetchall()
    )
    for attribute in attributes:
        conn.execute(
            f"""UPDATE {GOLDEN_TABLE} g SET {attribute} = CAST(p.value AS {types[attribute]})
            FROM _pins p WHERE p.person_id = g.person_id AND p.attribute = '{attribute}'"""
        )
    conn.execute(
        f"""DELETE FROM {PROVENANCE_TABLE} v USING _pins p
        WHERE v.person_id = p.person_id AND v.attribute = p.attribute"""
    )
    group_case = (
        "CASE attribute " + " ".join(f"WHEN '{a}' THEN '{g}'" for a, g in groups.items()) + " END"
    )
    conn.execute(
        f"""INSERT INTO {PROVENANCE_TABLE} BY NAME
        SELECT person_id, attribute, {group_case} AS attribute_group, value,
               'steward' AS source, NULL AS source_record_id,
               pinned_at AS observed_at, 'pinned' AS rule
        FROM _pins"""
    )
    return conn.execute("SELECT count(*) FROM _pins").fetchone()[0]
