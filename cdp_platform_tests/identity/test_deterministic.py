"""Deterministic stitching, merge protection and clustering without chaining."""

from __future__ import annotations

from pathlib import Path

import pytest

from cdp_platform.definitions import build_definitions
from cdp_platform.identity.clusters import assign_stable_ids
from cdp_platform.identity.evaluation import pairwise_scores
from cdp_platform.identity.linking import resolve_persons
from cdp_platform.identity.nodes import build_nodes
from cdp_platform.identity.splink_runtime import SplinkRuntime
from cdp_platform.identity_config import load_identity_config
from cdp_platform.resources.warehouse import connect

COLUMNS = {
    "source": "VARCHAR",
    "source_record_id": "VARCHAR",
    "first_name_canonical": "VARCHAR",
    "first_name": "VARCHAR",
    "last_name": "VARCHAR",
    "email": "VARCHAR",
    "email_match": "VARCHAR",
    "phone": "VARCHAR",
    "user_id": "VARCHAR",
    "dob": "DATE",
    "crm_record_id": "VARCHAR",
    "loyalty_card": "VARCHAR",
    "order_ids": "VARCHAR[]",
    "anonymous_id": "VARCHAR",
    "phone_kind": "VARCHAR",
    "postcode": "VARCHAR",
    "city": "VARCHAR",
    "street": "VARCHAR",
}


@pytest.fixture
def db(tmp_path: Path) -> Path:
    return tmp_path / "w.duckdb"


def persons_of(db: Path, rows: list[dict], **rules) -> dict[str, str]:
    """Cluster hand-made identity records; return record key -> person id."""
    config = load_identity_config()
    config.deterministic = config.deterministic.model_copy(update=rules)
    with connect(db) as conn:
        conn.execute(
            "CREATE OR REPLACE TABLE staging.t ("
            + ", ".join(f"{c} {t}" for c, t in COLUMNS.items())
            + ")"
        )
        conn.executemany(
            f"INSERT INTO staging.t VALUES ({', '.join('?' for _ in COLUMNS)})",
            [[row.get(c) for c in COLUMNS] for row in rows],
        )
        build_nodes(conn, "staging.t", list(config.clustering.max_values_per_person))
        resolve_persons(conn, config, None, SplinkRuntime.beside(db))
        assign_stable_ids(conn)
        return {
            f"{s}:{r}": p
            for s, r, p in conn.execute("SELECT * FROM identity.person_id_map").fetchall()
        }


def edges(db: Path) -> dict[tuple[str, str], tuple]:
    with connect(db) as conn:
        rows = conn.execute(
            "SELECT record_a, record_b, identifier, decision, refusal, evidence "
            "FROM identity.identity_edges"
        ).fetchall()
    return {(a, b): tuple(rest) for a, b, *rest in rows}


def rec(key: str, first=None, email=None, phone=None, user=None, **more) -> dict:
    source, record_id = key.split(":")
    if source == "crm_contacts":
        more.setdefault("crm_record_id", record_id)
    return {
        "source": source,
        "source_record_id": record_id,
        "first_name_canonical": first,
        "email_match": email,
        "phone": phone,
        "user_id": user,
        **more,
    }


def test_shared_email_links_same_person_but_not_a_household(db):
    people = persons_of(
        db,
        [
            rec("crm_contacts:1", "robert", "thesmiths@gmail.com"),
            rec("shop_orders:#1", "robert", "thesmiths@gmail.com"),  # Bob, resolved upstream
            rec("shop_orders:#2", "susan", "thesmiths@gmail.com"),  # his wife, same address
            rec("email_subscribers:9", None, "thesmiths@gmail.com"),  # no name: whose is it?
        ],
    )
    assert people["crm_contacts:1"] == people["shop_orders:#1"]
    assert people["shop_orders:#2"] != people["crm_contacts:1"]
    # The nameless subscriber cannot tell Bob from Susan, so it joins neither.
    assert people["email_subscribers:9"] not in (people["shop_orders:#1"], people["shop_orders:#2"])
    refused = edges(db)[("crm_contacts:1", "email_subscribers:9")]
    assert refused[1:3] == ("refused", "value shared by several named people")


def test_a_nameless_record_joins_the_one_person_holding_its_email(db):
    people = persons_of(
        db,
        [
            rec("crm_contacts:1", "robert", "bob@example.com"),
            rec("shop_orders:#1", "robert", "bob@example.com"),  # "bob", resolved upstream
            rec("email_subscribers:9", None, "bob@example.com"),
        ],
    )
    assert len(set(people.values())) == 1
    edge = edges(db)[("crm_contacts:1", "email_subscribers:9")]
    assert edge[:2] == ("email", "linked")
    assert "no first name on one record" in edge[3]


