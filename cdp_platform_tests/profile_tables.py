"""Hand-made profile tables: what segments and syncs read, for persons p0, p1, ..."""

from __future__ import annotations

import duckdb

from cdp_platform.resources.warehouse import create_declared_tables


def seed_profiles(
    conn: duckdb.DuckDBPyConnection, persons: int, country: str = "'GB'", orders: str = "0"
) -> None:
    """golden_profiles, customer_traits, customer_scores and lead_scores for persons
    `p0`..`p<n-1>` (named `Name<i>`, emailed `n<i>@example.org`); `country` and `orders`
    are SQL over `i` (the person's number)."""
    create_declared_tables(conn)
    conn.execute(
        f"""INSERT INTO profiles.golden_profiles BY NAME SELECT 'p' || i AS person_id,
              'Name' || i AS first_name, 'n' || i || '@example.org' AS email,
              {country} AS country, []::VARCHAR[] AS emails, []::VARCHAR[] AS phones
            FROM range({persons}) r(i)"""
    )
    conn.execute(
        f"""CREATE TABLE profiles.customer_traits AS SELECT 'p' || i AS person_id,
              NULL::DATE AS as_of, {orders} AS orders FROM range({persons}) r(i)"""
    )
    conn.execute(
        "INSERT INTO profiles.customer_scores BY NAME SELECT person_id, NULL::DOUBLE AS "
        "churn_probability, NULL::VARCHAR AS churn_risk, NULL::DOUBLE AS predicted_value "
        "FROM profiles.golden_profiles"
    )
    conn.execute(
        "INSERT INTO profiles.lead_scores BY NAME SELECT person_id, NULL::VARCHAR AS account_id, "
        "0 AS lead_score FROM profiles.golden_profiles"
    )
