"""Change planning per sync mode: the table in activation/plan.py, case by case."""

from __future__ import annotations

import pytest

from cdp_platform.activation.plan import Known, Row, fields_hash, plan_changes

NEW = Row("new", "p1", {"a": 1})
CHANGED = Row("changed", "p2", {"a": 2})
SAME = Row("same", "p3", {"a": 3})
FAILED = Row("failed", "p4", {"a": 4})  # unchanged, but its last attempt failed
NEVER = Row("never", "p6", {"a": 6})  # failed and never accepted
REVOKED = Row("revoked", "p7", {"a": 7}, consented=False)
STATE = {
    "changed": Known("p2", fields_hash({"a": 0})),
    "same": Known("p3", fields_hash({"a": 3})),
    "failed": Known("p4", fields_hash({"a": 4}), failed=True),
    "never": Known("p6", None, failed=True),
    "revoked": Known("p7", fields_hash({"a": 7})),
    "gone": Known("p5", fields_hash({"a": 5}), destination_id="d5"),
}
ROWS = [NEW, CHANGED, SAME, FAILED, NEVER, REVOKED]


@pytest.mark.parametrize(
    ("mode", "expected"),
    [
        (
            "upsert",
            {("upsert", k) for k in ("new", "changed", "failed", "never")},
        ),
        ("insert", {("insert", "new"), ("insert", "never")}),
        ("update", {("update", "changed"), ("update", "failed")}),
        (
            "mirror",
            {("upsert", k) for k in ("new", "changed", "failed", "never")}
            | {("delete", "gone"), ("delete", "revoked")},
        ),
        ("add", {("add", "new"), ("add", "never")}),
        ("remove", {("add", "new"), ("add", "never"), ("remove", "gone"), ("remove", "revoked")}),
    ],
)
def test_each_mode_sends_what_its_table_says(mode, expected):
    plan = plan_changes(mode, ROWS, STATE)
    assert {(c.operation, c.key) for c in plan.changes} == expected
    # Nobody without consent is ever sent anything but a removal.
    assert not any(c.key == "revoked" and c.fields for c in plan.changes)
    assert ("revoked", "p7", "skipped_consent") in plan.skipped


def test_removals_carry_the_destination_id_and_update_skips_unknown_keys():
    plan = plan_changes("mirror", [], STATE)
    gone = next(c for c in plan.changes if c.key == "gone")
    assert (gone.operation, gone.destination_id) == ("delete", "d5")
    update = plan_changes("update", [NEW], {})
    assert update.changes == [] and update.skipped == [("new", "p1", "skipped_not_in_destination")]


def test_an_unknown_mode_is_refused():
    with pytest.raises(ValueError, match="unknown sync mode 'sideways'"):
        plan_changes("sideways", ROWS, STATE)


@pytest.mark.parametrize(
    ("mode", "removal"),
    [
        ("upsert", "erase"),
        ("insert", "erase"),
        ("update", "erase"),
        ("mirror", "erase"),
        ("add", "remove"),
        ("remove", "remove"),
    ],
)
def test_an_erased_person_is_taken_out_whatever_the_mode(mode, removal):
    plan = plan_changes(mode, [SAME], STATE, erased=frozenset({"p5"}))
    assert [(c.operation, c.key) for c in plan.changes if c.key == "gone"] == [(removal, "gone")]


def test_a_send_in_flight_when_its_run_died_may_be_held_so_it_is_removed_and_erased():
    in_flight = {
        "left": Known("p8", None, in_flight_hash=fields_hash({"a": 8})),
        "erased": Known("p9", None, in_flight_hash=fields_hash({"a": 9})),
        "never": Known("p10", None),  # neither held nor in flight: nothing to take back
    }
    mirror = plan_changes("mirror", [], in_flight, erased=frozenset({"p9"}))
    assert sorted((c.operation, c.key) for c in mirror.changes) == [
        ("delete", "left"),
        ("erase", "erased"),
    ]
    upsert = plan_changes("upsert", [], in_flight, erased=frozenset({"p9"}))
    assert [(c.operation, c.key) for c in upsert.changes] == [("erase", "erased")]
