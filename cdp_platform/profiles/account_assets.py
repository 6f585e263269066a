"""Assets of B2B accounts: the accounts, their traits, and lead scores."""

import dagster as dg

from cdp_platform.metadata_tables import metadata_table
from cdp_platform.profiles.account_traits import (
    ACCOUNT_LEAD_SCORES_TABLE,
    ACCOUNT_TRAITS_TABLE,
    LEAD_SCORES_TABLE,
    build_account_traits,
    build_lead_scores,
)
from cdp_platform.profiles.accounts import ACCOUNTS_TABLE, MEMBERS_TABLE, build_accounts
from cdp_platform.profiles.assets import PROFILES_ASSET
from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.resources.configuration import PlatformConfig
from cdp_platform.resources.warehouse import WarehouseResource
from cdp_platform.tables.profiles import ACCOUNTS, LEAD_SCORES


def account_traits_schema() -> dg.TableSchema:
    """The account traits table's columns, from the declared traits."""
    columns = [dg.TableColumn("account_id", "VARCHAR", "the account")]
    for trait in load_profiles_config().accounts.traits:
        text = f"{trait.description}: {trait.aggregate}" if trait.description else trait.aggregate
        columns.append(dg.TableColumn(trait.name, "", text))
    return dg.TableSchema(columns=columns)


def _histogram(key: str, count: str, rows: list[tuple]) -> dg.MetadataValue:
    return metadata_table([(key, "string"), (count, "int")], rows)


@dg.asset(
    name="accounts",
    description=(
        f"B2B accounts in `{ACCOUNTS_TABLE}`: CRM companies and the work email domains "
        "of their people resolved into one account per company (free-mail domains never "
        f"make one), and who belongs to each in `{MEMBERS_TABLE}` (by CRM association or "
        "email domain, one primary account per person)."
    ),
    deps=["golden_profiles", "crm_companies"],  # companies are read directly
    **PROFILES_ASSET,
    metadata=ACCOUNTS.asset_metadata,
)
def accounts(
    context: dg.AssetExecutionContext, warehouse: WarehouseResource, platform_config: PlatformConfig
):
    accounts_config = load_profiles_config(platform_config.profiles_path).accounts
    with warehouse.get_connection() as conn:
        counts = build_accounts(conn, accounts_config)
        sizes = conn.execute(
            f"""SELECT CASE WHEN n = 0 THEN '0' WHEN n = 1 THEN '1' WHEN n <= 5 THEN '2-5'
                            WHEN n <= 20 THEN '6-20' ELSE '21+' END AS contacts, count(*)
                FROM (SELECT a.account_id, count(m.person_id) AS n FROM {ACCOUNTS_TABLE} a
                      LEFT JOIN {MEMBERS_TABLE} m USING (account_id) GROUP BY 1)
                GROUP BY 1 ORDER BY min(n)"""
        ).fetchall()
    context.log.info(f"accounts: {counts}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": counts["accounts"],
            **counts,
            "contacts_per_account": _histogram("contacts", "accounts", sizes),
        }
    )


@dg.asset(
    name="account_traits",
    description=(
        f"Account traits in `{ACCOUNT_TRAITS_TABLE}`, aggregates over each account's "
        "contacts declared in `config/profiles.yaml`: contacts, customers, orders and "
        "revenue, lifecycle mix and furthest stage, engaged contacts, open tickets."
    ),
    deps=["accounts", "customer_traits"],
    **PROFILES_ASSET,
    metadata={
        "dagster/table_name": ACCOUNT_TRAITS_TABLE,
        "dagster/column_schema": account_traits_schema(),
    },
)
def account_traits(
    warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    accounts_config = load_profiles_config(platform_config.profiles_path).accounts
    with warehouse.get_connection() as conn:
        rows = build_account_traits(conn, accounts_config)
    return dg.MaterializeResult(
        metadata={"dagster/row_count": rows, "traits": len(accounts_config.traits)}
    )


@dg.asset(
    name="lead_scores",
    description=(
        f"Rule-based lead scores, 0 to the configured maximum, for every person in "
        f"`{LEAD_SCORES_TABLE}` and every account in `{ACCOUNT_LEAD_SCORES_TABLE}`, each "
        "with the rules that fired. Rules are SQL conditions with points in "
        "`config/profiles.yaml`."
    ),
    deps=["account_traits"],
    **PROFILES_ASSET,
    metadata=LEAD_SCORES.asset_metadata,
)
def lead_scores(
    warehouse: WarehouseResource, platform_config: PlatformConfig
) -> dg.MaterializeResult:
    accounts_config = load_profiles_config(platform_config.profiles_path).accounts
    with warehouse.get_connection() as conn:
        build_lead_scores(conn, accounts_config)
        figures = {}
        for label, table in (
            ("persons", LEAD_SCORES_TABLE),
            ("accounts", ACCOUNT_LEAD_SCORES_TABLE),
        ):
            figures[label] = conn.execute(
                f"""SELECT CASE WHEN lead_score >= 70 THEN 'hot (70+)'
                                WHEN lead_score >= 40 THEN 'warm (40-69)'
                                WHEN lead_score > 0 THEN 'cool (1-39)' ELSE 'none (0)' END,
                           count(*) FROM {table} GROUP BY 1 ORDER BY min(lead_score) DESC"""
            ).fetchall()
        fired = conn.execute(
            f"""SELECT reason, count(*) FROM (
                  SELECT unnest(lead_score_reasons) AS reason FROM {LEAD_SCORES_TABLE})
                GROUP BY 1 ORDER BY 2 DESC"""
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": sum(n for _, n in figures["persons"]),
            "accounts_scored": sum(n for _, n in figures["accounts"]),
            **{
                f"{label}_by_band": _histogram("band", label, rows)
                for label, rows in figures.items()
            },
            "person_rules_fired": _histogram("rule", "persons", fired),
        }
    )
