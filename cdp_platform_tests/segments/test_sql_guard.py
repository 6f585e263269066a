"""User SQL in segments (`sql:` conditions, event `where:`) is one plain condition over
the columns it may name: checked at load, checked again when compiled, and what runs
is the checked rendering. Every YAML config loader names a syntax error's place."""

from __future__ import annotations

import textwrap

import duckdb
import pytest

from cdp_platform.identity_config import load_identity_config
from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.segments.compiler import compile_condition
from cdp_platform.segments.config import SegmentSpecError, load_segments
from cdp_platform.segments.spec import Condition
from cdp_platform.sql_expressions import ALLOWED_FUNCTIONS, checked_condition
from cdp_platform_tests.profile_tables import seed_profiles

PERSON = ["person_id", "email", "country", "sources", "dob", "orders"]


@pytest.mark.parametrize(
    ("condition", "rendered"),
    [
        ("country = 'GB'", "country = 'GB'"),
        ("list_contains(sources, 'pos_loyalty')", "ARRAY_CONTAINS(sources, 'pos_loyalty')"),
        ("lower(email) LIKE '%@example.org' AND NOT orders IS NULL", None),
        ("coalesce(orders, 0) BETWEEN 1 AND 3 OR country IN ('FR', 'DE')", None),
        ("dob < DATE '2000-01-01' - INTERVAL 1 YEAR", None),
        ("extract(year FROM dob) >= 1990 AND date_trunc('month', dob) IS NOT NULL", None),
        ("CASE WHEN orders > 2 THEN true ELSE starts_with(email, 'vip') END", None),
        ("sources[1] = 'crm_contacts' AND len(sources) > 1", None),
        ("CAST(orders AS INTEGER) % 2 = 0", None),
        ("\"Country\" = 'it''s'", "\"Country\" = 'it''s'"),
        ("country = 'GB' -- a comment; ignored", "country = 'GB'"),
    ],
)
def test_plain_conditions_pass_and_come_back_rendered(condition, rendered):
    out = checked_condition(condition, PERSON)
    if rendered is not None:
        assert out == rendered
    assert checked_condition(out, PERSON) == out  # the rendering is itself a checked condition
    db = duckdb.connect()
    db.execute(
        "CREATE TABLE p AS SELECT 'p1' AS person_id, 'a@example.org' AS email, 'GB' AS country, "
        "['crm_contacts'] AS sources, DATE '1990-05-01' AS dob, 2 AS orders"
    )
    assert db.execute(f"SELECT count(*) FROM p WHERE {out}").fetchone()[0] in (0, 1)


@pytest.mark.parametrize(
    ("condition", "reason"),
    [
        ("true; SELECT 2", "';' is not allowed"),
        ("true) OR (true", "the ')' at column 5 closes a parenthesis never opened"),
        ("(true", "a '(' is never closed"),
        ("SELECT email FROM profiles.golden_profiles", "a query is not allowed"),
        ("UPDATE profiles.consent_state SET status = 'granted'", "a statement (UPDATE)"),
        ("DROP TABLE profiles.golden_profiles", "a statement (DROP)"),
        ("ATTACH '/tmp/other.duckdb'", "a statement (ATTACH)"),
        ("CALL pragma_version()", "a statement (CALL)"),
        ("email IN (SELECT email FROM privacy.subjects)", "a subquery is not allowed"),
        ("EXISTS (SELECT 1)", "a subquery is not allowed"),
        ("(SELECT count(*) FROM profiles.golden_profiles) > 1", "a subquery is not allowed"),
        ("read_text('/etc/passwd') IS NOT NULL", "function read_text is not allowed"),
        ("read_csv('/etc/passwd') IS NOT NULL", "function read_csv is not allowed"),
        ("glob('/etc/*') IS NOT NULL", "function glob is not allowed"),
        ("range(3) IS NOT NULL", "function range is not allowed"),
        ("getenv('HOME') = ''", "function getenv is not allowed"),
        ("current_setting('threads') = '1'", "function current_setting is not allowed"),
        ("count(*) > 1", "function count is not allowed"),
        ("current_date > dob", "function current_date is not allowed"),
        ("shoe_size > 9", "unknown column 'shoe_size'; known: ['country', 'dob', 'email'"),
        ("p.email = 'x'", "write column names without a table or alias: 'p.email'"),
        ("email = ?", "'?' is not allowed in a condition"),
        ("orders + 1", "is a value, not a condition"),
        ("orders >= >= 1", "does not parse: syntax error"),
        ("", "is empty"),
    ],
)
def test_anything_else_is_refused_in_plain_words(condition, reason):
    with pytest.raises(ValueError) as raised:
        checked_condition(condition, PERSON)
    assert str(raised.value).startswith(reason)


def test_the_allowed_functions_read_no_files_settings_or_tables():
    risky = ("read", "glob", "getenv", "setting", "file", "scan", "query", "system", "load")
    assert not [f for f in ALLOWED_FUNCTIONS if any(word in f for word in risky)]


