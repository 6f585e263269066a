"""The benchmark report's pure pieces: stage grouping, targets, markdown."""

from __future__ import annotations

import json

from benchmarks.report import (
    PROCESS_OVERHEAD,
    RUN_OVERHEAD,
    md_table,
    persons_for,
    render_markdown,
    slowest_steps,
    stage_timings,
    targets,
)

TIMINGS = {
    "seconds": 20.0,
    "runs": [
        {
            "job": "ingest_sources",
            "steps": [
                {"step": "shop_orders", "group": "sources", "seconds": 4.0},
                {"step": "web_events", "group": "sources", "seconds": 4.0},
            ],
        },
        {
            "job": "refresh_downstream",
            "steps": [
                {"step": "identity_records", "group": "staging", "seconds": 1.0},
                {"step": "identity_edges", "group": "identity", "seconds": 3.0},
                {"step": "golden_profiles", "group": "profiles", "seconds": 2.0},
                {"step": "segments__lapsed", "group": "segments", "seconds": 0.5},
                {"step": "activation__win_back", "group": "activation", "seconds": 0.5},
                {"step": "mystery", "group": None, "seconds": 1.0},
            ],
        },
    ],
}


def test_stage_timings_group_steps_by_layer_in_pipeline_order():
    rows = stage_timings(TIMINGS, records=8000, wall_seconds=25.0)
    by_stage = {row["stage"]: row for row in rows}
    assert [row["stage"] for row in rows] == [
        "sources",
        "staging + identity",
        "profiles",
        "segments",
        "activation",
        "other",
        RUN_OVERHEAD,
        PROCESS_OVERHEAD,
    ]
    assert by_stage["sources"]["seconds"] == 8.0
    assert by_stage["sources"]["steps"] == 2
    assert by_stage["sources"]["records_per_second"] == 1000
    assert by_stage["staging + identity"]["seconds"] == 4.0
    assert by_stage[RUN_OVERHEAD]["seconds"] == 4.0  # 20 s of runs, 16 s in steps
    assert by_stage[PROCESS_OVERHEAD]["seconds"] == 5.0
    assert by_stage[PROCESS_OVERHEAD]["records_per_second"] is None
    assert by_stage["segments"]["records_per_second"] is None  # works on profiles, not records


def test_stage_timings_without_run_total_has_no_overhead_rows():
    rows = stage_timings({"runs": TIMINGS["runs"][:1]}, records=100)
    assert [row["stage"] for row in rows] == ["sources"]


def test_slowest_steps_first():
    assert [s["step"] for s in slowest_steps(TIMINGS, 3)] == [
        "shop_orders",
        "web_events",
        "identity_edges",
    ]


def test_targets_judged_on_the_million_record_set():
    small = {"target_records": 100_000, "source_records": 99_000, "run": {"seconds": 1.0}}
    big = {
        "target_records": 1_000_000,
        "source_records": 1_002_000,
        "run": {"seconds": 16 * 60, "peak_rss_mib": 3000.0},
    }
    judged = targets([small, big])
    assert [t["met"] for t in judged] == [False, True]
    assert "1,002,000 source records" in judged[0]["target"]
    assert targets([small])[0]["met"] is None


def test_md_table_aligns_numbers_right_and_escapes_pipes():
    table = md_table(
        ["name", "n", "share", "met"], [("a|b", 1234, "44%", True), ("c", 5.25, "", False)]
    )
    assert table.splitlines() == [
        "| name | n | share | met |",
        "|---|---:|---:|---|",
        "| a\\|b | 1,234 | 44% | yes |",
        "| c | 5.2 |  | no |",
    ]


def test_persons_for_grows_with_records_and_shrinks_with_history():
    assert persons_for(1_000_000, 900) > persons_for(100_000, 900)
    assert persons_for(100_000, 60) > persons_for(100_000, 900)


