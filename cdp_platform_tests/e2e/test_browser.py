"""The Dagster UI in a real browser (Debian's Chromium driven by Playwright): after
the automated end-to-end run every asset group is there and `golden_profiles`
shows its row count and passing checks; the runs `cdp run` starts are listed
under their jobs."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from cdp_platform.definitions import build_definitions
from cdp_platform.demo.generator import generate
from cdp_platform.settings import CODE_LOCATION
from cdp_platform_tests.e2e.conftest import START
from cdp_platform_tests.e2e.dagster_dev import instance_home, start_dagster_dev, stop_dagster_dev

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
GOLDEN_CHECKS = ("one_profile_per_person", "valid_email_share", "valid_phone_share")


def open_page(server) -> Page:
    """A browser page on `server`'s UI (a generator: the browser closes after)."""
    # A first visit gets a newsletter dialog over the page; mark it seen, as its Skip does.
    server.graphql("mutation { setNuxSeen }")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(viewport={"width": 1600, "height": 1000}, base_url=server.url)
        finally:
            browser.close()


@pytest.fixture
def page(dagster_dev, automated_pipeline):
    yield from open_page(dagster_dev)


@pytest.fixture
def cdp_run_then_ui(tmp_path: Path):
    """`cdp run` over a small demo set with a DAGSTER_HOME, then the webserver on that
    instance (no daemon: nothing else starts a run)."""
    generate(tmp_path, persons=60, days=2, start=START, seed=11)
    home = instance_home(tmp_path / "dagster_home")
    env = {
        "CDP_WAREHOUSE": str(tmp_path / "warehouse.duckdb"),
        "CDP_LANDING_DIR": str(tmp_path / "landing"),
        "CDP_START_DATE": START.isoformat(),
    }
    cdp = Path(sys.executable).parent / "cdp"
    subprocess.run(
        [str(cdp), "run"],
        env={**os.environ, **env, "DAGSTER_HOME": str(home)},
        check=True,
        capture_output=True,
    )
    server = start_dagster_dev(home, env, tmp_path / "webserver.log", daemon=False)
    try:
        yield tmp_path, server
    finally:
        stop_dagster_dev(server)


def asset_groups() -> set[str]:
    repo = build_definitions().get_repository_def()
    return {a.group_names_by_key[k] for k, a in repo.assets_defs_by_key.items()}


def test_the_ui_shows_every_group_and_golden_profiles_with_row_count_and_checks(
    page: Page, workspace
):
    root, _ = workspace
    page.goto("/asset-groups")
    groups = asset_groups()
    assert len(groups) == 7
    for group in sorted(groups):
        expect(page.get_by_text(group, exact=True).first).to_be_visible(timeout=60_000)

    # Open golden_profiles from the catalog, as a user would.
    page.get_by_role("link", name="Catalog").click()
    page.locator('a[href="/assets/golden_profiles"]').first.click()
    expect(page).to_have_url(f"{page.url.split('/assets')[0]}/assets/golden_profiles")
    with duckdb.connect(str(root / "warehouse.duckdb"), read_only=True) as conn:
        profiles = conn.execute("SELECT count(*) FROM profiles.golden_profiles").fetchone()[0]
    row_count = page.get_by_text("Row count", exact=True)
    expect(row_count).to_be_visible(timeout=60_000)
    expect(row_count.locator("xpath=..")).to_contain_text(f"{profiles:,}")
    page.screenshot(path=str(root / "golden_profiles_overview.png"))

    page.get_by_role("tab", name="Checks").or_(page.get_by_text("Checks", exact=True)).first.click()
    for check in GOLDEN_CHECKS:
        expect(page.get_by_text(check, exact=True).first).to_be_visible(timeout=30_000)
    expect(page.get_by_text("Succeeded").first).to_be_visible()
    expect(page.get_by_text("Failed", exact=True)).to_have_count(0)

    screenshot = root / "golden_profiles_checks.png"
    page.screenshot(path=str(screenshot), full_page=True)
    assert screenshot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert screenshot.stat().st_size > 20_000
    print(f"screenshot: {screenshot}")


@pytest.fixture
def cdp_run_page(cdp_run_then_ui):
    yield from open_page(cdp_run_then_ui[1])


def test_the_runs_cdp_run_starts_are_listed_under_their_jobs(cdp_run_then_ui, cdp_run_page):
    root, server = cdp_run_then_ui
    page = cdp_run_page
    runs = {run["jobName"]: run for run in server.runs()}
    assert set(runs) == {"ingest_sources", "refresh_downstream"}
    assert all(run["status"] == "SUCCESS" for run in runs.values())

    for job, run in runs.items():
        page.goto(f"/locations/{CODE_LOCATION}/jobs/{job}/runs")
        expect(page.get_by_text(run["runId"][:8]).first).to_be_visible(timeout=60_000)
    screenshot = root / "cdp_run_under_its_job.png"
    page.screenshot(path=str(screenshot), full_page=True)
    print(f"screenshot: {screenshot}")
