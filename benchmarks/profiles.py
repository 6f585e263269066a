"""Profiles layer: speed of the whole group, and how good the predictive scores are.

    python -m benchmarks.profiles [--persons 100000] [--days 900]

Generates the data set (by default two and a half years of history, so the
12-month value model has a window to be judged on), runs the whole pipeline
once (`cdp run`), then materializes the `profiles` group again in its own
process and prints each asset's time, the layer's wall time and peak memory,
then the churn and value models' holdout figures against their naive rules.
Writes `data/benchmarks/profiles.json`.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from benchmarks.layers import layer_arguments, load_warehouse, measure_group
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform.summary import render_table

REPORT = PROJECT_ROOT / "data" / "benchmarks" / "profiles.json"
PROFILES_GROUP = "profiles"


def profile_counts(conn) -> dict:
    """How many golden profiles and accounts the warehouse holds."""
    count = "SELECT count(*) FROM profiles.{}"
    return {
        "profiles": conn.execute(count.format("golden_profiles")).fetchone()[0],
        "accounts": conn.execute(count.format("accounts")).fetchone()[0],
    }


def latest_models(conn) -> dict:
    """The last run of each model: version, windows and holdout metrics."""
    rows = conn.execute(
        """SELECT model, version, horizon_days, fit_cutoff, holdout_cutoff, training_rows,
                  holdout_rows, metrics
           FROM profiles.score_models QUALIFY row_number() OVER (
             PARTITION BY model ORDER BY trained_at DESC) = 1"""
    ).fetchall()
    return {
        model: {
            "version": version,
            "horizon_days": horizon,
            "fit_cutoff": str(fit),
            "holdout_cutoff": str(holdout),
            "training_rows": fitted,
            "holdout_rows": judged,
            "metrics": json.loads(metrics),
        }
        for model, version, horizon, fit, holdout, fitted, judged, metrics in rows
    }


def model_rows(models: dict) -> list[tuple]:
    rows = []
    churn = models.get("churn", {}).get("metrics")
    if churn:
        name = f"churn {models['churn']['horizon_days']}d"
        for label, model, naive in (
            ("AUC, customers", "auc_customers", "recency_auc_customers"),
            ("AUC, everyone", "auc_all", "recency_auc_all"),
        ):
            rows.append((name, label, f"{churn[model]:.4f}", f"{churn[naive]:.4f}"))
        rows.append((name, "Brier score", f"{churn['brier']:.4f}", ""))
        rows.append((name, "calibration error", f"{churn['calibration_error']:.4f}", ""))
    value = models.get("value", {}).get("metrics")
    if value:
        horizon = models["value"]["horizon_days"]
        for label, model, naive in (
            ("MAE vs average spend", "mae", "average_spend_mae"),
            ("RMSE vs average spend", "rmse", "average_spend_rmse"),
            ("MAE vs last period's spend", "mae", "last_window_mae"),
        ):
            rows.append((f"value {horizon}d", label, f"{value[model]:.2f}", f"{value[naive]:.2f}"))
    return rows or [("(none)", "history too short to train", "", "")]


def main() -> None:
    args = layer_arguments(__doc__)
    with tempfile.TemporaryDirectory(prefix="cdp-bench-profiles-") as tmp:
        warehouse, env = load_warehouse(Path(tmp), args.persons, args.days, args.start)
        layer = measure_group(PROFILES_GROUP, warehouse, env)
        from cdp_platform.resources.warehouse import connect

        with connect(warehouse, read_only=True) as conn:
            counts = profile_counts(conn)
            models = latest_models(conn)
    persons, accounts = counts["profiles"], counts["accounts"]
    report = {
        "generated_persons": args.persons,
        "days": args.days,
        "profiles": persons,
        "accounts": accounts,
        "layer": layer.as_dict(),
        "models": models,
    }
    REPORT.parent.mkdir(parents=True, exist_ok=True)
    REPORT.write_text(json.dumps(report, indent=2))
    print()
    print(
        render_table(
            ["measure", "value"],
            [
                ("profiles built", persons),
                ("accounts", accounts),
                ("profiles layer seconds", f"{layer.seconds:.1f}"),
                ("peak MiB", f"{layer.peak_rss_mib:,.0f}"),
            ],
        )
    )
    print()
    print(render_table(["model", "holdout figure", "model", "naive rule"], model_rows(models)))
    print(f"\nReport: {REPORT}")


if __name__ == "__main__":
    main()
