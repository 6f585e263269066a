"""An invalid segment spec stops the code location, naming the file, segment and field."""

from __future__ import annotations

import textwrap

import pytest

from cdp_platform.segments.config import SegmentSpecError, load_segments

VALID = """
  - name: buyers
    description: bought once
    where: {trait: orders, op: ">=", value: 1}
"""


def write(tmp_path, body: str):
    path = tmp_path / "segments.yaml"
    path.write_text("segments:\n" + textwrap.dedent(VALID) + textwrap.dedent(body))
    return path


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            """
            - name: no_description
              where: {trait: orders, op: ">=", value: 1}
            """,
            "segment 'no_description': description: Field required",
        ),
        (
            """
            - name: two_tests
              description: x
              where: {all: [{trait: orders, op: ">=", value: 1, in: [1, 2]}]}
            """,
            "segment 'two_tests': where.all[0]: Value error, trait 'orders' needs exactly one test",
        ),
        (
            """
            - name: unknown_trait
              description: x
              where: {all: [{trait: orders, op: ">", value: 0}, {trait: shoe_size, op: "=", value: 9}]}
            """,
            "segment 'unknown_trait': where.all[1].trait: unknown trait 'shoe_size'",
        ),
        (
            """
            - name: wrong_type
              description: x
              where: {trait: orders, op: ">=", value: "many"}
            """,
            "segment 'wrong_type': where.value: orders holds numbers (integer); 'many' is not a "
            "number",
        ),
        (
            """
            - name: text_as_number
              description: x
              where: {not: {trait: country, in: [GB, 44]}}
            """,
            "segment 'text_as_number': where.not.in: country holds text; 44 is not text",
        ),
        (
            """
            - name: days_on_a_number
              description: x
              where: {trait: revenue, within_days: 7}
            """,
            "segment 'days_on_a_number': where.within_days: revenue holds number, not dates",
        ),
        (
            """
            - name: unknown_account_trait
              description: x
              where: {account_trait: vibes, op: "=", value: good}
            """,
            "segment 'unknown_account_trait': where.account_trait: unknown account trait 'vibes'",
        ),
        (
            """
            - name: unknown_activity
              description: x
              where: {event: phone_calls, at_least: 1}
            """,
            "segment 'unknown_activity': where.event: unknown activity 'phone_calls'",
        ),
        (
            """
            - name: unknown_purpose
              description: x
              where: {consent: telepathy}
            """,
            "segment 'unknown_purpose': where.consent: unknown purpose 'telepathy'",
        ),
        (
            """
            - name: bad_sql
              description: x
              where: {all: [{sql: "orders >= >= 1"}]}
            """,
            "segment 'bad_sql': where.all[0].sql: does not parse",
        ),
        (
            """
            - name: two_statements
              description: x
              where: {sql: "true; SELECT 2"}
            """,
            "segment 'two_statements': where.sql: ';' is not allowed: write one condition",
        ),
        (
            """
            - name: bad_event_filter
              description: x
              where: {event: web, where: "event = = 'x'"}
            """,
            "segment 'bad_event_filter': where.where: does not parse",
        ),
        (
            """
            - name: missing_reference
              description: x
              where: {segment: nobody_declared_this}
            """,
            "segment 'missing_reference': where.segment: no segment named 'nobody_declared_this'",
        ),
        (
            """
            - name: chicken
              description: x
              where: {all: [{segment: egg}]}
            - name: egg
              description: x
              where: {any: [{segment: buyers}, {segment: chicken}]}
            """,
            "segment 'chicken': where: segments built on each other in a cycle: "
            "chicken -> egg -> chicken",
        ),
        (
            """
            - name: buyers
              description: again
              where: {trait: orders, op: ">=", value: 2}
            """,
            "segment 'buyers': name: declared twice",
        ),
        (
            """
            - name: Not-An-Identifier
              description: x
              where: {trait: orders, op: ">=", value: 1}
            """,
            "segment 'Not-An-Identifier': name: Value error, 'Not-An-Identifier' is not a "
            "lower-case identifier",
        ),
    ],
)
def test_each_kind_of_invalid_spec_names_file_segment_and_field(tmp_path, body, message):
    path = write(tmp_path, body)
    with pytest.raises(SegmentSpecError) as raised:
        load_segments(path)
    assert str(raised.value).startswith(f"{path}: ")
    assert message in str(raised.value)


def test_the_code_location_does_not_load_with_an_invalid_spec(tmp_path, monkeypatch):
    from cdp_platform.definitions import build_definitions

    path = write(
        tmp_path,
        """
        - name: broken
          description: x
          where: {trait: shoe_size, op: "=", value: 9}
        """,
    )
    monkeypatch.setenv("CDP_SEGMENTS_CONFIG", str(path))
    with pytest.raises(SegmentSpecError, match="segment 'broken': where.trait: unknown trait"):
        build_definitions()


def test_the_shipped_playbooks_load():
    names = {spec.name for spec in load_segments()}
    assert {
        "high_value_at_risk",
        "cart_abandoners_24h",
        "in_store_only_loyalty",
        "newsletter_never_bought",
        "b2b_opportunity_engaged",
        "lapsed_customers",
    } <= names
