"""Predictive scores: churn risk and customer lifetime value, learned from history.

Both models learn from the past the way they will be used: features as of a
cutoff day (the traits declared under `scores.features`, compiled like any
trait), labels from what the person did in the `horizon_days` after it.

- **Time-based holdout**: the model is fitted at cutoff `as_of - 2h` and
  judged at `as_of - h`, on a window it never saw; its figures are set
  against a naive rule (the recency heuristic for churn, average spend for
  value) on the same people.
- **Scoring**: the model is then refitted at `as_of - h`, the latest window
  whose outcome is known, and scores every person as of `as_of`.

Churn is the probability of no purchase, web or store, in the next
`churn.horizon_days`; value is the spend expected in the next
`value.horizon_days`. Gradient-boosted trees (scikit-learn) take the missing
values of people who never bought as they are, and are seeded, so a rebuild
over the same data gives the same scores and the same model version.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import duckdb
import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
from sklearn.metrics import brier_score_loss, mean_absolute_error, roc_auc_score

from cdp_platform.profiles.activity import MAP, activity_sql
from cdp_platform.profiles.traits import Trait, loaded_sources, traits_sql
from cdp_platform.tables.identity import IDENTITY_RECORDS
from cdp_platform.tables.profiles import CUSTOMER_SCORES
from cdp_platform.tables.sources import PARTITION_LOADS

SCORES_TABLE = CUSTOMER_SCORES
MODELS_TABLE = "profiles.score_models"
RECORDS = IDENTITY_RECORDS
CALIBRATION_BINS = 10
REQUIRED_FEATURES = {"orders", "days_since_last_order"}


class ModelSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    horizon_days: int = Field(gt=0)
    max_iter: int = Field(default=100, gt=0)
    learning_rate: float = Field(default=0.05, gt=0)
    min_samples_leaf: int = Field(default=200, gt=0)
    max_leaf_nodes: int = Field(default=15, gt=1)
    l2_regularization: float = Field(default=1.0, ge=0)


class Scores(BaseModel):
    model_config = ConfigDict(extra="forbid")

    churn: ModelSettings = ModelSettings(horizon_days=90)
    value: ModelSettings = ModelSettings(horizon_days=365)
    # A cutoff needs this much history before it to be worth learning from.
    min_history_days: int = Field(default=60, ge=0)
    seed: int = 7
    # Churn probability at or above `high` is high risk, at or above `medium` medium.
    risk_bands: dict[str, float] = Field(default_factory=lambda: {"high": 0.7, "medium": 0.4})
    features: list[Trait] = Field(default_factory=list)

    @model_validator(mode="after")
    def _needs_recency(self) -> Scores:
        names = {f.name for f in self.features}
        missing = sorted(REQUIRED_FEATURES - names) if self.features else []
        if missing:
            raise ValueError(f"scores.features must include {missing}")
        return self


@dataclass
class ModelReport:
    """What one model run learned and how well it did, for metadata and the models table."""

    name: str
    horizon_days: int
    trained: bool
    reason: str = ""
    version: str | None = None
    fit_cutoff: str | None = None
    holdout_cutoff: str | None = None
    training_rows: int = 0
    holdout_rows: int = 0
    metrics: dict[str, float] = field(default_factory=dict)
    calibration: list[tuple[float, float, int]] = field(default_factory=list)


def _day(value: str, days: int) -> str:
    return (date.fromisoformat(value) + timedelta(days=days)).isoformat()


def persons_known_by(cutoff: str) -> str:
    """Persons with a record observed by the end of `cutoff`: who existed then."""
    return f"""(SELECT m.person_id FROM {MAP} m
        JOIN {RECORDS} r USING (source, source_record_id)
        GROUP BY m.person_id
        HAVING min(r.observed_at) < DATE '{cutoff}' + INTERVAL 1 DAY)"""


def features_frame(
    conn: duckdb.DuckDBPyConnection,
    settings: Scores,
    cutoff: str,
    persons: str,
    horizon_days: int | None = None,
) -> pd.DataFrame:
    """Features as of `cutoff` for `persons`; with a horizon, also the outcome after it:
    `bought` (any purchase in the horizon) and `spend` (what they spent)."""
    tables = loaded_sources(conn)
    sql = traits_sql(settings.features, cutoff, persons, tables)
    if horizon_days is None:
        return conn.execute(f"{sql} ORDER BY person_id").df()
    later = activity_sql("purchases", _day(cutoff, horizon_days), tables)
    outcome = (
        f"SELECT person_id, count(*) AS purchases, sum(amount) AS spend FROM ({later}) "
        f"WHERE occurred_at >= DATE '{cutoff}' + INTERVAL 1 DAY GROUP BY person_id"
        if later
        else "SELECT NULL::VARCHAR AS person_id, 0 AS purchases, 0 AS spend WHERE false"
    )
    return conn.execute(
        f"""SELECT f.*, coalesce(o.purchases, 0) > 0 AS bought,
                   coalesce(o.spend, 0)::DOUBLE AS spend
            FROM ({sql}) f LEFT JOIN ({outcome}) o USING (person_id)
            ORDER BY person_id"""
    ).df()


def model_inputs(settings: Scores) -> list[str]:
    """The features a model sees: all but timestamps, which only feed expressions."""
    return [f.name for f in settings.features if f.column != "occurred_at"]


def _matrix(frame: pd.DataFrame, columns: list[str]) -> np.ndarray:
    return frame[columns].apply(pd.to_numeric, errors="coerce").to_numpy(dtype=float)


def _version(name: str, settings: Scores, model: ModelSettings, fit_cutoff: str) -> str:
    spec = json.dumps(
        {
            "features": [f.model_dump() for f in settings.features],
            "model": model.model_dump(),
            "seed": settings.seed,
            "fit_cutoff": fit_cutoff,
        },
        sort_keys=True,
    )
    return f"{name}-{hashlib.sha256(spec.encode()).hexdigest()[:10]}"


def _trees(kind: type, model: ModelSettings, seed: int, **options):
    return kind(
        max_iter=model.max_iter,
        learning_rate=model.learning_rate,
        min_samples_leaf=model.min_samples_leaf,
        max_leaf_nodes=model.max_leaf_nodes,
        l2_regularization=model.l2_regularization,
        random_state=seed,
        **options,
    )


def _classifier(model: ModelSettings, seed: int) -> HistGradientBoostingClassifier:
    return _trees(HistGradientBoostingClassifier, model, seed)


def _regressor(model: ModelSettings, seed: int) -> HistGradientBoostingRegressor:
    # Poisson loss: spend is never negative and mostly zero.
    return _trees(HistGradientBoostingRegressor, model, seed, loss="poisson")


def recency_heuristic(frame: pd.DataFrame) -> np.ndarray:
    """Churn score of the rule every shop starts with: the longer since the last
    purchase, the likelier gone; never bought is the likeliest."""
    days = pd.to_numeric(frame["days_since_last_order"], errors="coerce")
    return days.fillna(days.max() + 1 if days.notna().any() else 0).to_numpy(dtype=float)


def _auc(labels: np.ndarray, scores: np.ndarray) -> float:
    return float(roc_auc_score(labels, scores)) if len(set(labels)) > 1 else float("nan")


def calibration_table(churned: np.ndarray, probability: np.ndarray) -> list:
    """(mean predicted, observed share, persons) per bin of equal size by predicted churn."""
    bins = pd.qcut(probability, CALIBRATION_BINS, duplicates="drop")
    table = (
        pd.DataFrame({"p": probability, "o": churned.astype(float), "bin": bins})
        .groupby("bin", observed=True)
        .agg(p=("p", "mean"), o=("o", "mean"), n=("p", "size"))
    )
    return [(float(r.p), float(r.o), int(r.n)) for r in table.itertuples()]


def churn_metrics(frame: pd.DataFrame, probability: np.ndarray) -> tuple[dict, list]:
    """AUC (everyone and customers), Brier score and calibration error of the churn
    probability on a holdout frame, beside the recency heuristic's AUC."""
    churned = (~frame["bought"].astype(bool)).to_numpy()
    heuristic = recency_heuristic(frame)
    customers = (pd.to_numeric(frame["orders"], errors="coerce").fillna(0) > 0).to_numpy()
    calibration = calibration_table(churned, probability)
    metrics = {
        "auc_customers": _auc(churned[customers], probability[customers]),
        "recency_auc_customers": _auc(churned[customers], heuristic[customers]),
        "auc_all": _auc(churned, probability),
        "recency_auc_all": _auc(churned, heuristic),
        "brier": float(brier_score_loss(churned, probability)),
        # Gap between predicted and observed churn, weighted over equal-sized bins.
        "calibration_error": float(
            sum(abs(p - o) * n for p, o, n in calibration) / max(1, len(churned))
        ),
        "churn_rate": float(churned.mean()),
        "customers": int(customers.sum()),
    }
    return metrics, calibration


