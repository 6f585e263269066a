"""Source assets through real Dagster materializations on a real warehouse."""

from __future__ import annotations

import dagster as dg

from cdp_platform.definitions import build_definitions
from cdp_platform.source_contracts import SOURCES
from cdp_platform_tests.metadata import metadata_rows
from cdp_platform_tests.sources.samples import record, write_day_file

DAYS = ["2026-08-01", "2026-08-02", "2026-08-03"]


def run_range(instance, start: str, end: str, selection: list[str] | None = None):
    defs = build_definitions()
    job = defs.resolve_job_def("ingest_sources")
    if selection:
        job = job.get_subset(asset_selection={dg.AssetKey(s) for s in selection})
    return job.execute_in_process(
        instance=instance,
        tags={
            "dagster/asset_partition_range_start": start,
            "dagster/asset_partition_range_end": end,
        },
        raise_on_error=False,
    )


def materialized_partitions(instance, source: str) -> set[str]:
    return set(instance.get_materialized_partitions(dg.AssetKey(source)))


def test_range_backfill_is_one_run_writing_every_partition_of_every_source(
    landing, instance, query
):
    for n, day in enumerate(DAYS):
        write_day_file(
            landing, "crm_contacts", day, [record("crm_contacts", {"Record ID": str(n)})]
        )
        write_day_file(landing, "web_events", day, [record("web_events", messageId=f"m{n}")])
    result = run_range(instance, DAYS[0], DAYS[-1])
    assert result.success
    assert len(instance.get_run_records()) == 1
    for source in SOURCES:
        assert materialized_partitions(instance, source) == set(DAYS), source
    assert query("SELECT count(*) FROM sources.crm_contacts") == [(3,)]
    assert query("SELECT count(*) FROM sources.web_events") == [(3,)]
    # one step per asset, each over the whole range
    steps = {e.step_key for e in result.all_events if e.is_step_success}
    assert steps == set(SOURCES)


def test_materialization_metadata_counts_rows_and_masks_pii(landing, instance):
    write_day_file(
        landing,
        "crm_contacts",
        DAYS[0],
        [record("crm_contacts", {"Email": "distinctive.person@uniquedomain.org"}), "bad,row"],
    )
    result = run_range(instance, DAYS[0], DAYS[0], ["crm_contacts"])
    assert result.success
    (materialization,) = result.asset_materializations_for_node("crm_contacts")
    meta = materialization.metadata
    assert meta["dagster/row_count"].value == 1
    assert meta["rows_quarantined"].value == 1
    assert meta["rows_read"].value == 2
    preview = str(metadata_rows(meta["preview"]))
    assert "d***@u***.org" in preview
    assert "distinctive" not in preview and "uniquedomain" not in preview
    (reason,) = metadata_rows(meta["run_quarantine_reasons"])
    assert "expected 17 fields" in reason["reason"] and reason["rows"] == 1
    schema = (
        build_definitions()
        .resolve_assets_def("crm_contacts")
        .metadata_by_key[dg.AssetKey("crm_contacts")]["dagster/column_schema"]
    )
    email = next(c for c in schema.columns if c.name == "email")
    assert "pii" in email.tags


def test_each_partition_of_a_backfill_carries_its_own_days_counts(landing, instance):
    """One run writes every day, but each day's materialization says what that
    day's file held; the run's totals are named as the run's."""
    for n, day in enumerate(DAYS):
        rows = [record("pos_loyalty", card_number=f"{n}-{i}") for i in range(n + 1)]
        write_day_file(landing, "pos_loyalty", day, [*rows, "x,y"])
    result = run_range(instance, DAYS[0], DAYS[-1], ["pos_loyalty"])
    assert result.success
    by_day = {
        m.partition: m.metadata for m in result.asset_materializations_for_node("pos_loyalty")
    }
    assert set(by_day) == set(DAYS)
    for n, day in enumerate(DAYS):
        meta = by_day[day]
        assert meta["dagster/row_count"].value == n + 1, day
        assert meta["rows_read"].value == n + 2 and meta["rows_quarantined"].value == 1
        assert meta["file"].value == f"pos_loyalty/{day}.csv"
        assert meta["run_rows_loaded"].value == 6 and meta["run_partitions_written"].value == 3