def test_initials_and_typos_agree_but_different_names_do_not(db):
    people = persons_of(
        db,
        [
            rec("crm_contacts:1", "katherine", phone="+447700900123"),
            rec("pos_loyalty:2", "k", phone="+447700900123"),
            rec("support_tickets:3", "katharine", phone="+447700900123"),
            rec("shop_orders:#4", "james", phone="+447700900123"),
        ],
    )
    assert people["crm_contacts:1"] == people["pos_loyalty:2"] == people["support_tickets:3"]
    assert people["shop_orders:#4"] != people["crm_contacts:1"]


def test_an_initial_cannot_chain_two_different_names(db):
    """K. shares a landline with Katherine and with Kevin: they stay two people."""
    people = persons_of(
        db,
        [
            rec("pos_loyalty:1", "k", phone="+442079460123"),
            rec("crm_contacts:2", "katherine", phone="+442079460123"),
            rec("shop_orders:#3", "kevin", phone="+442079460123"),
        ],
    )
    assert people["crm_contacts:2"] != people["shop_orders:#3"]
    # K. links first to Katherine (records are offered in order); Kevin is refused.
    assert people["pos_loyalty:1"] == people["crm_contacts:2"]
    assert edges(db)[("pos_loyalty:1", "shop_orders:#3")][1:3] == (
        "refused",
        "first names disagree",
    )


def test_names_typed_into_the_wrong_boxes_still_agree(db):
    people = persons_of(
        db,
        [
            rec("crm_contacts:1", "davies", "jd98@yahoo.co.uk", last_name="james"),
            rec("pos_loyalty:2", "james", "jd98@yahoo.co.uk", last_name="daives"),
        ],
    )
    assert people["crm_contacts:1"] == people["pos_loyalty:2"]


def test_a_junior_and_a_senior_with_one_name_and_landline_stay_apart(db):
    people = persons_of(
        db,
        [
            rec("crm_contacts:1", "richard", phone="+441632960001", dob="1953-11-18"),
            rec("pos_loyalty:2", "richard", phone="+441632960001", dob="1998-02-11"),
            rec(
                "shop_orders:#3", "richard", phone="+441632960001", dob="1953-11-19"
            ),  # one digit mistyped
        ],
    )
    assert people["crm_contacts:1"] != people["pos_loyalty:2"]
    assert people["crm_contacts:1"] == people["shop_orders:#3"]


def test_duplicates_in_one_source_link_but_one_account_per_person_holds(db):
    people = persons_of(
        db,
        [
            rec("crm_contacts:1", "ann", "ann@example.com"),
            rec("crm_contacts:2", "ann", "ann@example.com"),
            rec("web_events:a", "ann", user="u1", order_ids=["#7"]),
            rec("web_events:b", "ann", user="u2", order_ids=["#7"]),
        ],
    )
    assert people["crm_contacts:1"] == people["crm_contacts:2"]
    assert people["web_events:a"] != people["web_events:b"]
    assert edges(db)[("web_events:a", "web_events:b")][1:3] == (
        "refused",
        "more than 1 user_id per person",
    )


def test_an_order_confirmation_ties_a_browser_to_its_order(db):
    people = persons_of(
        db,
        [
            rec("shop_orders:#1001", "ann", "ann@example.com", order_ids=["#1001"]),
            rec("web_events:anon-1", order_ids=["#1001", "#1002"]),
            rec("shop_orders:#1002", "ann", "ann.b@work.example", order_ids=["#1002"]),
        ],
    )
    assert len(set(people.values())) == 1
    assert edges(db)[("shop_orders:#1001", "web_events:anon-1")][:2] == ("order_id", "linked")


def test_account_id_links_without_names(db):
    people = persons_of(
        db, [rec("web_events:a", "rob", user="u1"), rec("web_events:b", "mary", user="u1")]
    )
    assert people["web_events:a"] == people["web_events:b"]


def test_a_value_on_too_many_records_links_nobody(db):
    rows = [rec(f"shop_orders:#{n}", None, "orders@shop.example") for n in range(5)]
    people = persons_of(db, rows, max_records_per_value=4)
    assert len(set(people.values())) == 5


def test_ids_are_identical_for_identical_input(db):
    rows = [rec("crm_contacts:1", "ann", "a@x.com"), rec("shop_orders:#1", "ann", "a@x.com")]
    assert persons_of(db, rows) == persons_of(db, rows)