def value_metrics(frame: pd.DataFrame, predicted: np.ndarray, horizon_days: int, mean: float):
    """Error of the value prediction on a holdout frame against two naive rules:
    everyone spends the average (`mean`, learned on the fitting window), and
    each person spends what they spent in the horizon before."""
    actual = frame["spend"].to_numpy(dtype=float)
    repeat = last_window_spend(frame, horizon_days)
    average = np.full_like(actual, mean)

    def rmse(guess: np.ndarray) -> float:
        return float(np.sqrt(np.mean((actual - guess) ** 2)))

    return {
        "mae": float(mean_absolute_error(actual, predicted)),
        "rmse": rmse(predicted),
        "average_spend_mae": float(mean_absolute_error(actual, average)),
        "average_spend_rmse": rmse(average),
        "last_window_mae": float(mean_absolute_error(actual, repeat)),
        "last_window_rmse": rmse(repeat),
        "predicted_total": float(predicted.sum()),
        "actual_total": float(actual.sum()),
    }


def last_window_spend(frame: pd.DataFrame, horizon_days: int) -> np.ndarray:
    """Spend over the last `horizon_days` before the cutoff, from the revenue features
    with the nearest window (scaled to the horizon)."""
    windows = {90: "revenue_90d", 365: "revenue_365d"}
    nearest = min(windows, key=lambda w: abs(w - horizon_days))
    column = windows[nearest]
    if column not in frame:
        return np.zeros(len(frame))
    spent = pd.to_numeric(frame[column], errors="coerce").fillna(0).to_numpy(dtype=float)
    return spent * horizon_days / nearest


