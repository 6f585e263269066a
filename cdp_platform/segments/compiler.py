"""Segment spec -> SQL: one query listing the segment's persons as of a day.

The query reads one row per person (`PERSON_VIEW`: profile, traits, scores,
lead score and primary account), joins one count per event condition, and
filters by the condition tree. Every window ends with the as-of day, so the
same data and day give the same members. Values are rendered as SQL literals
here (specs are validated first, so their types are known). A `sql:` condition
or an event's `where:` is checked again here and its checked rendering is what
runs: one condition over the row in front of it (the person `p`, or one event
row), never a query of its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from cdp_platform.profiles.activity import ACTIVITIES, activity_sql
from cdp_platform.segments.spec import Condition, SegmentSpec
from cdp_platform.sql_expressions import checked_condition
from cdp_platform.sql_text import identifier, quoted
from cdp_platform.tables.privacy import PRIVACY_SUBJECTS
from cdp_platform.tables.profiles import (
    ACCOUNT_LEAD_SCORES,
    ACCOUNT_TRAITS,
    ACCOUNTS,
    CONSENT_STATE,
    CUSTOMER_SCORES,
    CUSTOMER_TRAITS,
    GOLDEN_PROFILES,
    LEAD_SCORES,
)
from cdp_platform.tables.segments import SEGMENT_MEMBERSHIPS

MEMBERSHIPS_TABLE = SEGMENT_MEMBERSHIPS

PERSON_VIEW = f"""
  SELECT g.* EXCLUDE (emails, phones), t.* EXCLUDE (person_id, as_of),
         s.churn_probability, s.churn_risk, s.predicted_value, l.lead_score, l.account_id
  FROM {GOLDEN_PROFILES} g
  LEFT JOIN {CUSTOMER_TRAITS} t USING (person_id)
  LEFT JOIN {CUSTOMER_SCORES} s USING (person_id)
  LEFT JOIN {LEAD_SCORES} l USING (person_id)"""

SUBJECTS_TABLE = PRIVACY_SUBJECTS


def person_view(tables: set[str]) -> str:
    """Every person a segment or sync may consider: suppressed and erased subjects
    (privacy requests) are processed no further, once their requests are matched."""
    if SUBJECTS_TABLE not in tables:
        return PERSON_VIEW
    return f"{PERSON_VIEW}\n  WHERE g.person_id NOT IN (SELECT person_id FROM {SUBJECTS_TABLE})"


ACCOUNT_VIEW = f"""
  SELECT a.*, t.* EXCLUDE (account_id), s.lead_score, s.best_contact_score
  FROM {ACCOUNTS} a
  LEFT JOIN {ACCOUNT_TRAITS} t USING (account_id)
  LEFT JOIN {ACCOUNT_LEAD_SCORES} s USING (account_id)"""


def activity_columns(name: str) -> set[str]:
    """The columns an event condition's `where:` may name: those of activity `name`."""
    return {"person_id", *ACTIVITIES[name][1]}


