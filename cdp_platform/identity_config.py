"""Identity settings from `config/identity.yaml`, validated on load."""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, field_validator

from cdp_platform import settings
from cdp_platform.yaml_files import CONFIG_DIR, YamlSyntaxError, read_yaml


class BlockLists(BaseModel):
    model_config = ConfigDict(extra="forbid")

    emails: list[str] = Field(default_factory=list)
    email_local_parts: list[str] = Field(default_factory=list)
    phones: list[str] = Field(default_factory=list)
    names: list[str] = Field(default_factory=list)
    # Honorifics typed before a first name: not the name.
    titles: list[str] = Field(default_factory=list)

    @field_validator("emails", "email_local_parts", "names", "titles")
    @classmethod
    def _lower(cls, values: list[str]) -> list[str]:
        return sorted({str(v).strip().lower() for v in values})

    @field_validator("phones")
    @classmethod
    def _digits(cls, values: list[str]) -> list[str]:
        return sorted({"".join(c for c in str(v) if c.isdigit()) for v in values})


IDENTIFIER_COLUMNS = (
    "user_id",
    "email",
    "email_match",
    "phone",
    "crm_record_id",
    "loyalty_card",
    "anonymous_id",
    "order_ids",
)
# Identifier columns holding a list of values per record.
LIST_COLUMNS = ("order_ids",)
# Attributes a person can be limited to a number of distinct values of.
LIMITABLE_COLUMNS = ("user_id", "crm_record_id", "loyalty_card", "email_match", "phone")


class IdentifierRule(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    column: str
    require_name_agreement: bool = True

    @field_validator("column")
    @classmethod
    def _known_column(cls, value: str) -> str:
        if value not in IDENTIFIER_COLUMNS:
            raise ValueError(
                f"unknown identifier column {value!r}; use one of {IDENTIFIER_COLUMNS}"
            )
        return value


class DeterministicRules(BaseModel):
    """Identifiers in priority order: earlier ones are trusted first."""

    model_config = ConfigDict(extra="forbid")

    identifiers: list[IdentifierRule] = Field(default_factory=list)
    max_records_per_value: int = Field(default=40, ge=2)
    first_name_similarity: float = Field(default=0.88, gt=0, le=1)


class ProbabilisticRules(BaseModel):
    model_config = ConfigDict(extra="forbid")

    enabled: bool = True
    # Links are taken down to the match probability at which, by the model's
    # own calibration, they are still right this often.
    target_precision: float = Field(default=0.99, gt=0.5, lt=1)
    # Pairs scored in this band of match probability go to the review queue.
    review_band: tuple[float, float] = (0.5, 0.95)
    # More pairs than this from the prediction blocking rules means a rule
    # has become too loose for the data (a common value, a new source).
    max_comparisons: int = Field(default=50_000_000, ge=1)


class ClusteringRules(BaseModel):
    """What one person may be: limits a user sets on identifiers."""

    model_config = ConfigDict(extra="forbid")

    # column of staging.identity_records -> most distinct values one person holds
    max_values_per_person: dict[str, int] = Field(default_factory=dict)
    # Nodes near one another are scored pair by pair up to this many in a group;
    # a larger group keeps its candidate pairs only.
    max_group_nodes: int = Field(default=500, ge=2)

    @field_validator("max_values_per_person")
    @classmethod
    def _known_columns(cls, limits: dict[str, int]) -> dict[str, int]:
        for column, limit in limits.items():
            if column not in LIMITABLE_COLUMNS:
                raise ValueError(
                    f"max_values_per_person: unknown column {column!r}; use one of {LIMITABLE_COLUMNS}"
                )
            if limit < 1:
                raise ValueError(f"max_values_per_person.{column}: must be at least 1")
        return limits


class IdentityChecks(BaseModel):
    """Bounds the identity checks hold each run to."""

    model_config = ConfigDict(extra="forbid")

    max_cluster_size: int = Field(default=200, ge=1)  # larger means an over-merge: blocks
    max_singleton_share: float = Field(default=0.95, ge=0, le=1)
    max_id_churn: float = Field(default=0.05, ge=0, le=1)  # share of earlier persons changed
    max_blocked_share: float = Field(default=0.2, ge=0, le=1)  # of emails and phones present


class IdentityConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    default_phone_region: str = "GB"
    blocked: BlockLists = Field(default_factory=BlockLists)
    # Mistyped email domains -> the domain meant, applied to the matching key only.
    email_domain_corrections: dict[str, str] = Field(default_factory=dict)
    deterministic: DeterministicRules = Field(default_factory=DeterministicRules)
    probabilistic: ProbabilisticRules = Field(default_factory=ProbabilisticRules)
    clustering: ClusteringRules = Field(default_factory=ClusteringRules)
    checks: IdentityChecks = Field(default_factory=IdentityChecks)


def load_identity_config(path: Path | None = None) -> IdentityConfig:
    """The identity settings; `CDP_IDENTITY_CONFIG` points at another file."""
    path = path or settings.identity_config_path()
    try:
        return IdentityConfig.model_validate(read_yaml(path) or {})
    except YamlSyntaxError:
        raise  # names the file, line and column already
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc


@cache
def nicknames(path: Path | None = None) -> dict[str, str]:
    """Informal first name -> the formal name it stands for, lower case."""
    path = path or CONFIG_DIR / "nicknames.csv"
    with path.open(encoding="utf-8") as handle:
        return {row["name"].strip(): row["canonical"].strip() for row in csv.DictReader(handle)}
