"""Profile settings from `config/profiles.yaml`, validated on load."""

from __future__ import annotations

from datetime import date
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from cdp_platform import settings
from cdp_platform.profiles.account_traits import AccountsConfig
from cdp_platform.profiles.checks import ProfileChecks
from cdp_platform.profiles.scores import Scores
from cdp_platform.profiles.survivorship import Survivorship
from cdp_platform.profiles.traits import Trait, check_expressions
from cdp_platform.yaml_files import YamlSyntaxError, read_yaml


class ProfilesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survivorship: Survivorship
    # The day trait windows count back from; None: the latest day loaded.
    as_of: date | None = None
    traits: list[Trait] = Field(default_factory=list)
    checks: ProfileChecks = Field(default_factory=ProfileChecks)
    scores: Scores = Field(default_factory=Scores)
    accounts: AccountsConfig = Field(default_factory=AccountsConfig)

    @model_validator(mode="after")
    def _unique_trait_names(self) -> ProfilesConfig:
        names = [t.name for t in self.traits]
        repeated = sorted({n for n in names if names.count(n) > 1})
        if repeated:
            raise ValueError(f"traits declared twice: {repeated}")
        check_expressions(self.traits)
        return self


def load_profiles_config(path: Path | None = None) -> ProfilesConfig:
    """The profile settings; `CDP_PROFILES_CONFIG` points at another file."""
    path = path or settings.profiles_config_path()
    try:
        return ProfilesConfig.model_validate(read_yaml(path) or {})
    except YamlSyntaxError:
        raise  # names the file, line and column already
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