def literal(value) -> str:
    """A YAML value as an SQL literal."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    if isinstance(value, date):
        return f"DATE '{value.isoformat()}'"
    return quoted(str(value))


def comparison_sql(column: str, c: Condition, as_of: str) -> str:
    """The one test of a trait or account-trait condition on `column`."""
    col = identifier(column)
    if c.op is not None:
        return f"{col} {'<>' if c.op == '!=' else c.op} {literal(c.value)}"
    if c.between is not None:
        return f"{col} BETWEEN {literal(c.between[0])} AND {literal(c.between[1])}"
    if c.in_ is not None:
        return f"{col} IN ({', '.join(literal(v) for v in c.in_)})"
    if c.not_in is not None:
        # Not in the list, and known: a missing value is in no list.
        return f"{col} NOT IN ({', '.join(literal(v) for v in c.not_in)})"
    if c.is_null is not None:
        return f"{col} IS {'' if c.is_null else 'NOT '}NULL"
    end = f"(DATE '{as_of}' + INTERVAL 1 DAY)"
    if c.within_days is not None:
        return f"{col} >= {end} - INTERVAL {c.within_days} DAY"
    return f"{col} < {end} - INTERVAL {c.older_than_days} DAY"


@dataclass
class _Compiling:
    as_of: str
    tables: set[str]
    events: list[str] = field(default_factory=list)

    def condition(self, c: Condition) -> str:
        kind = c.kind
        if kind == "all":
            return "(" + " AND ".join(self.condition(x) for x in c.all) + ")"
        if kind == "any":
            return "(" + " OR ".join(self.condition(x) for x in c.any) + ")"
        if kind == "not":
            # NOT of unknown is unknown: a person with no value is not in either side.
            return f"(NOT coalesce({self.condition(c.not_)}, FALSE))"
        if kind == "trait":
            return f"({comparison_sql(c.trait, c, self.as_of)})"
        if kind == "account_trait":
            test = comparison_sql(c.account_trait, c, self.as_of)
            return f"(p.account_id IN (SELECT account_id FROM ({ACCOUNT_VIEW}) WHERE {test}))"
        if kind == "event":
            return self.event(c)
        if kind == "consent":
            return (
                f"(p.person_id IN (SELECT person_id FROM {CONSENT_STATE} "
                f"WHERE purpose = {literal(c.consent)} AND status = {literal(c.status)}))"
            )
        if kind == "segment":
            return (
                f"(p.person_id IN (SELECT person_id FROM {MEMBERSHIPS_TABLE} "
                f"WHERE segment = {literal(c.segment)}))"
            )
        # Checked again here (names were checked against the person's columns at load).
        return f"({checked_condition(c.sql)})"

    def event(self, c: Condition) -> str:
        alias = f"_event_{len(self.events)}"
        source = activity_sql(c.event, self.as_of, self.tables)
        filters = [f"({checked_condition(c.where, activity_columns(c.event))})"] if c.where else []
        if c.within_days or c.within_hours:
            span = f"{c.within_days} DAY" if c.within_days else f"{c.within_hours} HOUR"
            filters.append(f"occurred_at >= DATE '{self.as_of}' + INTERVAL 1 DAY - INTERVAL {span}")
        where = f" WHERE {' AND '.join(filters)}" if filters else ""
        body = (
            f"SELECT person_id, count(*) AS n FROM ({source}){where} GROUP BY person_id"
            if source
            else "SELECT NULL::VARCHAR AS person_id, 0 AS n WHERE false"
        )
        self.events.append(f"{alias} AS ({body})")
        count = f"coalesce((SELECT n FROM {alias} WHERE {alias}.person_id = p.person_id), 0)"
        if c.exactly is not None:
            return f"({count} = {c.exactly})"
        if c.at_most is not None:
            return f"({count} <= {c.at_most})"
        return f"({count} >= {1 if c.at_least is None else c.at_least})"


def compile_condition(condition: Condition, as_of: str, tables: set[str]) -> str:
    """SQL selecting `person_id` of every person meeting `condition` as of `as_of`."""
    compiling = _Compiling(as_of, tables)
    predicate = compiling.condition(condition)
    ctes = ", ".join([f"p AS ({person_view(tables)})", *compiling.events])
    return f"WITH {ctes} SELECT p.person_id FROM p WHERE coalesce({predicate}, FALSE)"


def holdout_sql(segment: str, percent: float) -> str:
    """TRUE for the persons held out: a stable hash of segment and person, so the same
    person stays in or out of the holdout run after run and on every machine."""
    if not percent:
        return "FALSE"
    return f"(md5_number({literal(segment)} || ':' || person_id) % 10000) < {int(percent * 100)}"


def compile_segment(spec: SegmentSpec, as_of: str, tables: set[str]) -> str:
    """SQL listing (`person_id`, `holdout`) of the segment's members as of `as_of`."""
    members = compile_condition(spec.where, as_of, tables)
    return (
        f"SELECT person_id, {holdout_sql(spec.name, spec.holdout_percent)} AS holdout "
        f"FROM ({members})"
    )
