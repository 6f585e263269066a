"""Churn and value scores: what a cutoff sees, how the models are judged, what they write."""

from __future__ import annotations

import random
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
import pytest

from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.profiles.scores import (
    ModelSettings,
    build_scores,
    churn_metrics,
    features_frame,
    persons_known_by,
)
from cdp_platform.resources.warehouse import create_declared_tables

START = date(2026, 1, 1)


def _warehouse(orders: list[tuple[str, str, int, float]], days: int) -> duckdb.DuckDBPyConnection:
    """A warehouse holding web orders (person, order, day, total), the identity map
    over them and the day files loaded; a person is first seen at their first order."""
    conn = duckdb.connect()
    create_declared_tables(conn)
    frame = pd.DataFrame(orders, columns=["person_id", "source_record_id", "day", "total"])
    frame["created_at"] = [
        pd.Timestamp(START + timedelta(days=d), tz="UTC") + pd.Timedelta(hours=12)
        for d in frame["day"]
    ]
    conn.register("orders_frame", frame)
    conn.execute(
        """CREATE TABLE sources.shop_orders AS SELECT source_record_id,
             CAST(created_at AS DATE) AS _partition_date, 1 AS _line,
             'paid' AS financial_status, created_at, total::DECIMAL(18,2) AS total,
             'GBP' AS currency FROM orders_frame"""
    )
    conn.execute(
        "INSERT INTO identity.person_id_map BY NAME SELECT 'shop_orders' AS source, "
        "source_record_id, person_id FROM orders_frame"
    )
    conn.execute(
        "INSERT INTO staging.identity_records BY NAME SELECT 'shop_orders' AS source, "
        "source_record_id, created_at AS observed_at FROM orders_frame"
    )
    conn.execute(
        "INSERT INTO profiles.golden_profiles BY NAME SELECT DISTINCT person_id FROM orders_frame"
    )
    conn.execute(
        f"""INSERT INTO sources.partition_loads BY NAME
            SELECT 'shop_orders' AS source, DATE '{START}' + i::INTEGER AS partition_date, 1 AS rows_loaded
            FROM range({days}) r(i)"""
    )
    conn.unregister("orders_frame")
    return conn


def _settings(churn_days: int = 30, value_days: int = 60, min_history: int = 30):
    scores = load_profiles_config().scores
    return scores.model_copy(
        update={
            "churn": ModelSettings(horizon_days=churn_days),
            "value": ModelSettings(horizon_days=value_days),
            "min_history_days": min_history,
        }
    )


def test_a_cutoff_sees_only_the_past_and_labels_only_the_horizon():
    conn = _warehouse(
        [
            ("p1", "#1", 10, 40.0),  # before the cutoff: a feature
            ("p1", "#2", 25, 15.0),  # inside the 10-day horizon: the outcome
            ("p1", "#3", 40, 99.0),  # after the horizon: neither
            ("p2", "#4", 30, 50.0),  # first seen after the cutoff: not yet a person
        ],
        days=60,
    )
    cutoff = (START + timedelta(days=20)).isoformat()
    frame = features_frame(conn, _settings(), cutoff, persons_known_by(cutoff), horizon_days=10)
    assert frame["person_id"].tolist() == ["p1"]
    row = frame.iloc[0]
    assert (row["orders"], float(row["revenue"]), row["days_since_last_order"]) == (1, 40.0, 10)
    assert (bool(row["bought"]), row["spend"]) == (True, 15.0)


def _shoppers(persons: int, days: int, seed: int = 3) -> list[tuple[str, str, int, float]]:
    """Buy-till-you-die shoppers: each buys at their own pace and basket size until
    they stop, so past frequency and spend say something about the future."""
    rng = random.Random(seed)
    orders = []
    for n in range(persons):
        day = rng.randrange(days)
        stop = day + rng.expovariate(1 / 120)
        gap = rng.choice((8, 15, 30, 60))
        basket = rng.choice((20, 50, 150))
        while day < min(stop, days):
            orders.append((f"p{n}", f"#{len(orders)}", day, round(basket * rng.uniform(0.5, 1.5))))
            day += max(1, round(rng.expovariate(1 / gap)))
    return orders


