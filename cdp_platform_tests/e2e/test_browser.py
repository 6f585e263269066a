"""The Dagster UI in a real browser (Debian's Chromium driven by Playwright) after
the automated end-to-end run: every asset group is there, and `golden_profiles`
shows its row count and passing checks."""

from __future__ import annotations

import shutil

import duckdb
import pytest
from playwright.sync_api import Page, expect, sync_playwright

from cdp_platform.definitions import build_definitions

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
GOLDEN_CHECKS = ("one_profile_per_person", "valid_email_share", "valid_phone_share")


@pytest.fixture
def page(dagster_dev, automated_pipeline):
    # A first visit gets a newsletter dialog over the page; mark it seen, as its Skip does.
    dagster_dev.graphql("mutation { setNuxSeen }")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox"])
        try:
            yield browser.new_page(
                viewport={"width": 1600, "height": 1000}, base_url=dagster_dev.url
            )
        finally:
            browser.close()


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