def test_rerunning_a_partition_leaves_the_warehouse_identical(landing, instance, query):
    for n, day in enumerate(DAYS):
        write_day_file(
            landing, "pos_loyalty", day, [record("pos_loyalty", card_number=str(n)), "x,y"]
        )
    assert run_range(instance, DAYS[0], DAYS[-1], ["pos_loyalty"]).success
    tables = ["sources.pos_loyalty_raw", "sources.pos_loyalty", "sources.quarantine"]
    before = {t: query(f"SELECT * FROM {t} ORDER BY ALL") for t in tables}
    assert run_range(instance, DAYS[1], DAYS[1], ["pos_loyalty"]).success
    assert run_range(instance, DAYS[0], DAYS[-1], ["pos_loyalty"]).success
    assert {t: query(f"SELECT * FROM {t} ORDER BY ALL") for t in tables} == before


def test_unreadable_file_fails_only_its_partition(landing, instance, query):
    write_day_file(landing, "email_subscribers", DAYS[0], [record("email_subscribers")])
    bad = landing / "email_subscribers" / f"{DAYS[1]}.csv"
    bad.write_bytes(b"Email Address,LEID\n\xff\xfe\n")
    write_day_file(landing, "email_subscribers", DAYS[2], [record("email_subscribers", LEID="L-3")])
    result = run_range(instance, DAYS[0], DAYS[-1], ["email_subscribers", "pos_loyalty"])
    assert not result.success
    failure = next(e for e in result.all_events if e.is_step_failure)
    assert failure.step_key == "email_subscribers"
    assert str(bad) in failure.step_failure_data.error.message
    assert "not valid UTF-8" in failure.step_failure_data.error.message
    assert materialized_partitions(instance, "email_subscribers") == {DAYS[0], DAYS[2]}
    assert materialized_partitions(instance, "pos_loyalty") == set(DAYS)
    assert query("SELECT leid FROM sources.email_subscribers ORDER BY 1") == [("L-1",), ("L-3",)]


def test_missing_required_column_fails_partition_with_file_and_column(landing, instance):
    path = landing / "crm_companies" / f"{DAYS[0]}.csv"
    path.parent.mkdir(parents=True)
    path.write_text("Record ID,Company name\n1,Acme\n")
    result = run_range(instance, DAYS[0], DAYS[0], ["crm_companies"])
    assert not result.success
    message = next(
        e for e in result.all_events if e.is_step_failure
    ).step_failure_data.error.message
    assert str(path) in message and "'Last Modified Date'" in message


def check_results(result, source: str) -> dict[str, tuple[bool, dict]]:
    return {
        evaluation.check_name: (evaluation.passed, evaluation.metadata)
        for evaluation in result.get_asset_check_evaluations()
        if evaluation.asset_key == dg.AssetKey(source)
    }


def test_checks_pass_on_clean_loads(landing, instance):
    write_day_file(landing, "support_tickets", DAYS[0], [record("support_tickets")])
    result = run_range(instance, DAYS[0], DAYS[0], ["support_tickets"])
    checks = check_results(result, "support_tickets")
    assert {name: passed for name, (passed, _) in checks.items()} == {
        "quarantine_share_below_limit": True,
        "modified_at_not_after_file_day": True,
    }


def test_checks_warn_on_a_mostly_broken_file_and_future_timestamps(landing, instance):
    future = record("pos_transactions", purchased_at="2026-08-09 10:00:00")
    write_day_file(landing, "pos_transactions", DAYS[0], [future, "a,b", "c,d"])
    result = run_range(instance, DAYS[0], DAYS[0], ["pos_transactions"])
    assert result.success  # warnings, not failures: the good row is still loaded
    checks = check_results(result, "pos_transactions")
    passed, meta = checks["quarantine_share_below_limit"]
    assert not passed and meta["rows_quarantined"].value == 2
    passed, meta = checks["modified_at_not_after_file_day"]
    assert not passed and meta["rows_ahead_of_file_day"].value == 1