def test_pairwise_scores_count_pairs_per_group(db, tmp_path):
    truth = tmp_path / "truth.csv"
    truth.write_text("source,source_record_id,true_person\ns,1,A\ns,2,A\ns,3,A\ns,4,B\n")
    with connect(db) as conn:
        conn.execute(
            "CREATE TABLE identity.m AS SELECT * FROM (VALUES ('s','1','x'), ('s','2','x'), "
            "('s','3','y'), ('s','4','y')) t(source, source_record_id, person_id)"
        )
        scores = pairwise_scores(conn, truth, "identity.m")
    # predicted pairs: (1,2), (3,4); true pairs: (1,2), (1,3), (2,3); correct: (1,2)
    assert (scores.predicted_pairs, scores.true_pairs, scores.correct_pairs) == (2, 3, 1)
    assert scores.precision == 0.5 and round(scores.recall, 4) == 0.3333


def test_identity_layer_materializes_over_loaded_sources(landing, instance, query):
    from cdp_platform_tests.sources.samples import record, write_day_file

    write_day_file(landing, "crm_contacts", "2026-08-01", [record("crm_contacts")])
    write_day_file(landing, "email_subscribers", "2026-08-01", [record("email_subscribers")])
    write_day_file(landing, "shop_orders", "2026-08-01", [record("shop_orders")])
    defs = build_definitions()
    ingest = defs.resolve_job_def("ingest_sources")
    assert ingest.execute_in_process(instance=instance, partition_key="2026-08-01").success
    result = defs.resolve_job_def("refresh_downstream").execute_in_process(instance=instance)
    assert result.success
    mapping = query(
        "SELECT source, source_record_id, person_id FROM identity.person_id_map ORDER BY 1"
    )
    assert [(s, r) for s, r, _ in mapping] == [
        ("crm_contacts", "101"),
        ("email_subscribers", "L-1"),
        ("shop_orders", "#1042"),
    ]
    # Rob Smith's CRM contact and his order share an email; the newsletter uses another.
    persons = {s: p for s, _, p in mapping}
    assert persons["crm_contacts"] == persons["shop_orders"] != persons["email_subscribers"]
    (materialization,) = result.asset_materializations_for_node("person_id_map")
    assert materialization.metadata["persons"].value == 2
    assert result.asset_materializations_for_node("identity_edges")


def _evaluations(result, asset: str) -> dict:
    return {
        e.check_name: e
        for e in result.get_asset_check_evaluations()
        if e.asset_key.to_user_string() == asset
    }


def _load_household(landing):
    from cdp_platform_tests.sources.samples import record, write_day_file

    # Three records of Rob Smith, linked by one email.
    write_day_file(
        landing,
        "crm_contacts",
        "2026-08-01",
        [record("crm_contacts", {"Email": "rob@example.com"})],
    )
    write_day_file(landing, "email_subscribers", "2026-08-01", [record("email_subscribers")])
    write_day_file(
        landing, "pos_loyalty", "2026-08-01", [record("pos_loyalty", email="rob@example.com")]
    )


def test_identity_checks_pass_on_a_sane_graph(landing, instance):
    _load_household(landing)
    defs = build_definitions()
    assert (
        defs.resolve_job_def("ingest_sources")
        .execute_in_process(instance=instance, partition_key="2026-08-01")
        .success
    )
    result = defs.resolve_job_def("refresh_downstream").execute_in_process(instance=instance)
    checks = _evaluations(result, "person_id_map")
    assert {name: c.passed for name, c in checks.items()} == {
        "largest_person_below_cap": True,
        "singleton_share_below_limit": True,
        "id_churn_below_limit": True,
    }
    assert _evaluations(result, "identity_records")["blocked_value_share_below_limit"].passed


def test_a_forced_over_merge_fails_the_blocking_check(landing, instance, tmp_path, monkeypatch):
    from cdp_platform.yaml_files import CONFIG_DIR

    config = (
        (CONFIG_DIR / "identity.yaml")
        .read_text()
        .replace("max_cluster_size: 200", "max_cluster_size: 2")
    )
    (tmp_path / "identity.yaml").write_text(config)
    monkeypatch.setenv("CDP_IDENTITY_CONFIG", str(tmp_path / "identity.yaml"))
    _load_household(landing)
    defs = build_definitions()
    assert (
        defs.resolve_job_def("ingest_sources")
        .execute_in_process(instance=instance, partition_key="2026-08-01")
        .success
    )
    result = defs.resolve_job_def("refresh_downstream").execute_in_process(
        instance=instance, raise_on_error=False
    )
    check = _evaluations(result, "person_id_map")["largest_person_below_cap"]
    assert not check.passed
    assert check.severity.value == "ERROR"
    assert check.metadata["largest_person_records"].value == 3
    spec = next(
        s
        for s in defs.resolve_assets_def("person_id_map").check_specs
        if s.name == "largest_person_below_cap"
    )
    assert spec.blocking
