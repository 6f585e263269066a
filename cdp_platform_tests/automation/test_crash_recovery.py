"""A run that died never blocks the next; a wait for the warehouse is bounded and
a signal stops it. Through the installed `cdp` command and a persistent instance."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import dagster as dg
import pytest

from cdp_platform.activation.config import load_syncs
from cdp_platform.activation.rows import sync_rows
from cdp_platform.automation.recovery import process_tags
from cdp_platform.resources.warehouse import connect
from cdp_platform.settings import PROJECT_ROOT
from cdp_platform_tests.fakes.destinations import SECRET, WebhookServer
from cdp_platform_tests.test_cli import CDP, cdp

SYNCS = """
destinations:
  receiver:
    type: webhook
    url: {url}/hooks
    secret_env: CDP_TEST_WEBHOOK_SECRET
    purpose: email_marketing
    batch_size: 5
    max_concurrency: 1
syncs:
  - name: everyone
    description: Every person who may get email, to a slow receiver.
    destination: receiver
    identifier: email
    mapping: {{email: email, first_name: first_name}}
    mode: upsert
"""


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("demo")
    generated = cdp(
        "demo", "generate", "--persons", "200", "--days", "5", "--seed", "11", "--out", str(out)
    )
    assert generated.returncode == 0, generated.stderr
    return out / "landing"


def _home(tmp_path: Path) -> Path:
    home = tmp_path / "dagster_home"
    home.mkdir()
    shutil.copy(PROJECT_ROOT / "deploy" / "dagster.local.yaml", home / "dagster.yaml")
    return home


def _env(tmp_path: Path, home: Path, **extra: str) -> dict:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith(("CDP_", "DAGSTER_HOME"))
    }
    return {
        **environment,
        "DAGSTER_HOME": str(home),
        "CDP_WAREHOUSE": str(tmp_path / "identity.duckdb"),  # named like a schema
        **extra,
    }


def _instance(home: Path) -> dg.DagsterInstance:
    return dg.DagsterInstance.from_config(str(home))


def test_a_run_killed_mid_sync_does_not_block_the_next_and_nothing_is_held_twice(demo, tmp_path):
    home = _home(tmp_path)
    # Every answer takes a moment, so the sync is still sending when it is killed.
    with WebhookServer(faults={n: "slow" for n in range(1, 10_000)}, slow_seconds=0.2) as server:
        syncs = tmp_path / "syncs.yaml"
        syncs.write_text(SYNCS.format(url=server.url))
        env = _env(
            tmp_path,
            home,
            CDP_LANDING_DIR=str(demo),
            CDP_SYNCS_CONFIG=str(syncs),
            CDP_TEST_WEBHOOK_SECRET=SECRET,
        )
        first = subprocess.Popen(
            [CDP, "run"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        deadline = time.monotonic() + 300
        while len(server.received) < 15:
            assert first.poll() is None, first.stderr.read().decode()
            assert time.monotonic() < deadline, "the sync never started sending"
            time.sleep(0.05)
        first.send_signal(signal.SIGKILL)
        first.wait()
        first.stderr.close()
        sent_before_kill = len(server.received)

        with _instance(home) as instance:
            stuck = instance.get_runs(dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED]))
            assert len(stuck) == 1  # the killed run: its process is gone, its status is not
            assert stuck[0].run_id in instance.event_log_storage.get_concurrency_run_ids()

        second = subprocess.run([CDP, "run"], env=env, capture_output=True, text=True, timeout=600)
        assert second.returncode == 0, second.stderr
        assert f"run {stuck[0].run_id[:8]} (refresh_downstream) had died" in second.stderr

        with _instance(home) as instance:
            killed = instance.get_run_by_id(stuck[0].run_id)
            assert killed.status == dg.DagsterRunStatus.FAILURE
            assert not instance.event_log_storage.get_concurrency_run_ids()

    spec = load_syncs(syncs).syncs[0]
    with connect(tmp_path / "identity.duckdb", read_only=True) as conn:
        offered = sync_rows(conn, spec, "email_marketing")
    expected = {row.key: row.fields["first_name"] for row in offered if row.consented}
    assert sent_before_kill < len(expected)  # killed mid-sync, not after
    # Every consented person is held, once, with their current content.
    assert {key: held.get("first_name") for key, held in server.holds.items()} == expected
    # What was re-sent after the kill is at most the unacknowledged window, never all.
    resent = len(server.received) - len(set(server.received))
    assert resent < sent_before_kill


def _holder(instance: dg.DagsterInstance, tags: dict) -> str:
    """A run recorded as STARTED that holds a warehouse slot, executed by `tags`' process
    (the pool has one slot, as dagster.yaml configures, unless a test gave it more)."""
    run = instance.add_run(
        dg.DagsterRun(job_name="held_elsewhere", status=dg.DagsterRunStatus.STARTED, tags=tags)
    )
    if not instance.event_log_storage.get_concurrency_info("warehouse").slot_count:
        instance.event_log_storage.set_concurrency_slots("warehouse", 1)
    claim = instance.event_log_storage.claim_concurrency_slot("warehouse", run.run_id, "step")
    assert claim.is_claimed
    return run.run_id


def test_a_slot_held_by_a_live_run_is_waited_for_with_its_name_then_given_up(demo, tmp_path):
    home = _home(tmp_path)
    with _instance(home) as instance:
        holder = _holder(instance, process_tags(os.getpid()))  # this test process: alive
    result = cdp(
        "run",
        "--landing",
        str(demo),
        env=_env(tmp_path, home, CDP_WAREHOUSE_WAIT_SECONDS="5"),
    )
    assert result.returncode == 1
    assert f"waiting for the warehouse pool, held by run {holder[:8]} (held_elsewhere)" in (
        result.stderr
    )
    assert f"gave up after 5s waiting for the warehouse pool, held by run {holder[:8]}" in (
        result.stderr
    )
    with _instance(home) as instance:
        mine = instance.get_runs(dg.RunsFilter(job_name="ingest_sources"))
        assert [r.status for r in mine] == [dg.DagsterRunStatus.FAILURE]
        assert instance.get_run_by_id(holder).status == dg.DagsterRunStatus.STARTED


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT])
def test_a_signal_stops_a_run_waiting_for_the_warehouse(demo, tmp_path, signum):
    home = _home(tmp_path)
    with _instance(home) as instance:
        _holder(instance, process_tags(os.getpid()))
    waiting = subprocess.Popen(
        [CDP, "run", "--landing", str(demo)],
        env=_env(tmp_path, home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while True:  # until its run is recorded and waiting for the slot
        with _instance(home) as instance:
            info = instance.event_log_storage.get_concurrency_info("warehouse")
            if info.pending_step_count:
                break
        assert waiting.poll() is None and time.monotonic() < deadline
        time.sleep(0.5)
    waiting.send_signal(signum)
    assert waiting.wait(timeout=60) == 130
    assert f"stopped by {signal.Signals(signum).name}" in waiting.stderr.read()
    waiting.stderr.close()
    with _instance(home) as instance:
        mine = instance.get_runs(dg.RunsFilter(job_name="ingest_sources"))
        assert [r.status for r in mine] == [dg.DagsterRunStatus.FAILURE]
        assert not instance.event_log_storage.get_concurrency_info("warehouse").pending_step_count


def test_a_slot_held_by_a_dead_process_is_freed_and_the_run_completes(demo, tmp_path):
    home = _home(tmp_path)
    gone = subprocess.Popen(["true"])
    gone.wait()
    with _instance(home) as instance:
        holder = _holder(instance, process_tags(gone.pid))
    result = cdp("run", "--landing", str(demo), env=_env(tmp_path, home))
    assert result.returncode == 0, result.stderr
    assert f"run {holder[:8]} (held_elsewhere) had died without ending" in result.stderr
    with _instance(home) as instance:
        assert instance.get_run_by_id(holder).status == dg.DagsterRunStatus.FAILURE


def _dead_pid() -> int:
    gone = subprocess.Popen(["true"])
    gone.wait()
    return gone.pid


def test_the_dead_run_sensor_recovers_cdp_runs_and_launched_runs_whose_process_is_gone():
    from dagster._core.events import EngineEventData

    from cdp_platform.automation.sensors import dead_run_sensor

    with dg.instance_for_test() as instance:
        instance.event_log_storage.set_concurrency_slots("warehouse", 3)
        by_cdp = _holder(instance, process_tags(_dead_pid()))
        launched = instance.add_run(
            dg.DagsterRun(job_name="launched", status=dg.DagsterRunStatus.STARTED)
        )
        # What a run worker started by the default launcher records of itself.
        pid = _dead_pid()
        instance.report_engine_event(
            f"Started process for run (pid: {pid}).", launched, EngineEventData.in_process(pid)
        )
        alive = _holder(instance, process_tags(os.getpid()))
        elsewhere = _holder(instance, {**process_tags(_dead_pid()), "cdp/host": "another-host"})

        result = dead_run_sensor(dg.build_sensor_context(instance=instance))

        assert "recovered 2 dead run(s)" in result.skip_message
        status = {
            run_id: instance.get_run_by_id(run_id).status
            for run_id in (by_cdp, launched.run_id, alive, elsewhere)
        }
        assert status == {
            by_cdp: dg.DagsterRunStatus.FAILURE,
            launched.run_id: dg.DagsterRunStatus.FAILURE,
            alive: dg.DagsterRunStatus.STARTED,  # its process lives
            elsewhere: dg.DagsterRunStatus.STARTED,  # on another host: cannot be known here
        }
        assert by_cdp not in instance.event_log_storage.get_concurrency_run_ids()
        again = dead_run_sensor(dg.build_sensor_context(instance=instance))
        assert again.skip_message == "every run in progress still has its process"
