"""The Dagster UI in a real browser (Debian's Chromium driven by Playwright): after
the automated end-to-end run every asset group is there and `golden_profiles`
shows its row count and passing checks; the runs `cdp run` starts are listed
under their jobs."""

from __future__ import annotations

import math
import os
import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from cdp_platform.identity import model_store
from cdp_platform.settings import CODE_LOCATION, PROJECT_ROOT
from cdp_platform_tests.e2e.dagster_dev import instance_home, start_dagster_dev, stop_dagster_dev

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
GOLDEN_CHECKS = ("one_profile_per_person", "valid_email_share", "valid_phone_share")


def open_page(server) -> Iterator[Page]:
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


@pytest.fixture(scope="module")
def cdp_run_then_ui(tmp_path_factory):
    """`cdp run` over the shipped demo set (enough records to train the identity
    model) with a DAGSTER_HOME, then the webserver on that instance (no daemon:
    nothing else starts a run)."""
    root = tmp_path_factory.mktemp("cdp_run_ui")
    home = instance_home(root / "dagster_home")
    env = {"CDP_WAREHOUSE": str(root / "warehouse.duckdb")}
    cdp = Path(sys.executable).parent / "cdp"
    subprocess.run(
        [str(cdp), "run", "--quiet", "--landing", str(PROJECT_ROOT / "data" / "landing")],
        env={**os.environ, **env, "DAGSTER_HOME": str(home)},
        check=True,
        capture_output=True,
    )
    server = start_dagster_dev(home, env, root / "webserver.log", daemon=False)
    try:
        yield root, server
    finally:
        stop_dagster_dev(server)


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


def test_identity_model_shows_its_match_weights_and_a_chart_that_opens_offline(
    cdp_run_then_ui, cdp_run_page
):
    root, _ = cdp_run_then_ui
    page = cdp_run_page
    with duckdb.connect(str(root / "warehouse.duckdb")) as conn:  # `current` ensures its table
        model = model_store.current(conn).model
    first_name = next(c for c in model["comparisons"] if c["output_column_name"] == "first_name")
    exact = next(
        lv for lv in first_name["comparison_levels"] if lv["label_for_charts"].startswith("Exact")
    )
    weight = round(math.log2(exact["m_probability"] / exact["u_probability"]), 3)

    page.goto("/assets/identity_model")
    row = page.locator("tr", has=page.get_by_text(exact["label_for_charts"], exact=True)).first
    expect(row).to_contain_text(f"{weight:g}", timeout=60_000)
    page.screenshot(path=str(root / "identity_model_match_weights.png"), full_page=True)

    # The chart's file, as the metadata names it, opened with every request
    # beyond the file itself refused.
    chart = page.get_by_text(re.compile(r"\S+/match_weights\.html")).first
    expect(chart).to_be_visible()
    path = Path(re.search(r"\S+/match_weights\.html", chart.inner_text()).group(0))
    offline = page.context.browser.new_page()
    offline.route(
        "**/*",
        lambda route: route.continue_() if route.request.url.startswith("file:") else route.abort(),
    )
    errors: list[str] = []
    offline.on("pageerror", lambda error: errors.append(str(error)))
    offline.goto(path.as_uri())
    expect(offline.locator(".vega-embed canvas, .vega-embed svg").first).to_be_visible(
        timeout=30_000
    )
    assert errors == []
    assert "Javascript Error" not in offline.inner_text("body")
    offline.screenshot(path=str(root / "match_weights_chart_offline.png"))
    print(f"screenshots: {root}")
