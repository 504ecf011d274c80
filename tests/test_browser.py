"""The report as a reader meets it: opened in a real headless Chromium (Playwright drives Debian's
chromium), offline, with nothing fetched from anywhere, its curves legible and its listing usable."""

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# the machine has no network: Chromium must not try its background services
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-default-apps"]


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        sync_playwright = None
    if CHROMIUM is None or sync_playwright is None:
        if os.environ.get("DLI_REQUIRE_BROWSER") == "1":
            pytest.fail("the browser tests must run here: install Debian's chromium (scripts/ensure-chromium.sh) "
                        "and the dev extra (playwright)")
        pytest.skip("no chromium / playwright on this machine")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def report_page(browser, run_defects):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    requests: list[str] = []
    page.on("request", lambda request: requests.append(request.url))
    page.goto(Path(run_defects.report).resolve().as_uri())
    page.wait_for_load_state("load")
    yield page, requests
    page.close()


def test_the_report_fetches_nothing(report_page, run_defects):
    page, requests = report_page
    # the page itself is the only request: no fonts, scripts, styles or images from anywhere
    assert requests == [Path(run_defects.report).resolve().as_uri()]


def test_every_curve_has_a_legend_and_numbers_at_risk(report_page):
    page, _ = report_page
    curves = page.locator("svg.curve")
    assert curves.count() == 6
    for i in range(6):
        curve = curves.nth(i)
        text = curve.text_content()
        assert "N=" in text and "censored" in text and "number at risk" in text
        box = curve.bounding_box()
        assert box is not None and box["width"] > 300 and box["height"] > 150  # drawn, not collapsed


def test_the_findings_listing_filters_and_sorts(report_page, run_defects):
    page, _ = report_page
    findings = pd.read_parquet(Path(run_defects.out) / "findings" / "findings.parquet")
    shown = findings.head(500)
    rule = shown["rule_id"].value_counts().index[-1]  # the rarest rule in the listing
    page.fill("#finding-filter", rule)
    visible = page.locator("#findings-listing tr:visible")
    assert visible.count() - 1 == int((shown["rule_id"] == rule).sum())  # header row + that rule's findings
    page.fill("#finding-filter", "")
    before = page.locator("#findings-listing tr td:nth-child(6)").all_text_contents()
    page.click("#findings-listing th:has-text('subject')")
    after = page.locator("#findings-listing tr td:nth-child(6)").all_text_contents()
    assert sorted(after) == sorted(before) and after != before
    # in order by the page's own comparison (numeric-aware, as a reader expects 01-9 before 01-10)
    assert page.evaluate("""(xs) => xs.every((x, i) => i === 0 ||
        xs[i - 1].trim().localeCompare(x.trim(), undefined, {numeric: true}) <= 0)""", after)


def test_a_rule_link_opens_its_explanation(report_page):
    page, _ = report_page
    link = page.locator("#findings-listing a[href^='#rule-']").first
    rule = link.get_attribute("href")[1:]
    target = page.locator(f"tr[id='{rule}']")
    assert not target.is_visible()  # the catalogue is folded
    link.click()
    assert target.is_visible()
    assert target.locator("td").nth(6).text_content().strip()  # the rule says why