def write_segments(tmp_path, monkeypatch, condition: str):
    path = tmp_path / "segments.yaml"
    path.write_text(
        "segments:\n"
        + textwrap.indent(
            textwrap.dedent(
                f"""\
                - name: buyers
                  description: bought once
                  where: {{trait: orders, op: ">=", value: 1}}
                - name: sneaky
                  description: whatever the condition lets through
                  where:
                    all:
                      - {{segment: buyers}}
                      - {condition}
                """
            ),
            "  ",
        )
    )
    monkeypatch.setenv("CDP_SEGMENTS_CONFIG", str(path))
    return path


@pytest.mark.parametrize(
    ("condition", "field", "reason"),
    [
        (
            "{sql: \"true); UPDATE profiles.consent_state SET status = 'granted'; SELECT 1 WHERE (true\"}",
            "where.all[1].sql",
            "';' is not allowed",
        ),
        (
            '{sql: "true) UNION ALL SELECT person_id FROM profiles.golden_profiles WHERE (true"}',
            "where.all[1].sql",
            "the ')' at column 5 closes a parenthesis never opened",
        ),
        (
            '{sql: "person_id IN (SELECT person_id FROM profiles.consent_state)"}',
            "where.all[1].sql",
            "a subquery is not allowed",
        ),
        (
            "{sql: \"read_text('/etc/passwd') IS NOT NULL\"}",
            "where.all[1].sql",
            "function read_text is not allowed",
        ),
        (
            "{sql: \"glob('/etc/*') IS NOT NULL\"}",
            "where.all[1].sql",
            "function glob is not allowed",
        ),
        ('{sql: "shoe_size > 9"}', "where.all[1].sql", "unknown column 'shoe_size'; known: ["),
        ("{sql: \"country = 'GB';\"}", "where.all[1].sql", "';' is not allowed"),
        (
            '{event: web, where: "event IN (SELECT event FROM sources.web_events)"}',
            "where.all[1].where",
            "a subquery is not allowed",
        ),
        (
            "{event: web, where: \"read_text('/etc/passwd') <> ''\"}",
            "where.all[1].where",
            "function read_text is not allowed",
        ),
        (
            "{event: web, where: \"country = 'GB'\"}",  # a person's column, not an event's
            "where.all[1].where",
            "unknown column 'country'; known: ['anonymous_id', 'event', 'occurred_at'",
        ),
        (
            '{event: purchases, where: "true; DELETE FROM privacy.subjects"}',
            "where.all[1].where",
            "';' is not allowed",
        ),
    ],
)
def test_an_injected_condition_is_refused_at_load_naming_file_segment_and_field(
    tmp_path, monkeypatch, condition, field, reason
):
    path = write_segments(tmp_path, monkeypatch, condition)
    with pytest.raises(SegmentSpecError) as raised:
        load_segments()  # reads CDP_SEGMENTS_CONFIG
    assert str(raised.value).startswith(f"{path}: segment 'sneaky': {field}: {reason}")


def test_the_compiler_runs_the_checked_rendering_and_refuses_what_was_never_loaded():
    db = duckdb.connect()
    seed_profiles(db, 4, country="CASE WHEN i < 2 THEN 'GB' ELSE 'FR' END")
    sql = compile_condition(Condition(sql="country = 'GB' -- ; DROP"), "2026-09-30", set())
    assert "DROP" not in sql
    assert {p for (p,) in db.execute(sql).fetchall()} == {"p0", "p1"}
    # Built in code, never loaded: the compiler checks it all the same.
    for injected in (
        "true) OR (true",
        "person_id IN (SELECT person_id FROM profiles.golden_profiles)",
        "read_text('/etc/passwd') IS NOT NULL",
    ):
        with pytest.raises(ValueError):
            compile_condition(Condition(sql=injected), "2026-09-30", set())
    with pytest.raises(ValueError, match="unknown column 'country'"):
        compile_condition(
            Condition(event="web", where="country = 'GB'"), "2026-09-30", {"web_events"}
        )


@pytest.mark.parametrize(
    ("env", "loader", "error"),
    [
        ("CDP_SEGMENTS_CONFIG", load_segments, SegmentSpecError),
        ("CDP_PROFILES_CONFIG", load_profiles_config, ValueError),
        ("CDP_IDENTITY_CONFIG", load_identity_config, ValueError),
    ],
)
def test_a_yaml_syntax_error_names_file_line_and_column(tmp_path, monkeypatch, env, loader, error):
    path = tmp_path / "config.yaml"
    path.write_text("first: fine\nsecond:\n  - a\n  - b: [unclosed\nthird: x\n")
    monkeypatch.setenv(env, str(path))
    with pytest.raises(error) as raised:
        loader()
    assert str(raised.value) == (
        f"{path}:5:6: expected ',' or ']', but got ':' (while parsing a flow sequence)"
    )


def test_the_shipped_configuration_loads():
    assert load_segments()
    assert load_profiles_config().traits
    assert load_identity_config().deterministic.identifiers
