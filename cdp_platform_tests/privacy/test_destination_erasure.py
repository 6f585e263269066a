"""Erasure reaches destinations: a subject's records are deleted wherever a sync sent them."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

from cdp_platform.activation.destinations.base import Limits
from cdp_platform.activation.destinations.files import FileExportDestination, read_export
from cdp_platform.activation.destinations.hubspot import HubSpotDestination
from cdp_platform.activation.destinations.webhook import WebhookDestination
from cdp_platform.activation.engine import RetryPolicy, run_sync
from cdp_platform.activation.plan import Row
from cdp_platform.privacy.status import pending_sync_erasures, settle_sync_erasures
from cdp_platform.resources.warehouse import create_declared_tables
from cdp_platform_tests.fakes.destinations import (
    HUBSPOT_TOKEN,
    SECRET,
    HubSpotContactsServer,
    WebhookServer,
)

FAST = RetryPolicy(attempts=2, initial_seconds=0.01, max_seconds=0.05)


def rows(people) -> list[Row]:
    return [Row(f"{p}@example.org", p, {"tier": "gold"}) for p in people]


def status(db) -> list[tuple]:
    return db.execute(
        "SELECT request_id, target, status FROM privacy.request_status ORDER BY 1, 2"
    ).fetchall()


def test_an_erased_subject_is_deleted_from_an_upsert_destination_and_forgotten(db=None):
    db = duckdb.connect()
    create_declared_tables(db)
    with WebhookServer() as server:
        hook = WebhookDestination(server.url, SECRET, Limits(10, 200))
        run_sync(db, "crm", "upsert", rows(["p1", "p2", "p3"]), hook, "r1", policy=FAST)
        assert "p2@example.org" in server.holds

        # p2 is erased: gone from the model, and to be deleted even in upsert mode.
        erased = {"p2": "R9"}
        assert pending_sync_erasures(db, erased) == [("R9", "sync:crm", "pending", None)]
        run_sync(
            db,
            "crm",
            "upsert",
            rows(["p1", "p3"]),
            hook,
            "r2",
            policy=FAST,
            erased=frozenset(erased),
        )
        assert set(server.holds) == {"p1@example.org", "p3@example.org"}
        # The receiver learns why: a subject's erasure, not a profile leaving an audience.
        assert ("subject.deleted", "p2@example.org") in server.events
        assert settle_sync_erasures(db, "crm", erased) == {"erasures_done": 1, "erasures_failed": 0}
    assert status(db) == [("R9", "sync:crm", "done")]
    left = db.execute(
        "SELECT (SELECT count(*) FROM activation.sync_log WHERE person_id = 'p2'), "
        "(SELECT count(*) FROM activation.sync_state WHERE person_id = 'p2')"
    ).fetchone()
    assert left == (0, 0)


def test_a_failed_destination_delete_is_retried_on_the_next_run():
    db = duckdb.connect()
    create_declared_tables(db)
    erased = {"p2": "R9"}
    with WebhookServer() as server:
        hook = WebhookDestination(server.url, SECRET, Limits(10, 200))
        run_sync(db, "crm", "upsert", rows(["p1", "p2"]), hook, "r1", policy=FAST)
    with WebhookServer(faults={1: "503", 2: "503"}) as down:
        hook = WebhookDestination(down.url, SECRET, Limits(10, 200))
        run_sync(
            db, "crm", "upsert", rows(["p1"]), hook, "r2", policy=FAST, erased=frozenset(erased)
        )
        assert settle_sync_erasures(db, "crm", erased) == {"erasures_done": 0, "erasures_failed": 1}
        assert status(db) == [("R9", "sync:crm", "failed")]
        # The next run tries again, and the destination takes it this time.
        run_sync(
            db, "crm", "upsert", rows(["p1"]), hook, "r3", policy=FAST, erased=frozenset(erased)
        )
        assert settle_sync_erasures(db, "crm", erased) == {"erasures_done": 1, "erasures_failed": 0}
        deleted = [k for k in down.received]
    assert status(db) == [("R9", "sync:crm", "done")]
    assert deleted == ["p2@example.org"]


def test_an_erased_subject_leaves_hubspot_when_the_mapping_has_no_email():
    """HubSpot echoes only the properties set, so with no `email` in the mapping the
    upsert's answer does not say which contact id is whose: the erasure looks the
    contact up by email before archiving it, and is done only once HubSpot took it."""
    db = duckdb.connect()
    create_declared_tables(db)
    people = [Row(f"{p}@example.org", p, {"firstname": p.upper()}) for p in ("p1", "p2", "p3")]
    with HubSpotContactsServer() as server:
        crm = HubSpotDestination(server.url, HUBSPOT_TOKEN, limits=Limits(10, 200))
        run_sync(db, "crm", "upsert", people, crm, "r1", policy=FAST)
        assert set(server.contacts) == {"p1@example.org", "p2@example.org", "p3@example.org"}

        erased = {"p2": "R9"}
        report = run_sync(
            db, "crm", "upsert", people[::2], crm, "r2", policy=FAST, erased=frozenset(erased)
        )
        assert report.results[("erase", "succeeded")] == 1
        assert server.reads == ["p2@example.org"] and server.archived == ["p2@example.org"]
        assert set(server.contacts) == {"p1@example.org", "p3@example.org"}
        assert settle_sync_erasures(db, "crm", erased) == {"erasures_done": 1, "erasures_failed": 0}
    assert status(db) == [("R9", "sync:crm", "done")]


def test_a_hubspot_erasure_whose_contact_cannot_be_found_out_is_not_done():
    db = duckdb.connect()
    create_declared_tables(db)
    erased = {"p2": "R9"}
    with HubSpotContactsServer() as server:
        crm = HubSpotDestination(server.url, HUBSPOT_TOKEN, limits=Limits(10, 200))
        run_sync(db, "crm", "upsert", rows(["p1", "p2"]), crm, "r1", policy=FAST)
        server.daily_limit = True  # HubSpot answers nothing today
        run_sync(
            db, "crm", "upsert", rows(["p1"]), crm, "r2", policy=FAST, erased=frozenset(erased)
        )
        assert "p2@example.org" in server.contacts
        assert settle_sync_erasures(db, "crm", erased) == {"erasures_done": 0, "erasures_failed": 1}
    assert status(db) == [("R9", "sync:crm", "failed")]


def export_text(folder) -> str:
    """Every value of every file under an export folder, read as its format."""
    found = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        if path.suffix == ".parquet":
            found.append(pd.read_parquet(path).astype(str).to_csv(index=False))
        else:
            found.append(path.read_text())
    return "\n".join(found).lower()


@pytest.mark.parametrize("file_format", ["csv", "parquet"])
def test_an_erased_subject_leaves_no_identifier_in_any_export_file(tmp_path, file_format):
    db = duckdb.connect()
    create_declared_tables(db)
    folder = tmp_path / "exports"
    subjects = [
        Row(
            f"{name}@example.org",
            f"p{i}",
            {"email": f"{name}@example.org", "phone": f"+44770090{i:04d}", "name": name.title()},
        )
        for i, name in enumerate(["alice", "bruno", "chiara", "dmitri"])
    ]
    export = FileExportDestination(folder, file_format, Limits(2, 200), sync="drop")
    run_sync(db, "drop", "mirror", subjects, export, "r1", policy=FAST)
    # dmitri leaves the audience: a mirror delete, whose part names his key.
    run_sync(db, "drop", "mirror", subjects[:3], export, "r2", policy=FAST)
    held = export_text(folder)
    assert "bruno@example.org" in held and "+447700900001" in held and "dmitri" in held

    erased = {"p1": "R9", "p3": "R10"}  # bruno asks to be deleted; so does dmitri, gone before
    export = FileExportDestination(folder, file_format, Limits(2, 200), sync="drop", erased=erased)
    run_sync(
        db,
        "drop",
        "mirror",
        [subjects[0], subjects[2]],
        export,
        "r3",
        policy=FAST,
        erased=frozenset(erased),
    )
    assert settle_sync_erasures(db, "drop", erased) == {"erasures_done": 2, "erasures_failed": 0}
    held = export_text(folder)
    for trace in ("bruno@example.org", "+447700900001", "bruno", "dmitri"):
        assert trace not in held
    # The erasure is on record by person id alone; everyone else is as exported.
    erase = read_export(folder, "erase")
    assert list(erase.columns) == ["person_id", "operation"]
    assert sorted(erase["person_id"]) == ["p1", "p3"]
    assert sorted(read_export(folder, "upsert")["key"]) == [
        "alice@example.org",
        "chiara@example.org",
    ]
    assert read_export(folder, "delete").empty  # dmitri's removal part named his key
    assert not [p for p in folder.rglob("*") if p.name.startswith(".")]  # no temporaries
