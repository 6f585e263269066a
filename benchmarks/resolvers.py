"""Run one identity resolver over a loaded warehouse, for the benchmarks.

    python -m benchmarks.resolvers platform WAREHOUSE
    python -m benchmarks.resolvers splink WAREHOUSE

`platform` materializes the staging and identity layers with a freshly
trained model: what a first run or a retrain costs. `splink` runs Splink
alone on the same standardised records with default-style settings (the
comparison library's name, date, email and postcode comparisons, street
distance, exact phone, town and account id; no deterministic rules, no merge protection) and clusters
its pairs at the same threshold into connected components, writing
`bench.splink_alone_map`. Each is run in its own process by the benchmark,
which measures its wall time and peak memory.
"""

from __future__ import annotations

import argparse
import logging
import os
import time
from pathlib import Path

from cdp_platform.identity.splink_model import EM_MAX_PAIRS, SEED, splink_connection
from cdp_platform.identity.splink_runtime import SplinkRuntime
from cdp_platform.resources.warehouse import connect

SPLINK_ALONE_MAP = "bench.splink_alone_map"
THRESHOLD = 0.9
INPUT = """
SELECT source || ':' || source_record_id AS unique_id, first_name, last_name,
       CAST(dob AS VARCHAR) AS dob, email, phone, postcode, street, city, user_id
FROM staging.identity_records
WHERE first_name IS NOT NULL OR last_name IS NOT NULL OR email IS NOT NULL
   OR phone IS NOT NULL OR user_id IS NOT NULL
"""


def run_platform(warehouse: Path) -> None:
    os.environ["CDP_WAREHOUSE"] = str(warehouse)
    import dagster as dg

    from cdp_platform.definitions import build_definitions

    defs = build_definitions()
    result = dg.materialize(
        assets=list(defs.assets),
        selection=dg.AssetSelection.groups("staging", "identity"),
        resources=defs.resources,
        run_config={"ops": {"identity_model": {"config": {"retrain": True}}}},
        instance=dg.DagsterInstance.ephemeral(),
    )
    if not result.success:
        raise SystemExit("identity layers failed")
    for event in result.all_events:
        if event.is_step_success:
            seconds = event.event_specific_data.duration_ms / 1000
            print(f"platform: {event.step_key} in {seconds:.1f} s")


def splink_alone_settings():
    import splink.comparison_library as cl
    from splink import SettingsCreator, block_on

    return SettingsCreator(
        link_type="dedupe_only",
        comparisons=[
            cl.NameComparison("first_name").configure(term_frequency_adjustments=True),
            cl.NameComparison("last_name").configure(term_frequency_adjustments=True),
            cl.DateOfBirthComparison("dob", input_is_string=True),
            cl.EmailComparison("email"),
            cl.ExactMatch("phone"),
            cl.PostcodeComparison("postcode"),
            cl.LevenshteinAtThresholds("street", 2),
            cl.ExactMatch("city"),
            cl.ExactMatch("user_id"),
        ],
        blocking_rules_to_generate_predictions=[
            block_on("email"),
            block_on("phone"),
            block_on("user_id"),
            block_on("first_name", "last_name"),
            block_on("last_name", "dob"),
            block_on("postcode", "last_name"),
        ],
    )


def run_splink_alone(warehouse: Path) -> None:
    from splink import DuckDBAPI, Linker, block_on
    from splink.internals.exceptions import EMTrainingException

    started = time.perf_counter()
    with connect(warehouse) as conn:
        records = conn.execute(INPUT).to_arrow_table()
    con = splink_connection(SplinkRuntime.beside(warehouse))
    try:
        linker = Linker(
            DuckDBAPI(connection=con).register(records),
            splink_alone_settings(),
            log_level=logging.WARNING,
        )
        linker.training.estimate_probability_two_random_records_match(
            [block_on("first_name", "last_name", "dob"), block_on("email")], recall=0.7
        )
        linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=SEED)
        for rule in (("first_name", "last_name"), ("dob",), ("email",), ("phone",), ("postcode",)):
            try:
                linker.training.estimate_parameters_using_expectation_maximisation(
                    block_on(*rule), max_pairs=EM_MAX_PAIRS
                )
            except (EMTrainingException, ValueError):
                # A field this data set lacks (FEBRL has no emails), or a level a
                # small set never observes (Splink refuses an m of 0).
                continue
        trained = time.perf_counter()
        pairs = linker.inference.predict(threshold_match_probability=THRESHOLD)
        predicted = time.perf_counter()
        clusters = linker.clustering.cluster_pairwise_predictions_at_threshold(pairs, THRESHOLD)
        print(
            f"splink alone: read and trained in {trained - started:.1f} s, predicted in "
            f"{predicted - trained:.1f} s, clustered in {time.perf_counter() - predicted:.1f} s"
        )
        mapped = con.execute(
            f"SELECT unique_id, cluster_id FROM {clusters.physical_name}"
        ).to_arrow_table()
    finally:
        con.close()
    with connect(warehouse) as conn:
        conn.register("_clusters", mapped)
        conn.execute("CREATE SCHEMA IF NOT EXISTS bench")
        # Records Splink had nothing to compare on are people of their own.
        conn.execute(
            f"""CREATE OR REPLACE TABLE {SPLINK_ALONE_MAP} AS
            SELECT r.source, r.source_record_id,
                   coalesce(c.cluster_id, r.source || ':' || r.source_record_id) AS person_id
            FROM staging.identity_records r
            LEFT JOIN _clusters c ON c.unique_id = r.source || ':' || r.source_record_id"""
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("resolver", choices=["platform", "splink"])
    parser.add_argument("warehouse", type=Path)
    args = parser.parse_args()
    (run_platform if args.resolver == "platform" else run_splink_alone)(args.warehouse)


if __name__ == "__main__":
    main()
