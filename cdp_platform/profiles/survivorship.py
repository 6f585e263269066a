"""Survivorship: which source record's values a person's golden profile shows.

Attributes are chosen in groups (an address moves as a whole: street, city,
postcode and country always come from one record), each group by one rule:
- `source_priority`: the highest-priority source, its most recent record;
- `most_recent`: the most recently observed record, any source;
- `most_frequent`: the value seen on most of the person's records;
- `first_non_empty`: the earliest observed record.
A record takes part in a group only if it carries the group's `required`
attributes (default: any of them). Ties fall to source priority, then
recency, then the record key, so the choice is deterministic. The SQL is
plain and runs in the warehouse; `golden_sql` and `provenance_sql` read a
candidates table with one row per source record: person_id, source,
source_record_id, observed_at and one column per attribute.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Rule = Literal["source_priority", "most_recent", "most_frequent", "first_non_empty"]


class AttributeGroup(BaseModel):
    model_config = ConfigDict(extra="forbid")

    attributes: list[str] = Field(min_length=1)
    rule: Rule | None = None  # None: the configuration's default rule
    required: list[str] = Field(default_factory=list)
    source_priority: list[str] | None = None  # None: the configuration's order

    @model_validator(mode="after")
    def _required_within(self) -> AttributeGroup:
        unknown = set(self.required) - set(self.attributes)
        if unknown:
            raise ValueError(f"required {sorted(unknown)} not among attributes {self.attributes}")
        return self


class Survivorship(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_rule: Rule = "source_priority"
    source_priority: list[str] = Field(min_length=1)
    groups: dict[str, AttributeGroup] = Field(min_length=1)

    @model_validator(mode="after")
    def _each_attribute_once(self) -> Survivorship:
        seen: dict[str, str] = {}
        for name, group in self.groups.items():
            for attribute in group.attributes:
                if attribute in seen:
                    raise ValueError(
                        f"attribute {attribute!r} is in groups {seen[attribute]!r} and {name!r}"
                    )
                seen[attribute] = name
        return self

    @property
    def attributes(self) -> list[str]:
        return [a for group in self.groups.values() for a in group.attributes]


def _priority_sql(order: list[str]) -> str:
    cases = " ".join(f"WHEN '{source}' THEN {rank}" for rank, source in enumerate(order))
    return f"CASE source {cases} ELSE {len(order)} END"


def _order_by(rule: Rule) -> str:
    tie = "priority, observed_at DESC NULLS LAST, record_key"
    return {
        "source_priority": tie,
        "most_recent": "observed_at DESC NULLS LAST, priority, record_key",
        "first_non_empty": "observed_at ASC NULLS LAST, priority, record_key",
        "most_frequent": f"frequency DESC, {tie}",
    }[rule]


def winners_sql(config: Survivorship, name: str, candidates: str) -> str:
    """SQL: per person, the one record whose values group `name` shows."""
    group = config.groups[name]
    rule = group.rule or config.default_rule
    present = " OR ".join(f"{a} IS NOT NULL" for a in group.attributes)
    required = " AND ".join(f"{a} IS NOT NULL" for a in group.required) or "TRUE"
    values = ", ".join(group.attributes)
    return f"""
    SELECT person_id, source, source_record_id, observed_at, {values}, '{rule}' AS rule
    FROM (
      SELECT *, row_number() OVER (PARTITION BY person_id ORDER BY {_order_by(rule)}) AS pick
      FROM (
        SELECT *, {_priority_sql(group.source_priority or config.source_priority)} AS priority,
               source || ':' || source_record_id AS record_key,
               count(*) OVER (PARTITION BY person_id, {values}) AS frequency
        FROM {candidates}
        WHERE ({present}) AND {required}
      )
    )
    WHERE pick = 1"""


def golden_sql(config: Survivorship, candidates: str) -> str:
    """SQL: one row per person with every attribute, group by group."""
    persons = f"(SELECT DISTINCT person_id FROM {candidates}) p"
    joins, columns = [], []
    for n, name in enumerate(config.groups):
        alias = f"g{n}"
        joins.append(
            f"LEFT JOIN ({winners_sql(config, name, candidates)}) {alias} USING (person_id)"
        )
        columns += [f"{alias}.{a}" for a in config.groups[name].attributes]
    return f"SELECT p.person_id, {', '.join(columns)} FROM {persons} {' '.join(joins)}"


def provenance_sql(config: Survivorship, candidates: str) -> str:
    """SQL: per person and chosen attribute, its value and where it came from."""
    parts = []
    for name, group in config.groups.items():
        for attribute in group.attributes:
            parts.append(
                f"""SELECT person_id, '{attribute}' AS attribute, '{name}' AS attribute_group,
                       CAST({attribute} AS VARCHAR) AS value, source, source_record_id,
                       observed_at, rule
                FROM ({winners_sql(config, name, candidates)})
                WHERE {attribute} IS NOT NULL"""
            )
    return " UNION ALL ".join(parts)
