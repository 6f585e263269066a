"""The production instance config against the real local Postgres server.

`deploy/dagster.postgres.yaml` is copied as is into a fresh DAGSTER_HOME whose
DAGSTER_PG_* variables point at a database made for the test; a real source
asset is materialized through the `dagster` command line; the run, its events
and the `warehouse` pool are then read back through the instance and straight
from the Postgres tables.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import dagster as dg
import psycopg
import pytest
import yaml
from dagster._config import validate_config
from dagster._core.instance.config import dagster_instance_config
from dagster._core.storage.runs import SqliteRunStorage
from dagster._core.workspace.config_schema import ensure_workspace_config
from dagster_postgres import PostgresEventLogStorage, PostgresRunStorage, PostgresScheduleStorage
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from cdp_platform.resources.warehouse import connect
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform_tests.postgres import DSN
from cdp_platform_tests.sources.samples import record, write_day_file

CONFIG = PROJECT_ROOT / "deploy" / "dagster.postgres.yaml"
DAY = "2026-08-01"


@pytest.fixture
def database():
    """A fresh database on the test server, dropped afterwards; yields its DSN."""
    name = f"dagster_instance_test_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(DSN, connect_timeout=3, autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {name}")
    except psycopg.OperationalError:
        pytest.fail("the local Postgres server on 127.0.0.1:5432 is not running")
    yield make_conninfo(DSN, dbname=name)
    with psycopg.connect(DSN, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture
def home(tmp_path: Path, database: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """DAGSTER_HOME with the deploy config, and a landing folder and warehouse."""
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(CONFIG, home / "dagster.yaml")
    params = conninfo_to_dict(database)
    monkeypatch.setenv("DAGSTER_HOME", str(home))
    monkeypatch.setenv("DAGSTER_PG_USERNAME", str(params.get("user", "postgres")))
    monkeypatch.setenv("DAGSTER_PG_PASSWORD", str(params.get("password", "")))
    monkeypatch.setenv("DAGSTER_PG_HOST", str(params.get("host", "127.0.0.1")))
    monkeypatch.setenv("DAGSTER_PG_DB", str(params["dbname"]))
    monkeypatch.setenv("DAGSTER_PG_PORT", str(params.get("port", 5432)))
    monkeypatch.setenv("CDP_LANDING_DIR", str(tmp_path / "landing"))
    monkeypatch.setenv("CDP_WAREHOUSE", str(tmp_path / "warehouse.duckdb"))
    return home


def test_materialization_is_recorded_in_postgres(home: Path, database: str, tmp_path: Path):
    with dg.DagsterInstance.get() as instance:
        assert isinstance(instance.run_storage, PostgresRunStorage)
        assert isinstance(instance.event_log_storage, PostgresEventLogStorage)
        assert isinstance(instance.schedule_storage, PostgresScheduleStorage)
        assert instance.get_run_records() == []

    landing = Path(os.environ["CDP_LANDING_DIR"])
    write_day_file(
        landing,
        "crm_contacts",
        DAY,
        [record("crm_contacts", {"Record ID": str(n)}) for n in range(3)] + ["bad,row"],
    )
    # The real command line, as a deployment runs it: a fresh process that finds
    # the instance through DAGSTER_HOME alone.
    done = subprocess.run(
        [
            str(Path(sys.executable).parent / "dagster"),
            "asset",
            "materialize",
            "-m",
            "cdp_platform.definitions",
            "--select",
            "crm_contacts",
            "--partition",
            DAY,
        ],
        cwd=tmp_path,
        env=os.environ.copy(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr[-3000:]

    with dg.DagsterInstance.get() as instance:
        (run,) = instance.get_run_records()
        assert run.dagster_run.status == dg.DagsterRunStatus.SUCCESS
        assert run.dagster_run.tags["dagster/partition"] == DAY
        event = instance.get_latest_materialization_event(dg.AssetKey("crm_contacts"))
        assert event is not None and event.run_id == run.dagster_run.run_id
        materialization = event.asset_materialization
        assert materialization.partition == DAY
        assert materialization.metadata["dagster/row_count"].value == 3
        assert materialization.metadata["rows_quarantined"].value == 1
        assert instance.get_materialized_partitions(dg.AssetKey("crm_contacts")) == {DAY}
        # The warehouse pool met its one-slot limit, held in Postgres too.
        assert instance.event_log_storage.get_concurrency_info("warehouse").slot_count == 1
        run_id = run.dagster_run.run_id

    with psycopg.connect(database) as conn:
        assert conn.execute("SELECT run_id, status, partition FROM runs").fetchall() == [
            (run_id, "SUCCESS", DAY)
        ]
        rows = conn.execute(
            "SELECT asset_key, partition FROM event_logs "
            "WHERE run_id = %s AND dagster_event_type = 'ASSET_MATERIALIZATION'",
            [run_id],
        ).fetchall()
        assert rows == [('["crm_contacts"]', DAY)]
        steps = conn.execute(
            "SELECT count(*) FROM event_logs WHERE run_id = %s AND dagster_event_type = %s",
            [run_id, "STEP_SUCCESS"],
        ).fetchone()
        assert steps == (1,)
        (slots,) = conn.execute(
            "SELECT count(*) FROM concurrency_slots WHERE concurrency_key = 'warehouse'"
        ).fetchone()
        assert slots == 1

    with connect(os.environ["CDP_WAREHOUSE"], read_only=True) as conn:
        assert conn.execute("SELECT count(*) FROM sources.crm_contacts").fetchone() == (3,)


# The deploy/ configuration files: valid for Dagster, and consistent with each
# other and with deploy/dagster.local.yaml. No Docker needed.

DEPLOY = PROJECT_ROOT / "deploy"
INSTANCE_CONFIGS = ["dagster.postgres.yaml", "dagster.docker.yaml"]
SHARED_SECTIONS = ["telemetry", "concurrency", "retention", "run_monitoring", "run_retries"]


def load(path: Path) -> dict:
    return yaml.safe_load(path.read_text())


@pytest.mark.parametrize("name", ["dagster.local.yaml", *INSTANCE_CONFIGS])
def test_instance_configs_pass_dagster_schema(name: str, tmp_path: Path):
    source = DEPLOY / name
    shutil.copy(source, tmp_path / "dagster.yaml")
    config, custom_class = dagster_instance_config(str(tmp_path))
    assert custom_class is None
    assert config["concurrency"]["pools"]["default_limit"] == 1
    if name == "dagster.local.yaml":
        assert "storage" not in config
        with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
            assert isinstance(instance.run_storage, SqliteRunStorage)  # files in DAGSTER_HOME
        return
    assert config["run_coordinator"]["class"] == "QueuedRunCoordinator"
    db = config["storage"]["postgres"]["postgres_db"]
    assert db["scheme"] == "postgresql+psycopg2"  # see the comment in the file
    assert {key: db[key] for key in ["username", "password", "hostname", "db_name", "port"]} == {
        "username": {"env": "DAGSTER_PG_USERNAME"},
        "password": {"env": "DAGSTER_PG_PASSWORD"},
        "hostname": {"env": "DAGSTER_PG_HOST"},
        "db_name": {"env": "DAGSTER_PG_DB"},
        "port": {"env": "DAGSTER_PG_PORT"},
    }


@pytest.mark.parametrize("name", INSTANCE_CONFIGS)
def test_deploy_configs_keep_the_repository_instance_settings(name: str):
    base = load(DEPLOY / "dagster.local.yaml")
    deploy = load(DEPLOY / name)
    assert set(base) <= set(deploy)
    for section in SHARED_SECTIONS:
        assert deploy[section] == base[section], section


def test_docker_run_launcher_config():
    launcher = load(DEPLOY / "dagster.docker.yaml")["run_launcher"]
    assert (launcher["module"], launcher["class"]) == ("dagster_docker", "DockerRunLauncher")
    # Run containers open the same Postgres instance.
    assert {f"DAGSTER_PG_{k}" for k in ["USERNAME", "PASSWORD", "HOST", "DB", "PORT"]} <= set(
        launcher["config"]["env_vars"]
    )
    try:
        from dagster_docker import DockerRunLauncher
    except ImportError:  # dagster-docker belongs to the image, not to the project
        return
    result = validate_config(DockerRunLauncher.config_type(), launcher["config"])
    assert result.success, result.errors


def test_compose_file_matches_the_instance_and_workspace():
    compose = load(DEPLOY / "docker-compose.yaml")
    services = compose["services"]
    assert set(services) == {"postgres", "code", "webserver", "daemon"}
    workspace = ensure_workspace_config(
        load(DEPLOY / "workspace.grpc.yaml"), str(DEPLOY / "workspace.grpc.yaml")
    )
    (location,) = workspace["load_from"]
    grpc = location["grpc_server"]
    assert grpc["host"] in services
    code_command = services["code"]["command"]
    assert code_command[:3] == ["dagster", "code-server", "start"]
    assert str(grpc["port"]) == code_command[code_command.index("-p") + 1]
    assert grpc["location_name"] == code_command[code_command.index("--location-name") + 1]
    assert services["code"]["environment"]["DAGSTER_CURRENT_IMAGE"] == services["code"]["image"]

    # The volumes and network the run launcher names exist under those names,
    # and the code server and every run container mount the same warehouse.
    launcher = load(DEPLOY / "dagster.docker.yaml")["run_launcher"]["config"]
    named_volumes = {v.get("name") for v in compose["volumes"].values() if v}
    run_mounts = launcher["container_kwargs"]["volumes"]
    assert {mount.split(":")[0] for mount in run_mounts} <= named_volumes
    assert "cdp_data:/opt/cdp/data" in run_mounts
    assert "cdp_data:/opt/cdp/data" in services["code"]["volumes"]
    assert launcher["network"] in {n["name"] for n in compose["networks"].values()}

    # Every Dagster process gets the DAGSTER_PG_* variables and the same image.
    for name in ["code", "webserver", "daemon"]:
        service = services[name]
        assert service["image"] == "cdp_platform:latest"
        assert service["environment"]["DAGSTER_PG_HOST"] == "postgres"
    postgres = services["postgres"]["environment"]
    assert services["daemon"]["environment"]["DAGSTER_PG_DB"] == postgres["POSTGRES_DB"]
    assert "/var/run/docker.sock:/var/run/docker.sock" in services["daemon"]["volumes"]


def test_dockerfile_installs_the_project_and_instance_config():
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "FROM python:3.11-slim" in dockerfile
    assert "pip install --no-cache-dir -e . dagster-postgres dagster-docker" in dockerfile
    assert "COPY deploy/dagster.docker.yaml ${DAGSTER_HOME}/dagster.yaml" in dockerfile
    assert "COPY deploy/workspace.grpc.yaml /opt/dagster/workspace.yaml" in dockerfile
    services = load(DEPLOY / "docker-compose.yaml")["services"]
    for name, command in [("webserver", "dagster-webserver"), ("daemon", "dagster-daemon")]:
        assert services[name]["command"][0] == command
        assert services[name]["command"][-2:] == ["-w", "/opt/dagster/workspace.yaml"]
