"""Segment specs: audiences declared in YAML, as pydantic models.

A segment is a condition tree over one row per person. Each condition is one
mapping whose leading key says what it tests:

    all: [...] / any: [...] / not: {...}         combine conditions
    trait: orders, op: ">=", value: 2            a profile trait or score
    account_trait: furthest_stage, in: [...]     a trait of the person's account
    event: web, where: "event = 'Product Viewed'", within_days: 7, at_least: 3
    consent: email_marketing                     (status: granted by default)
    segment: lapsed_customers                    membership of another segment
    sql: "country = 'GB'"                        anything the tree cannot say

A trait or account trait takes exactly one test: `op` with `value` (=, !=,
<, <=, >, >=), `between: [low, high]`, `in` / `not_in` a list, `is_null`,
or, for dates and times, `within_days` / `older_than_days` of the as-of day.

`sql:` and an event's `where:` are each ONE condition (no statement, `;`,
subquery, table or function outside `sql_expressions.ALLOWED_FUNCTIONS`) over
the person's columns or the activity's columns: checked at load, and what
runs is the checked rendering.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from cdp_platform.profiles.traits import Identifier

Operator = Literal["=", "!=", "<", "<=", ">", ">="]
TESTS = ("op", "between", "in_", "not_in", "is_null", "within_days", "older_than_days")
KINDS = ("all", "any", "not_", "trait", "account_trait", "event", "consent", "segment", "sql")


class Condition(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    # Combinators.
    all: list[Condition] | None = None
    any: list[Condition] | None = None
    not_: Condition | None = Field(default=None, alias="not")
    # Comparisons on a person's trait or their account's.
    trait: str | None = None
    account_trait: str | None = None
    op: Operator | None = None
    value: Any = None
    between: tuple[Any, Any] | None = None
    in_: list[Any] | None = Field(default=None, alias="in")
    not_in: list[Any] | None = None
    is_null: bool | None = None
    within_days: int | None = Field(default=None, gt=0)
    older_than_days: int | None = Field(default=None, ge=0)
    # Counted events from an activity (purchases, tickets, email, web).
    event: str | None = None
    where: str | None = None
    within_hours: int | None = Field(default=None, gt=0)
    at_least: int | None = Field(default=None, ge=0)
    at_most: int | None = Field(default=None, ge=0)
    exactly: int | None = Field(default=None, ge=0)
    # Consent for a purpose.
    consent: str | None = None
    status: Literal["granted", "denied", "unknown"] = "granted"
    # Another segment's members.
    segment: str | None = None
    # One SQL condition over the person's columns (see cdp_platform.sql_expressions).
    sql: str | None = None

    @property
    def kind(self) -> str:
        return next(k for k in KINDS if getattr(self, k) is not None).rstrip("_")

    @model_validator(mode="after")
    def _one_kind_and_its_fields(self) -> Condition:
        kinds = [k.rstrip("_") for k in KINDS if getattr(self, k) is not None]
        if len(kinds) != 1:
            raise ValueError(
                f"a condition needs exactly one of {[k.rstrip('_') for k in KINDS]}, got {kinds}"
            )
        kind = kinds[0]
        tests = [t.rstrip("_") for t in TESTS if getattr(self, t) is not None]
        counts = [c for c in ("at_least", "at_most", "exactly") if getattr(self, c) is not None]
        if kind in ("trait", "account_trait"):
            if len(tests) != 1:
                raise ValueError(
                    f"{kind} {getattr(self, kind)!r} needs exactly one test of "
                    f"{[t.rstrip('_') for t in TESTS]}, got {tests or 'none'}"
                )
            if self.op is not None and self.value is None:
                raise ValueError(f"{kind} {getattr(self, kind)!r}: op {self.op} needs a value")
        elif tests and not (kind == "event" and tests == ["within_days"]):
            raise ValueError(f"{tests} only apply to trait and account_trait conditions")
        if kind == "event":
            if len(counts) > 1:
                raise ValueError(f"event {self.event!r}: one of at_least/at_most/exactly")
            if self.within_days and self.within_hours:
                raise ValueError(f"event {self.event!r}: within_days or within_hours, not both")
        elif counts or self.where or self.within_hours:
            raise ValueError("where, within_hours and counts only apply to event conditions")
        return self

    @field_validator("all", "any")
    @classmethod
    def _not_empty(cls, value):
        if value is not None and not value:
            raise ValueError("needs at least one condition")
        return value


class SizeCheck(BaseModel):
    model_config = ConfigDict(extra="forbid")

    # Largest move in size between runs, as a share of the previous size.
    max_change: float = Field(default=0.5, gt=0)
    # warn: a warning in the UI; block: a failed blocking check stops activation.
    action: Literal["warn", "block"] = "warn"
    # Below this previous size, swings are noise and pass.
    min_previous_size: int = Field(default=20, ge=0)


class SegmentSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Identifier
    description: str
    owners: list[str] = Field(default_factory=list)
    where: Condition
    holdout_percent: float = Field(default=0, ge=0, lt=100)
    size_check: SizeCheck = Field(default_factory=SizeCheck)
    tags: dict[str, str] = Field(default_factory=dict)


class SegmentsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    segments: list[SegmentSpec] = Field(default_factory=list)


def walk(condition: Condition, path: str = "where"):
    """Every condition of a tree with its path (`where.all[0].not`), depth first."""
    yield path, condition
    for key in ("all", "any"):
        for n, child in enumerate(getattr(condition, key) or []):
            yield from walk(child, f"{path}.{key}[{n}]")
    if condition.not_ is not None:
        yield from walk(condition.not_, f"{path}.not")
