"""One partitioned asset per landing source, built by a factory from the specs."""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from cdp_platform.resources.configuration import PlatformConfig
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.source_contracts import SOURCES, SourceSpec
from cdp_platform.sources.checks import check_specs, run_checks
from cdp_platform.sources.landing import day_file_path, scan_landing
from cdp_platform.sources.loading import LoadResult, write_partitions
from cdp_platform.sources.metadata import (
    column_schema,
    ignored_files_metadata,
    load_metadata,
    partition_metadata,
)
from cdp_platform.sources.partitions import daily_partitions
from cdp_platform.sources.readers import (
    ParsedFile,
    SourceFileError,
    parsed_from_records,
    read_day_file,
)
from cdp_platform.tables.sources import QUARANTINE

GROUP = "sources"


def read_landing_partitions(
    landing: Path, spec: SourceSpec, days: list[str], failed: dict[str, str]
) -> Iterator[tuple[str, str | None, ParsedFile | None]]:
    """Yield (day, file label, parsed file) for each day; unreadable files go to `failed`."""
    for day in days:
        path = day_file_path(landing, spec, day)
        if not path.exists():
            yield day, None, None
            continue
        try:
            yield day, f"{spec.name}/{path.name}", read_day_file(path, spec)
        except SourceFileError as exc:
            failed[day] = str(exc)


def read_api_partitions(
    client, spec: SourceSpec, days: list[str], stats: dict[str, object]
) -> Iterator[tuple[str, str | None, ParsedFile | None]]:
    """Pull the records last modified within `days` and split them by day.

    A record whose modification time cannot be read is kept with the first
    day, where typing quarantines it with the reason.
    """
    window_start = datetime.fromisoformat(days[0]).replace(tzinfo=UTC)
    window_end = datetime.fromisoformat(days[-1]).replace(tzinfo=UTC) + timedelta(days=1)
    pull = client.fetch_contacts(modified_after=window_start, modified_before=window_end)
    stats.update(
        api_cursor=pull.cursor.isoformat() if pull.cursor else None,
        api_pages=pull.pages,
        api_requests=pull.requests,
        api_retries=pull.retries,
        api_records=len(pull.rows),
    )
    modified_field = spec.column(spec.modified_at).name
    by_day: dict[str, list[dict]] = {day: [] for day in days}
    for row in pull.rows:
        by_day.get(_utc_day(row.get(modified_field)), by_day[days[0]]).append(row)
    for day in days:
        label = f"api:/crm/v3/objects/contacts@{day}"
        yield day, label, parsed_from_records(by_day[day], spec, label) if by_day[day] else None


def _utc_day(value: str | None) -> str | None:
    try:
        return datetime.fromisoformat(value).astimezone(UTC).date().isoformat() if value else None
    except ValueError:
        return None


def _report_failures(
    context: dg.AssetExecutionContext, spec: SourceSpec, result: LoadResult, failed: dict[str, str]
) -> None:
    """Record the good partitions, then fail the step naming every unreadable file.

    The good partitions were written and committed, so they are reported as
    materialized one by one; only the days whose file failed are left failed.
    """
    for part in result.partitions:
        context.log_event(
            dg.AssetMaterialization(
                asset_key=context.asset_key,
                partition=part.partition_date,
                metadata=partition_metadata(part),
            )
        )
    problems = "\n".join(f"- {failed[day]}" for day in sorted(failed))
    raise dg.Failure(
        description=f"{len(failed)} {spec.name} file(s) could not be read:\n{problems}",
        metadata={"failed_partitions": dg.MetadataValue.json(sorted(failed))},
        allow_retries=False,
    )


def build_source_asset(spec: SourceSpec, from_api: bool = False) -> dg.AssetsDefinition:
    """The asset of one source; `from_api` pulls it through the `hubspot` resource."""
    kind = "csv" if spec.format == "csv" else "json"
    origin = (
        "Pulled from the HubSpot-shaped contacts API (`GET /crm/v3/objects/contacts`), "
        "the contacts last modified within each partition's day"
        if from_api
        else f"Reads `<landing>/{spec.name}/<day>.{spec.extension}` per daily partition"
    )

    @dg.asset(
        name=spec.name,
        group_name=GROUP,
        description=(
            f"{spec.description}\n\n{origin} into `{spec.raw_table}` (every version) and rebuilds "
            f"`{spec.current_table}` (latest version per `{spec.column(spec.key).name}`). "
            f"Rows that cannot be loaded go to `{QUARANTINE}` with the reason."
        ),
        partitions_def=daily_partitions(),
        backfill_policy=dg.BackfillPolicy.single_run(),
        pool="warehouse",
        kinds={"duckdb", "hubspot" if from_api else kind},
        # Declared here rather than as parameters, since only the API variant needs `hubspot`.
        required_resource_keys={"warehouse", "platform_config", *(["hubspot"] if from_api else [])},
        check_specs=check_specs(spec),
        owners=[spec.owner],
        tags={"layer": "sources"},
        metadata={
            "dagster/column_schema": column_schema(spec),
            "dagster/table_name": spec.current_table,
            "landing_folder": spec.name,
        },
    )
    def _source_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        warehouse: WarehouseResource = context.resources.warehouse
        platform_config: PlatformConfig = context.resources.platform_config
        days = list(context.partition_keys)
        failed: dict[str, str] = {}
        api_stats: dict[str, object] = {}
        ignored_stats: dict[str, object] = {}
        if from_api:
            files = read_api_partitions(context.resources.hubspot, spec, days, api_stats)
        else:
            landing = platform_config.landing
            files = read_landing_partitions(landing, spec, days, failed)
            ignored = scan_landing(
                landing, daily_partitions().get_partition_keys(), [spec.name]
            ).problems
            ignored_stats = ignored_files_metadata(ignored)
            if ignored:
                context.log.warning(
                    f"{spec.name}: {len(ignored)} landing file(s) not loaded, "
                    f"the first {ignored[0]} (see `ignored_files` in the metadata)"
                )
        with warehouse.get_connection() as conn:
            result = write_partitions(
                conn,
                spec,
                files,
                context.run.run_id,
                phone_region=platform_config.identity().default_phone_region,
            )
            metadata = {
                **load_metadata(conn, spec, result, sorted(failed)),
                **api_stats,
                **ignored_stats,
            }
            checks = run_checks(conn, spec, result)
        for part in result.partitions:
            context.add_asset_metadata(partition_metadata(part), partition_key=part.partition_date)
        context.log.info(
            f"{spec.name}: {len(days)} partition(s), {result.rows_loaded} rows loaded, "
            f"{result.rows_quarantined} quarantined, {len(failed)} file(s) failed"
        )
        if failed:
            _report_failures(context, spec, result, failed)
        return dg.MaterializeResult(metadata=metadata, check_results=checks)

    return _source_asset


def source_assets(crm_from_api: bool) -> list[dg.AssetsDefinition]:
    """Every source's asset; with `crm_from_api`, CRM contacts come from the API."""
    return [
        build_source_asset(spec, from_api=crm_from_api and spec.name == "crm_contacts")
        for spec in SOURCES.values()
    ]
