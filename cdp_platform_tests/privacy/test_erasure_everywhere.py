"""A subject sent to every destination asks to be deleted: then nothing of them is left,
anywhere, and their data arriving again is dropped at loading."""

from __future__ import annotations

import json
import textwrap
import uuid
from datetime import date, timedelta

import psycopg
import pytest

from cdp_platform.activation.destinations.files import read_export
from cdp_platform.activation.destinations.meta import hashed_row
from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.pipeline import run_pipeline
from cdp_platform_tests.fakes.destinations import (
    BRAZE_KEY,
    HUBSPOT_TOKEN,
    META_TOKEN,
    SECRET,
    BrazeServer,
    HubSpotContactsServer,
    MetaAudienceServer,
    WebhookServer,
)
from cdp_platform_tests.postgres import DSN

START = date(2026, 8, 1)
DAYS = 12


def syncs_yaml(servers: dict, table: str, folder) -> str:
    sync = """
      - name: to_{name}
        description: everyone with consent, to {name}
        destination: {name}
        source: {{where: "true"}}
        identifier: {identifier}
        mapping: {mapping}
        mode: {mode}"""
    syncs = [
        sync.format(
            name=n, identifier="email", mapping="{email: email, name: first_name}", mode="upsert"
        )
        for n in ("hooks", "crm", "messaging", "table", "drop")
    ] + [
        sync.format(
            name="ads", identifier="person_id", mapping="{email: email, phone: phone}", mode="add"
        )
    ]
    return textwrap.dedent(
        f"""
        destinations:
          hooks: {{type: webhook, url: "{servers["hooks"].url}", secret_env: T_SECRET, purpose: email_marketing}}
          crm: {{type: hubspot, url: "{servers["crm"].url}", token_env: T_HUBSPOT, purpose: email_marketing}}
          messaging: {{type: braze, url: "{servers["messaging"].url}", token_env: T_BRAZE, purpose: email_marketing}}
          ads: {{type: meta, url: "{servers["ads"].url}", audience_id: "6000", token_env: T_META, purpose: email_marketing}}
          table: {{type: postgres, dsn_env: T_DSN, table: {table}, key_column: email, purpose: email_marketing}}
          drop: {{type: files, folder: "{folder}", format: csv, purpose: email_marketing}}
        syncs:"""
    ) + "".join(syncs)


def traces(query, email: str, person: str) -> list[str]:
    """Every text or text-list column of the warehouse holding the email or the person id, except the
    request's own bookkeeping (the `privacy` schema and the requests source)."""
    found = []
    for schema, table, column, data_type in query(
        """SELECT schema_name, table_name, column_name, data_type FROM duckdb_columns()
           WHERE data_type IN ('VARCHAR', 'VARCHAR[]') AND schema_name <> 'privacy'
             AND table_name NOT LIKE 'privacy_requests%'"""
    ):
        matches = (
            f'lower("{column}") IN (?, ?)'
            if data_type == "VARCHAR"
            else f'list_has_any(list_transform("{column}", v -> lower(v)), [?, ?])'
        )
        hits = query(
            f"SELECT count(*) FROM {schema}.{table} WHERE {matches}",
            [email.lower(), person],
        )[0][0]
        if hits:
            found.append(f"{schema}.{table}.{column}")
    return found


@pytest.fixture
def postgres_table():
    name = f"erasure_{uuid.uuid4().hex[:10]}"
    yield name
    with psycopg.connect(DSN) as conn:
        conn.execute(f"DROP TABLE IF EXISTS {name}")


