"""Profile settings from `config/profiles.yaml`, validated on load."""

from __future__ import annotations

import os
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict

from cdp_platform.identity.config import CONFIG_DIR
from cdp_platform.profiles.survivorship import Survivorship


class ProfilesConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    survivorship: Survivorship


def load_profiles_config(path: Path | None = None) -> ProfilesConfig:
    """The profile settings; `CDP_PROFILES_CONFIG` points at another file."""
    path = path or Path(os.environ.get("CDP_PROFILES_CONFIG", CONFIG_DIR / "profiles.yaml"))
    try:
        return ProfilesConfig.model_validate(yaml.safe_load(path.read_text()) or {})
    except (OSError, yaml.YAMLError, ValueError) as exc:
        raise ValueError(f"{path}: {exc}") from exc