def test_render_markdown_from_a_small_report():
    pipeline = {
        "target_records": 1_000_000,
        "source_records": 1_001_234,
        "persons": 62_000,
        "days": 900,
        "identity_records": 210_000,
        "profiles": 70_000,
        "generate": {"seconds": 60.0},
        "run": {"seconds": 600.0, "peak_rss_mib": 4096.0},
        "records_per_second": 1669,
        "stages": stage_timings(TIMINGS, 1_001_234, 25.0),
        "slowest_steps": slowest_steps(TIMINGS),
    }
    report = {
        "machine": {"platform": "Linux", "cpus": 2, "memory_gib": 24.0},
        "started": "2026-01-01T00:00:00+00:00",
        "elapsed_seconds": 1500.0,
        "sections": {"full pipeline, 1,000,000 source records": 700.0},
        "pipelines": [pipeline],
        "identity_accuracy": [
            {
                "data_set": "FEBRL4",
                "method": "cdp_platform",
                "records": 10_000,
                "precision": 0.99,
                "recall": 0.9,
                "f1": 0.94,
                "recall_ceiling": 1.0,
            }
        ],
        "stability": {
            "data_set": "100,000 source records",
            "ids_moved_by_unchanged_rerun": 0,
            "kept_share": 0.9994,
        },
        "segments": {
            "data_set": "1,001,234 source records",
            "profiles": 70_000,
            "accounts": 300,
            "sizes": [{"segment": "lapsed_customers", "size": 1200, "holdout": 60}],
        },
        "activation": {"records": 100_000, "allowed_records_per_second": 10_000},
    }
    markdown = render_markdown(report)
    assert markdown.startswith("# cdp_platform benchmark report")
    assert "Whole benchmark: 25.0 min." in markdown
    assert "| 1,001,234 source records, full pipeline under 15 min | 10.0 min | yes |" in markdown
    assert "| 1,001,234 source records, peak memory under 8 GiB | 4.00 GiB | yes |" in markdown
    assert "| stage | 1M s | 1M share | 1M records/s |" in markdown
    assert "| sources | 8.0 | 1% | 125,154 |" in markdown
    assert "| FEBRL4 | cdp_platform | 10,000 | 0.9900 | 0.9000 | 0.9400 | 1.0000 |" in markdown
    assert "| lapsed_customers | 1,200 | 60 |" in markdown
    assert "| kept_share | 0.9994 |" in markdown  # fractions keep their decimals
    assert "## Activation throughput" in markdown
    assert "| whole benchmark | 1,500.0 |" in markdown
    assert "## Identity speed" not in markdown  # not measured, so not shown


def test_the_identity_report_keeps_what_a_later_run_did_not_measure(tmp_path, monkeypatch):
    """A speed-only run, then one data set again: every other figure stays, and
    each says which command measured it."""
    from benchmarks import identity

    monkeypatch.setattr(identity, "REPORT", tmp_path / "identity.json")
    row = {"data_set": "FEBRL3", "method": "cdp_platform", "f1": 0.98}
    other = {"data_set": "CRM", "method": "cdp_platform", "f1": 0.9}
    monkeypatch.setattr("sys.argv", ["identity", "--persons"])
    identity._save({"accuracy": [row, other], "stability": {"kept_share": 0.99}, "speed": None})
    monkeypatch.setattr("sys.argv", ["identity", "--speed-records", "1000"])
    identity._save({"accuracy": [], "stability": None, "speed": {"identity_records": 1000}})
    monkeypatch.setattr("sys.argv", ["identity", "--crm-persons", "50"])
    identity._save({"accuracy": [{**other, "f1": 0.95}], "stability": None, "speed": None})

    saved = json.loads((tmp_path / "identity.json").read_text())
    assert sorted((r["data_set"], r["f1"]) for r in saved["accuracy"]) == [
        ("CRM", 0.95),
        ("FEBRL3", 0.98),
    ]
    assert saved["stability"] == {"kept_share": 0.99}
    assert saved["speed"] == {"identity_records": 1000}
    by = saved["measured_by"]
    assert by["FEBRL3"]["command"].endswith("identity --persons")
    assert by["CRM"]["command"].endswith("--crm-persons 50")
    assert by["speed"]["command"].endswith("--speed-records 1000")


def test_the_figures_page_is_rendered_from_the_reports_and_keeps_the_rest(tmp_path):
    """Each report's section is rendered from its JSON; a section whose report
    this checkout lacks stays as the page had it."""
    from benchmarks import figures

    reports = tmp_path / "benchmarks"
    reports.mkdir()
    (reports / "identity.json").write_text(
        json.dumps(
            {
                "accuracy": [
                    {
                        "data_set": "FEBRL3",
                        "method": "cdp_platform",
                        "records": 5000,
                        "precision": 0.999,
                        "recall": 0.98,
                        "f1": 0.9894,
                    }
                ],
                "stability": None,
                "speed": None,
                "measured_by": {"FEBRL3": {"command": "python -m x", "at": "2026-12-05T01:00:00"}},
            }
        )
    )
    (reports / "faults.json").write_text(json.dumps({"none": {"lost": 0, "duplicated": 0}}))
    previous = (
        "# Benchmarks\n\n<!-- report: profiles -->\n## Profiles\n\nAUC 0.857\n\n"
        "<!-- report: faults -->\n## Faults\n\nold figures\n"
    )
    page = figures.render(previous, reports)

    assert "| FEBRL3 | cdp_platform | 5,000 | 0.9990 / 0.9800 / 0.9894 |" in page
    assert "Measured by `python -m x` at 2026-12-05 01:00 UTC." in page
    assert "AUC 0.857" in page  # no profiles report here: kept as it was
    assert "| none.lost | 0 |" in page and "old figures" not in page  # rendered anew
    assert figures.render(page, reports) == page  # rendering again changes nothing
