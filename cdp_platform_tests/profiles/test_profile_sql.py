"""SQL written in profiles.yaml (trait filters and expressions, account aggregates,
lead rules) is checked at load like segment and sync conditions: one expression, no
statements, subqueries, tables or file functions, only the columns it may read."""

from __future__ import annotations

import pytest
import yaml

from cdp_platform.profiles.config import load_profiles_config
from cdp_platform.settings import PROJECT_ROOT

SHIPPED = PROJECT_ROOT / "cdp_platform" / "config" / "profiles.yaml"


def _with(tmp_path, edit) -> str:
    config = yaml.safe_load(SHIPPED.read_text())
    edit(config)
    path = tmp_path / "profiles.yaml"
    path.write_text(yaml.safe_dump(config))
    with pytest.raises(ValueError) as refused:
        load_profiles_config(path)
    return str(refused.value)


def _trait(name):
    def find(config):
        return next(t for t in config["traits"] if t["name"] == name)

    return find


@pytest.mark.parametrize(
    ("where", "reason"),
    [
        (
            "channel = 'web'); UPDATE profiles.consent_state SET status = 'granted'; SELECT (1",
            "';' is not allowed",
        ),
        ("channel IN (SELECT email FROM profiles.golden_profiles)", "a subquery is not allowed"),
        ("read_text('/etc/passwd') IS NOT NULL", "function read_text is not allowed"),
        ("shoe_size > 3", "unknown column 'shoe_size'"),
    ],
)
def test_a_trait_filter_is_one_condition_over_its_activity(tmp_path, where, reason):
    message = _with(tmp_path, lambda c: _trait("store_orders")(c).update(where=where))
    assert str(tmp_path / "profiles.yaml") in message
    assert "trait store_orders: where:" in message and reason in message


def test_an_expression_trait_reads_only_traits_declared_before_it(tmp_path):
    def edit(config):
        first = next(i for i, t in enumerate(config["traits"]) if "expression" in t)
        config["traits"][first]["expression"] = "value_segment + 1"  # declared later

    assert "unknown column 'value_segment'" in _with(tmp_path, edit)
    message = _with(
        tmp_path,
        lambda c: next(t for t in c["traits"] if "expression" in t).update(
            expression="(SELECT count(*) FROM activation.sync_log)"
        ),
    )
    assert "expression: a query is not allowed" in message


def test_account_aggregates_and_lead_rules_refuse_statements_and_file_reads(tmp_path):
    message = _with(
        tmp_path,
        lambda c: c["accounts"]["traits"][0].update(aggregate="max(read_text('/etc/passwd'))"),
    )
    assert "function read_text is not allowed" in message
    message = _with(
        tmp_path,
        lambda c: c["accounts"]["lead_score"]["person"][0].update(
            when="true; DROP TABLE profiles.golden_profiles"
        ),
    )
    assert "';' is not allowed" in message


def test_the_shipped_profiles_config_loads_as_checked_renderings():
    config = load_profiles_config(SHIPPED)
    assert next(t for t in config.traits if t.name == "store_orders").where == "channel = 'store'"
    assert any("NTILE(5) OVER" in (t.expression or "") for t in config.traits)
