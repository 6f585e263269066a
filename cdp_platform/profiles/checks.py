"""Checks on the profiles layer, evaluated with each materialization.

One profile per person blocks: a duplicated or missing person must not reach
segments or destinations. The others warn, and their figures are plotted run
over run in the UI.
"""

from __future__ import annotations

import dagster as dg
import duckdb
from pydantic import BaseModel, ConfigDict, Field

from cdp_platform.identity.clusters import MAP_TABLE
from cdp_platform.tables.identity import PERSON_ID_MAP

UNIQUE_CHECK = "one_profile_per_person"
EMAIL_CHECK = "valid_email_share"
PHONE_CHECK = "valid_phone_share"
TRAIT_NULLS_CHECK = "trait_null_shares_within_bounds"
CONSENT_CHECK = "consent_coverage"

EMAIL_PATTERN = r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$"
E164_PATTERN = r"^\+[1-9][0-9]{6,14}$"


class ProfileChecks(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_valid_email_share: float = Field(default=0.99, ge=0, le=1)
    min_valid_phone_share: float = Field(default=0.99, ge=0, le=1)
    # Share of persons whose email-marketing consent is known (granted or denied).
    min_consent_coverage: float = Field(default=0.2, ge=0, le=1)


def golden_check_specs() -> list[dg.AssetCheckSpec]:
    asset = "golden_profiles"
    return [
        dg.AssetCheckSpec(
            UNIQUE_CHECK,
            asset=asset,
            blocking=True,
            description=f"Exactly one profile per person of {PERSON_ID_MAP}.",
        ),
        dg.AssetCheckSpec(EMAIL_CHECK, asset=asset, description="Chosen emails are well formed."),
        dg.AssetCheckSpec(PHONE_CHECK, asset=asset, description="Chosen phones are E.164."),
    ]


def golden_checks(
    conn: duckdb.DuckDBPyConnection, table: str, bounds: ProfileChecks
) -> list[dg.AssetCheckResult]:
    rows, persons, mapped, emails, valid_emails, phones, valid_phones = conn.execute(
        f"""SELECT count(*), count(DISTINCT person_id),
                   (SELECT count(DISTINCT person_id) FROM {MAP_TABLE}),
                   count(email), count(*) FILTER (WHERE regexp_matches(email, '{EMAIL_PATTERN}')),
                   count(phone), count(*) FILTER (WHERE regexp_matches(phone, '{E164_PATTERN}'))
            FROM {table}"""
    ).fetchone()
    email_share = valid_emails / emails if emails else 1.0
    phone_share = valid_phones / phones if phones else 1.0
    return [
        dg.AssetCheckResult(
            check_name=UNIQUE_CHECK,
            passed=rows == persons == mapped,
            metadata={"profiles": rows, "distinct_persons": persons, "persons_mapped": mapped},
        ),
        _share_check(EMAIL_CHECK, email_share, bounds.min_valid_email_share, emails),
        _share_check(PHONE_CHECK, phone_share, bounds.min_valid_phone_share, phones),
    ]


def _share_check(name: str, share: float, minimum: float, of: int) -> dg.AssetCheckResult:
    return dg.AssetCheckResult(
        check_name=name,
        passed=share >= minimum,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={"share": round(share, 4), "minimum": minimum, "values": of},
    )


def traits_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            TRAIT_NULLS_CHECK,
            asset="customer_traits",
            description="Each trait with a `max_null_share` is missing for no more persons.",
        )
    ]


def traits_nulls_check(
    null_shares: dict[str, float], bounds: dict[str, float]
) -> dg.AssetCheckResult:
    over = {name: share for name, share in null_shares.items() if share > bounds.get(name, 1.0)}
    return dg.AssetCheckResult(
        check_name=TRAIT_NULLS_CHECK,
        passed=not over,
        severity=dg.AssetCheckSeverity.WARN,
        metadata={
            "traits_checked": len(bounds),
            "traits_over_bound": ", ".join(f"{n} ({s:.1%})" for n, s in over.items()) or "none",
        },
    )


def consent_check_specs() -> list[dg.AssetCheckSpec]:
    return [
        dg.AssetCheckSpec(
            CONSENT_CHECK,
            asset="consent_state",
            description="Email-marketing consent is known for at least the configured share.",
        )
    ]


def consent_check(known: int, persons: int, bounds: ProfileChecks) -> dg.AssetCheckResult:
    return _share_check(
        CONSENT_CHECK, known / persons if persons else 1.0, bounds.min_consent_coverage, persons
    )


CHURN_CHECK = "churn_model_beats_recency"
VALUE_CHECK = "value_model_beats_average_spend"


def scores_check_specs() -> list[dg.AssetCheckSpec]:
    asset = "customer_scores"
    return [
        dg.AssetCheckSpec(
            CHURN_CHECK,
            asset=asset,
            description="On the time-based holdout, the churn model ranks customers better "
            "(AUC) than days since their last purchase does.",
        ),
        dg.AssetCheckSpec(
            VALUE_CHECK,
            asset=asset,
            description="On the time-based holdout, the value model's mean absolute error is "
            "below that of predicting the average spend for everyone.",
        ),
    ]


def scores_checks(churn, value) -> list[dg.AssetCheckResult]:
    """Warn when a model is untrained or no better than the naive rule it replaces."""

    def result(name, report, model_key, baseline_key, better) -> dg.AssetCheckResult:
        if not report.trained:
            return dg.AssetCheckResult(
                check_name=name,
                passed=False,
                severity=dg.AssetCheckSeverity.WARN,
                metadata={"trained": False, "reason": report.reason},
            )
        model, baseline = report.metrics[model_key], report.metrics[baseline_key]
        return dg.AssetCheckResult(
            check_name=name,
            passed=bool(better(model, baseline)),
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "model_version": report.version,
                model_key: round(model, 4),
                baseline_key: round(baseline, 4),
            },
        )

    return [
        result(CHURN_CHECK, churn, "auc_customers", "recency_auc_customers", lambda m, b: m > b),
        result(VALUE_CHECK, value, "mae", "average_spend_mae", lambda m, b: m < b),
    ]
