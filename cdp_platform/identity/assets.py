"""Assets of the staging and identity layers."""

import dagster as dg

from cdp_platform.identity.config import load_identity_config
from cdp_platform.identity.records import TABLE, build_identity_records
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.sources.contracts import PERSON_SOURCES

PII = {"pii": ""}

IDENTITY_RECORD_COLUMNS = dg.TableSchema(
    columns=[
        dg.TableColumn("source", "VARCHAR", "landing source"),
        dg.TableColumn("source_record_id", "VARCHAR", "natural key in that source"),
        dg.TableColumn("first_name", "VARCHAR", "lower case, plain letters", tags=PII),
        dg.TableColumn("last_name", "VARCHAR", "lower case, plain letters", tags=PII),
        dg.TableColumn("email", "VARCHAR", "trimmed, lower case, valid, not blocked", tags=PII),
        dg.TableColumn("phone", "VARCHAR", "E.164", tags=PII),
        dg.TableColumn("street", "VARCHAR", "abbreviations expanded", tags=PII),
        dg.TableColumn("city", "VARCHAR"),
        dg.TableColumn("postcode", "VARCHAR", "upper case, no spaces", tags=PII),
        dg.TableColumn("country", "VARCHAR", "ISO 3166 alpha-2"),
        dg.TableColumn("user_id", "VARCHAR", "web shop account id (Segment userId)"),
        dg.TableColumn("anonymous_id", "VARCHAR", "browser id (web events)"),
        dg.TableColumn("crm_record_id", "VARCHAR"),
        dg.TableColumn("loyalty_card", "VARCHAR"),
        dg.TableColumn("observed_at", "TIMESTAMPTZ", "the record's latest change"),
        dg.TableColumn("dob", "DATE", "date of birth", tags=PII),
        dg.TableColumn(
            "first_name_canonical", "VARCHAR", "nickname resolved (bob -> robert)", tags=PII
        ),
        dg.TableColumn(
            "email_match", "VARCHAR", "email with +tags and gmail dots folded", tags=PII
        ),
    ]
)


@dg.asset(
    name="identity_records",
    group_name="staging",
    description=(
        "One standardised row per person-bearing source record (per anonymousId for web "
        f"events) in `{TABLE}`: names, emails, E.164 phones, birth dates, postcodes, streets "
        "and strong identifiers in one spelling; block-listed values are NULL."
    ),
    deps=list(PERSON_SOURCES),
    pool="warehouse",
    kinds={"duckdb", "sql"},
    owners=["team:data-platform"],
    tags={"layer": "staging"},
    metadata={"dagster/column_schema": IDENTITY_RECORD_COLUMNS, "dagster/table_name": TABLE},
)
def identity_records(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    config = load_identity_config()
    with warehouse.get_connection() as conn:
        summary = build_identity_records(conn, config)
    rows = "\n".join(f"| {source} | {n:,} |" for source, n in summary.by_source.items())
    fill = "\n".join(f"| {field} | {share:.1%} |" for field, share in summary.filled.items())
    context.log.info(f"identity_records: {sum(summary.by_source.values())} records")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(summary.by_source.values()),
            "records_by_source": dg.MetadataValue.md(f"| source | records |\n|---|---|\n{rows}"),
            "fields_present": dg.MetadataValue.md(f"| field | present |\n|---|---|\n{fill}"),
            "emails_blocked_or_invalid": summary.blocked["email"],
            "phones_blocked_or_invalid": summary.blocked["phone"],
        }
    )
