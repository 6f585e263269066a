"""No personal data in the Dagster instance: every run log, event and metadata entry."""

from __future__ import annotations

from datetime import date

import dagster as dg
from dagster._serdes import serialize_value

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.pipeline import run_pipeline


def test_the_whole_pipeline_leaves_no_personal_data_in_logs_events_or_metadata(
    landing, query, tmp_path, monkeypatch
):
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    generate(landing.parent, persons=150, days=6, start=date(2026, 8, 1), seed=21)
    assert run_pipeline(build_definitions(), landing, log_level="DEBUG").success

    # Distinctive values: every email and phone any record carries, and full names.
    values = {
        v
        for (v,) in query(
            "SELECT email FROM staging.identity_records WHERE email IS NOT NULL UNION "
            "SELECT phone FROM staging.identity_records WHERE phone IS NOT NULL UNION "
            "SELECT first_name || ' ' || last_name FROM profiles.golden_profiles "
            "WHERE first_name IS NOT NULL AND last_name IS NOT NULL"
        )
    }
    assert len(values) > 200

    instance = dg.DagsterInstance.get()
    runs = instance.get_runs()
    assert len(runs) >= 2
    texts = []
    for run in runs:
        for entry in instance.all_logs(run.run_id):
            texts.append(serialize_value(entry))
    blob = "\n".join(texts).lower()
    assert len(blob) > 100_000  # the logs, events and metadata of every step
    # The search sees metadata: the masked samples name persons by their ids.
    person_ids = [p for (p,) in query("SELECT person_id FROM profiles.golden_profiles")]
    assert any(p in blob for p in person_ids)
    leaked = sorted(v for v in values if v.lower() in blob)
    assert leaked == []