def _cutoffs(as_of: str, first_day: str, horizon: int, min_history: int):
    fit, holdout = _day(as_of, -2 * horizon), _day(as_of, -horizon)
    history = (date.fromisoformat(fit) - date.fromisoformat(first_day)).days
    needed = 2 * horizon + min_history
    if history < min_history:
        span = (date.fromisoformat(as_of) - date.fromisoformat(first_day)).days
        return None, f"needs {needed} days of history, has {span}"
    return (fit, holdout), ""


def _fit(estimator, frame: pd.DataFrame, target: pd.Series, settings: Scores):
    # A feature nobody has a value for (a source not loaded) carries nothing to learn.
    columns = [c for c in model_inputs(settings) if frame[c].notna().any()]
    return estimator.fit(_matrix(frame, columns), target), columns


def _predict(fitted, frame: pd.DataFrame) -> np.ndarray:
    estimator, columns = fitted
    features = _matrix(frame, columns)
    if isinstance(estimator, HistGradientBoostingClassifier):
        return estimator.predict_proba(features)[:, 1]
    return estimator.predict(features)


# What each model learns: how it is built and its target in a labelled frame.
MODELS = {
    "churn": (_classifier, lambda frame: ~frame["bought"].astype(bool)),
    "value": (_regressor, lambda frame: frame["spend"]),
}
MIN_TRAINING_ROWS = 50


def train(
    conn: duckdb.DuckDBPyConnection,
    settings: Scores,
    name: str,
    as_of: str,
    first_day: str,
    score_frame: pd.DataFrame,
) -> tuple[ModelReport, np.ndarray | None]:
    """Fit model `name`, judge it on the holdout, refit on the latest known window and
    score `score_frame`; None for the scores when history is too short to learn from."""
    model: ModelSettings = getattr(settings, name)
    make, target = MODELS[name]
    cutoffs, reason = _cutoffs(as_of, first_day, model.horizon_days, settings.min_history_days)
    report = ModelReport(name, model.horizon_days, trained=False, reason=reason)
    if cutoffs is None:
        return report, None
    fit_cut, holdout_cut = cutoffs
    fit, holdout = (
        features_frame(conn, settings, cut, persons_known_by(cut), model.horizon_days)
        for cut in cutoffs
    )
    for frame, cut in ((fit, fit_cut), (holdout, holdout_cut)):
        if len(frame) < MIN_TRAINING_ROWS or target(frame).nunique() < 2:
            report.reason = (
                f"{len(frame)} persons known at {cut}, all with one outcome or under "
                f"{MIN_TRAINING_ROWS}: nothing to learn from"
            )
            return report, None
    predicted = _predict(_fit(make(model, settings.seed), fit, target(fit), settings), holdout)
    if name == "churn":
        report.metrics, report.calibration = churn_metrics(holdout, predicted)
    else:
        average = float(fit["spend"].mean())
        report.metrics = value_metrics(holdout, predicted, model.horizon_days, average)
    # Refit on the latest window whose outcome is known, then score today.
    final = _fit(make(model, settings.seed), holdout, target(holdout), settings)
    report.trained, report.version = True, _version(name, settings, model, holdout_cut)
    report.fit_cutoff, report.holdout_cutoff = fit_cut, holdout_cut
    report.training_rows, report.holdout_rows = len(fit), len(holdout)
    return report, _predict(final, score_frame)


