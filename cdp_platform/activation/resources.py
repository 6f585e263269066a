"""One Dagster resource per declared destination, holding the NAMES of its credentials.

The environment variables named in `config/syncs.yaml` are read only when a
sync builds its client, so one missing credential fails only the syncs to that
destination (with a message naming the variable and the destination) and not
the whole run's config check. Values are never shown in the UI and never logged.
"""

from __future__ import annotations

import os
from pathlib import Path

import dagster as dg

from cdp_platform import settings
from cdp_platform.activation.config import DestinationSpec, SyncsFile
from cdp_platform.activation.destinations.base import Limits

DEFAULT_LIMITS = {
    "webhook": Limits(batch_size=100, requests_per_second=20),
    "hubspot": Limits(batch_size=100, requests_per_second=9),
    "braze": Limits(batch_size=75, requests_per_second=40),
    "meta": Limits(batch_size=10_000, requests_per_second=5, max_concurrency=2),
    "postgres": Limits(batch_size=1000, requests_per_second=50, max_concurrency=2),
    "files": Limits(batch_size=10_000, requests_per_second=1000, max_concurrency=1),
}


class MissingCredentialError(dg.Failure):
    """An environment variable a destination needs is not set: only its syncs fail."""

    def __init__(self, destination: str, variable: str):
        self.destination, self.variable = destination, variable
        super().__init__(
            description=f"destination {destination!r} needs environment variable {variable}, "
            "which is not set",
            metadata={"destination": destination, "missing_environment_variable": variable},
            allow_retries=False,
        )


class DestinationResource(dg.ConfigurableResource):
    name: str
    spec_json: str  # the destination's declaration, without secrets
    # Names of environment variables (never their values), read by `build`.
    secret_env: str | None = None
    url_env: str | None = None

    def _secret(self) -> str | None:
        if self.secret_env is None:
            return None
        value = os.environ.get(self.secret_env)
        if not value:
            raise MissingCredentialError(self.name, self.secret_env)
        return value

    def _url(self, declared: str | None) -> str | None:
        """`url_env` when set in the environment, else the declared `url`."""
        if self.url_env:
            value = os.environ.get(self.url_env)
            if value:
                return value
            if not declared:
                raise MissingCredentialError(self.name, self.url_env)
        return declared

    def spec(self) -> DestinationSpec:
        return DestinationSpec.model_validate_json(self.spec_json)

    def limits(self) -> Limits:
        spec = self.spec()
        base = DEFAULT_LIMITS[spec.type]
        return Limits(
            batch_size=spec.batch_size or base.batch_size,
            requests_per_second=spec.requests_per_second or base.requests_per_second,
            max_concurrency=spec.max_concurrency or base.max_concurrency,
            timeout_seconds=base.timeout_seconds,
        )

    def build(
        self,
        audience: str | None = None,
        columns: list[str] | None = None,
        sync: str | None = None,
        erased: frozenset[str] = frozenset(),
    ):
        """The destination client; `audience` names Braze events, `columns` a Postgres
        table's fields; `sync` names a file export's parts and `erased` (person ids
        under a DELETE request) makes its removals of them erasures.

        Reads the credentials now: an unset variable raises `MissingCredentialError`,
        which fails only the sync asking for this destination."""
        spec, limits = self.spec(), self.limits()
        url = self._url(spec.url)
        secret = self._secret()
        if spec.type == "webhook":
            from cdp_platform.activation.destinations.webhook import WebhookDestination

            return WebhookDestination(url, secret, limits)
        if spec.type == "hubspot":
            from cdp_platform.activation.destinations.hubspot import HubSpotDestination

            return HubSpotDestination(url, secret, limits=limits)
        if spec.type == "braze":
            from cdp_platform.activation.destinations.braze import BrazeDestination

            return BrazeDestination(url, secret, audience=audience, limits=limits)
        if spec.type == "meta":
            from cdp_platform.activation.destinations.meta import MetaAudienceDestination

            return MetaAudienceDestination(url, spec.audience_id, secret, limits=limits)
        if spec.type == "postgres":
            from cdp_platform.activation.destinations.postgres import PostgresDestination

            return PostgresDestination(secret, spec.table, spec.key_column, [], limits=limits)
        from cdp_platform.activation.destinations.files import FileExportDestination

        # A relative folder sits beside the warehouse (data/exports for the default one).
        folder = Path(spec.folder)
        if not folder.is_absolute():
            folder = settings.warehouse_path().parent / folder
        return FileExportDestination(folder, spec.format, limits, sync=sync, erased=erased)


def resource_key(destination: str) -> str:
    return f"destination_{destination}"


def destination_resources(parsed: SyncsFile) -> dict[str, DestinationResource]:
    resources = {}
    for name, spec in parsed.destinations.items():
        # Names only: a `dg.EnvVar` would be resolved when the run starts, and one
        # unset variable would then fail the config check of every job that holds it.
        resources[resource_key(name)] = DestinationResource(
            name=name,
            spec_json=spec.model_dump_json(),
            secret_env=spec.secret_env or spec.token_env or spec.dsn_env,
            url_env=spec.url_env,
        )
    return resources
