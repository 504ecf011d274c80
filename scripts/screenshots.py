"""Take the README's screenshots from a real run: the report and the Dagster asset graph in headless
Chromium (Playwright over Debian's chromium), a Chinese site's triage workbook as LibreOffice lays it out.

    python scripts/screenshots.py --out dli-etl-out      # after `dli-etl demo`; writes docs/img/*.png
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[1]


def _report(page, report: Path, img: Path) -> None:
    page.goto(report.resolve().as_uri())
    page.screenshot(path=str(img / "report-summary.png"), clip={"x": 0, "y": 0, "width": 1400, "height": 900})
    page.locator("#endpoints").scroll_into_view_if_needed()
    figures = page.locator(".figures")
    figures.screenshot(path=str(img / "report-curves.png"))
    page.fill("#finding-filter", "DOSE")
    page.locator("#findings-listing").screenshot(path=str(img / "report-findings.png"))


def _dagster(page, out: Path, landing: Path, img: Path, port: int) -> None:
    env = {**os.environ, "DAGSTER_HOME": str(out / ".dagster_home"), "DLI_OUTPUT_DIR": str(out),
           "DLI_LANDING_DIR": str(landing)}
    key = out / ".demo_pseudonym_key"
    if key.exists():
        env["DLI_PSEUDONYM_KEY"] = key.read_text().strip()
    server = subprocess.Popen([shutil.which("dagster-webserver") or "dagster-webserver", "-w", "workspace.yaml",
                               "-h", "127.0.0.1", "-p", str(port)], cwd=REPO, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        for _ in range(120):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/server_info", timeout=1)
                break
            except OSError:
                time.sleep(1)
        page.goto(f"http://127.0.0.1:{port}/asset-groups")
        page.wait_for_timeout(4000)
        skip = page.get_by_role("button", name="Skip")  # the newsletter prompt of a new instance
        if skip.count():
            skip.click()
        page.mouse.click(900, 250)
        page.keyboard.press("Alt+e")  # expand all groups: each study's assets and the release
        page.wait_for_timeout(2500)
        page.screenshot(path=str(img / "dagster-graph.png"))
    finally:
        server.terminate()
        server.wait(timeout=30)


def _workbook(page, out: Path, img: Path) -> None:
    """LibreOffice renders the workbook's first sheet as it lays it out (column widths, header fill,
    wrapping); the browser photographs the part a nurse reads first."""
    workbook = next((out / "triage" / "DLIPLX").glob("*_JLU_queries.xlsx"))
    soffice = shutil.which("soffice") or shutil.which("libreoffice")
    if soffice is None:
        print("no LibreOffice: the workbook screenshot is not taken", file=sys.stderr)
        return
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run([soffice, "--headless", "--convert-to", "html", "--outdir", tmp, str(workbook)], check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        page.set_viewport_size({"width": 2000, "height": 700})
        page.goto(next(Path(tmp).glob("*.html")).as_uri())
        page.add_style_tag(content="body{margin:8px;zoom:1.15} h1,hr,center{display:none}")
        table = page.locator("table").first
        box = table.bounding_box()
        page.screenshot(path=str(img / "triage-workbook-zh.png"),
                        clip={"x": box["x"], "y": box["y"], "width": min(box["width"], 1990), "height": min(box["height"], 520)})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=Path("dli-etl-out"), help="output folder of a `dli-etl demo` run")
    parser.add_argument("--landing", type=Path, default=None, help="its landing folder (default: <out>/landing)")
    parser.add_argument("--img", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--port", type=int, default=3399)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    out = args.out.resolve()
    landing = (args.landing or out / "landing").resolve()
    args.img.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=shutil.which("chromium"), args=ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 900})
        _report(page, out / "report" / "dq_report.html", args.img)
        _dagster(page, out, landing, args.img, args.port)
        _workbook(page, out, args.img)
        browser.close()
    print("\n".join(str(p) for p in sorted(args.img.glob("*.png"))))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