def first_loaded_day(conn: duckdb.DuckDBPyConnection) -> str | None:
    day = conn.execute(
        f"SELECT min(partition_date) FROM {PARTITION_LOADS} WHERE rows_loaded > 0"
    ).fetchone()[0]
    return str(day) if day else None


def risk_band_sql(bands: dict[str, float]) -> str:
    """`churn_risk`: the highest band whose floor the probability reaches, else low."""
    cases = " ".join(
        f"WHEN churn_probability >= {floor!r} THEN '{band}'"
        for band, floor in sorted(bands.items(), key=lambda kv: -kv[1])
    )
    return (
        f"CASE WHEN churn_probability IS NULL THEN NULL {cases} ELSE 'low' END::VARCHAR "
        "AS churn_risk"
    )


def build_scores(
    conn: duckdb.DuckDBPyConnection, settings: Scores, as_of: str, persons: str
) -> list[ModelReport]:
    """Train both models, score every person of `persons` as of `as_of` into
    `profiles.customer_scores`, and append each model run to `profiles.score_models`."""
    first_day = first_loaded_day(conn) or as_of
    score_frame = features_frame(conn, settings, as_of, persons)
    churn, churn_p = train(conn, settings, "churn", as_of, first_day, score_frame)
    value, value_p = train(conn, settings, "value", as_of, first_day, score_frame)
    none = np.full(len(score_frame), np.nan)
    churn_p = none if churn_p is None else churn_p
    scores = pd.DataFrame(
        {
            "person_id": score_frame["person_id"],
            "as_of": date.fromisoformat(as_of),
            "churn_probability": np.round(churn_p, 4),
            "predicted_value": np.round(none if value_p is None else value_p, 2),
            "churn_model": churn.version,
            "value_model": value.version,
        }
    )
    conn.execute("CREATE SCHEMA IF NOT EXISTS profiles")
    conn.register("scores_frame", scores)
    try:
        conn.execute(
            f"CREATE OR REPLACE TABLE {SCORES_TABLE} AS "
            # Typed here: a model that did not train leaves its columns all NULL.
            "SELECT person_id::VARCHAR AS person_id, as_of::DATE AS as_of, "
            f"churn_probability::DOUBLE AS churn_probability, {risk_band_sql(settings.risk_bands)}, "
            "predicted_value::DECIMAL(18,2) AS predicted_value, "
            "churn_model::VARCHAR AS churn_model, value_model::VARCHAR AS value_model "
            "FROM scores_frame ORDER BY person_id"
        )
    finally:
        conn.unregister("scores_frame")
    _record_models(conn, as_of, [churn, value])
    return [churn, value]


def _record_models(conn: duckdb.DuckDBPyConnection, as_of: str, reports: list[ModelReport]):
    conn.execute(
        f"""CREATE TABLE IF NOT EXISTS {MODELS_TABLE} (
              model VARCHAR, version VARCHAR, as_of DATE, horizon_days INTEGER,
              fit_cutoff DATE, holdout_cutoff DATE, training_rows BIGINT, holdout_rows BIGINT,
              metrics JSON, trained_at TIMESTAMPTZ)"""
    )
    for r in reports:
        if r.trained:
            conn.execute(
                f"INSERT INTO {MODELS_TABLE} VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, now())",
                [
                    r.name,
                    r.version,
                    as_of,
                    r.horizon_days,
                    r.fit_cutoff,
                    r.holdout_cutoff,
                    r.training_rows,
                    r.holdout_rows,
                    json.dumps(r.metrics),
                ],
            )


def model_summary(report: ModelReport) -> list[tuple[str, str]]:
    """One model run as (measure, value) rows: windows, sizes and holdout figures."""
    if not report.trained:
        return [("not trained", report.reason or "")]
    return [
        ("version", report.version),
        ("horizon", f"{report.horizon_days} days"),
        ("fitted at cutoff", report.fit_cutoff),
        ("judged at cutoff (holdout)", report.holdout_cutoff),
        ("scoring model fitted at", report.holdout_cutoff),
        ("rows fitted / judged", f"{report.training_rows:,} / {report.holdout_rows:,}"),
        *(
            (name, f"{value:,}" if isinstance(value, int) else f"{value:,.4f}")
            for name, value in report.metrics.items()
        ),
    ]
