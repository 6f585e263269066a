"""The configuration every asset run reads, as one resource.

Resolved from the environment (`CDP_*`) once, when the code location loads,
and shown with its values under the UI's resources: an asset takes this
resource instead of reading the environment or a file path mid-run, so a run
uses the configuration its code location was loaded with.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from cdp_platform import settings
from cdp_platform.identity_config import IdentityConfig, load_identity_config


class PlatformConfig(dg.ConfigurableResource):
    """Where the configuration files and the landing zone are."""

    identity_config: str
    profiles_config: str
    landing_dir: str

    def identity(self) -> IdentityConfig:
        """`identity_config` parsed and checked."""
        return load_identity_config(Path(self.identity_config))

    @property
    def profiles_path(self) -> Path:
        return Path(self.profiles_config)

    @property
    def landing(self) -> Path:
        return Path(self.landing_dir)


def default_platform_config() -> PlatformConfig:
    return PlatformConfig(
        identity_config=str(settings.identity_config_path()),
        profiles_config=str(settings.profiles_config_path()),
        landing_dir=str(settings.landing_dir()),
    )