def test_models_judged_on_a_later_window_beat_the_naive_rules_and_score_everyone():
    conn = _warehouse(_shoppers(3000, 300), days=300)
    as_of = (START + timedelta(days=299)).isoformat()
    churn, value = build_scores(conn, _settings(), as_of, "profiles.golden_profiles")

    assert churn.trained and value.trained
    # Fitted two horizons back, judged one horizon back: windows that never overlap.
    assert (churn.fit_cutoff, churn.holdout_cutoff) == ("2026-08-28", "2026-09-27")
    assert churn.metrics["auc_customers"] > churn.metrics["recency_auc_customers"]
    assert churn.metrics["calibration_error"] < 0.05
    assert value.metrics["mae"] < value.metrics["average_spend_mae"]

    scores = conn.execute("SELECT * FROM profiles.customer_scores").df()
    persons = conn.execute("SELECT count(*) FROM profiles.golden_profiles").fetchone()[0]
    assert len(scores) == scores["person_id"].nunique() == persons
    assert scores["churn_probability"].between(0, 1).all()
    assert (scores["predicted_value"] >= 0).all()
    assert set(scores["churn_risk"]) <= {"high", "medium", "low"}
    assert set(scores["churn_model"]) == {churn.version}
    # Whoever bought most in the last month is the least likely to be gone.
    recent = conn.execute(
        """SELECT m.person_id FROM sources.shop_orders o
           JOIN identity.person_id_map m USING (source_record_id)
           WHERE o.created_at >= DATE '2026-09-27' GROUP BY 1 ORDER BY count(*) DESC LIMIT 20"""
    ).fetchall()
    busy = scores[scores["person_id"].isin([p for (p,) in recent])]
    assert busy["churn_probability"].mean() < scores["churn_probability"].mean()

    # The same data gives the same models and scores; each run is on record.
    build_scores(conn, _settings(), as_of, "profiles.golden_profiles")
    again = conn.execute("SELECT * FROM profiles.customer_scores").df()
    pd.testing.assert_frame_equal(scores, again)
    runs = conn.execute(
        "SELECT model, count(*), count(DISTINCT version), any_value(holdout_rows) "
        "FROM profiles.score_models GROUP BY 1 ORDER BY 1"
    ).fetchall()
    assert [(m, n, v) for m, n, v, _ in runs] == [("churn", 2, 1), ("value", 2, 1)]


def test_too_little_history_leaves_the_scores_empty_and_says_why():
    conn = _warehouse(_shoppers(200, 50), days=50)
    churn, value = build_scores(
        conn, _settings(churn_days=30), "2026-02-19", "profiles.golden_profiles"
    )
    assert not churn.trained and "needs 90 days of history, has 49" in churn.reason
    assert not value.trained
    nulls = conn.execute(
        "SELECT count(*), count(churn_probability), count(predicted_value), count(churn_model) "
        "FROM profiles.customer_scores"
    ).fetchone()
    assert nulls[0] > 0 and nulls[1:] == (0, 0, 0)
    assert conn.execute("SELECT count(*) FROM profiles.score_models").fetchone()[0] == 0


def test_churn_figures_on_known_predictions():
    frame = pd.DataFrame(
        {
            "bought": [True, True, False, False, False, True],
            "orders": [3, 1, 2, 1, 0, 0],
            "days_since_last_order": [5, 40, 10, 80, None, None],
        }
    )
    perfect = np.array([0.1, 0.2, 0.9, 0.8, 0.95, 0.3])
    metrics, calibration = churn_metrics(frame, perfect)
    assert metrics["auc_all"] == pytest.approx(1.0)
    # Recency ranks the customer who bought 10 days ago but churned below one who
    # bought 40 days ago and came back: 3 of 4 customer pairs right.
    assert metrics["recency_auc_customers"] == pytest.approx(0.75)
    assert metrics["customers"] == 4
    assert sum(n for _, _, n in calibration) == len(frame)
    assert metrics["churn_rate"] == pytest.approx(0.5)