def test_an_erased_subject_leaves_every_table_and_destination_and_stays_gone(
    landing, query, tmp_path, monkeypatch, postgres_table
):
    generate(landing.parent, persons=400, days=DAYS, start=START, seed=31)
    # Take the demo's own requests out: this test makes its one request itself.
    for path in (landing / "privacy_requests").glob("*"):
        path.unlink()
    folder = tmp_path / "exports"
    with (
        WebhookServer() as hooks,
        HubSpotContactsServer() as crm,
        BrazeServer() as messaging,
        MetaAudienceServer() as ads,
    ):
        servers = {"hooks": hooks, "crm": crm, "messaging": messaging, "ads": ads}
        config = tmp_path / "syncs.yaml"
        config.write_text(syncs_yaml(servers, postgres_table, folder))
        for name, value in {
            "CDP_SYNCS_CONFIG": str(config),
            "T_SECRET": SECRET,
            "T_HUBSPOT": HUBSPOT_TOKEN,
            "T_BRAZE": BRAZE_KEY,
            "T_META": META_TOKEN,
            "T_DSN": DSN,
        }.items():
            monkeypatch.setenv(name, value)

        assert run_pipeline(build_definitions(), landing).success
        # The subject: in the most sources, with email consent, so sent everywhere.
        person, email, phone, sources = query(
            """SELECT g.person_id, g.email, g.phone, g.sources FROM profiles.golden_profiles g
               JOIN profiles.consent_state c ON c.person_id = g.person_id
                 AND c.purpose = 'email_marketing' AND c.status = 'granted'
               WHERE g.email IS NOT NULL
               ORDER BY len(g.sources) DESC, g.person_id LIMIT 1"""
        )[0]
        assert len(sources) >= 4
        hashes = tuple(hashed_row({"email": email, "phone": phone}))
        assert email in hooks.holds and email in crm.contacts and email in messaging.users
        assert hashes in ads.members
        with psycopg.connect(DSN) as pg:
            assert pg.execute(
                f"SELECT count(*) FROM {postgres_table} WHERE email = %s", [email]
            ).fetchone() == (1,)

        # The request arrives a day later.
        day = START + timedelta(days=DAYS)
        request = {
            "request_id": "PR-ERASE-1",
            "type": "DELETE",
            "identifier_type": "email",
            "identifier_value": f"  {email.upper()} ",
            "received_at": f"{day.isoformat()}T09:00:00Z",
        }
        (landing / "privacy_requests" / f"{day.isoformat()}.jsonl").write_text(
            json.dumps(request) + "\n"
        )
        assert run_pipeline(build_definitions(), landing).success

        # Every warehouse table outside the request's own bookkeeping: no trace.
        assert traces(query, email, person) == []
        # Every destination.
        assert email not in hooks.holds and ("subject.deleted", email) in hooks.events
        assert email not in crm.contacts and email in crm.archived
        assert email not in messaging.users
        assert hashes not in ads.members
        with psycopg.connect(DSN) as pg:
            assert pg.execute(
                f"SELECT count(*) FROM {postgres_table} WHERE email = %s", [email]
            ).fetchone() == (0,)
        # The export records the erasure by person id, and no file there holds the email.
        assert person in set(read_export(folder, "erase")["person_id"])
        assert not [p for p in folder.rglob("*.csv") if email in p.read_text().lower()]
        statuses = dict(
            query(
                "SELECT target, status FROM privacy.request_status WHERE request_id = 'PR-ERASE-1'"
            )
        )
        assert statuses == {
            "warehouse": "done",
            **{
                f"sync:to_{n}": "done"
                for n in ("hooks", "crm", "messaging", "ads", "table", "drop")
            },
        }

        # The same files load again: the subject's rows are dropped at loading, and no
        # destination hears of them.
        sent_before = (len(hooks.received), crm.upserts, len(messaging.users), ads.rows_received)
        assert run_pipeline(build_definitions(), landing).success
        assert query("SELECT sum(rows) FROM privacy.tombstone_hits")[0][0] > 0
        assert traces(query, email, person) == []
        assert email not in hooks.holds and email not in crm.contacts
        assert (
            len(hooks.received),
            crm.upserts,
            len(messaging.users),
            ads.rows_received,
        ) == sent_before
