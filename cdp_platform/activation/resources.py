"""One Dagster resource per declared destination, holding its credentials.

Credentials are `dg.EnvVar`s named in `config/syncs.yaml`: read when a run
needs the destination, never shown in the UI and never logged.
"""

from __future__ import annotations

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


class DestinationResource(dg.ConfigurableResource):
    name: str
    spec_json: str  # the destination's declaration, without secrets
    secret: str | None = None  # from the environment variable the declaration names
    url: str | None = None

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

    def build(self, audience: str | None = None, columns: list[str] | None = None):
        """The destination client; `audience` names Braze events, `columns` a Postgres
        table's fields."""
        spec, limits = self.spec(), self.limits()
        url = self.url or spec.url
        if spec.type == "webhook":
            from cdp_platform.activation.destinations.webhook import WebhookDestination

            return WebhookDestination(url, self.secret, limits)
        if spec.type == "hubspot":
            from cdp_platform.activation.destinations.hubspot import HubSpotDestination

            return HubSpotDestination(url, self.secret, limits=limits)
        if spec.type == "braze":
            from cdp_platform.activation.destinations.braze import BrazeDestination

            return BrazeDestination(url, self.secret, audience=audience, limits=limits)
        if spec.type == "meta":
            from cdp_platform.activation.destinations.meta import MetaAudienceDestination

            return MetaAudienceDestination(url, spec.audience_id, self.secret, limits=limits)
        if spec.type == "postgres":
            from cdp_platform.activation.destinations.postgres import PostgresDestination

            raise_if_unset = self.secret
            return PostgresDestination(
                raise_if_unset, spec.table, spec.key_column, [], limits=limits
            )
        from cdp_platform.activation.destinations.files import FileExportDestination

        # A relative folder sits beside the warehouse (data/exports for the default one).
        folder = Path(spec.folder)
        if not folder.is_absolute():
            folder = settings.warehouse_path().parent / folder
        return FileExportDestination(folder, spec.format, limits)


def resource_key(destination: str) -> str:
    return f"destination_{destination}"


def destination_resources(parsed: SyncsFile) -> dict[str, DestinationResource]:
    resources = {}
    for name, spec in parsed.destinations.items():
        secret_env = spec.secret_env or spec.token_env or spec.dsn_env
        resources[resource_key(name)] = DestinationResource(
            name=name,
            spec_json=spec.model_dump_json(),
            secret=dg.EnvVar(secret_env) if secret_env else None,
            url=dg.EnvVar(spec.url_env) if spec.url_env else None,
        )
    return resources
