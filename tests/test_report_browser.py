"""The report opened in Debian's headless chromium through Playwright.

No console errors, every figure decoded (``naturalWidth > 0``), the primary result and the
Kaplan-Meier numbers-at-risk table visible. The screenshot goes to the test's temporary
folder; with ``HEPATRIAL_UPDATE_DOCS=1`` it replaces docs/images/report.png (the picture in
the README), so that an ordinary test run never changes a tracked file.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from hepatrial.analysis.adam import derive_adam
from hepatrial.analysis.plan import run_plan
from hepatrial.demo import msc_aclf
from hepatrial.demo.tables import source_tables
from hepatrial.protocol import load_protocol
from hepatrial.report.html import ReportInput, render_report

pytestmark = pytest.mark.browser

DOCS_IMAGE = Path(__file__).resolve().parents[1] / "docs" / "images" / "report.png"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture(scope="module")
def report_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    protocol = load_protocol("msc-aclf")
    trial = msc_aclf.reconstruct()
    tables = source_tables(trial, protocol)
    adam = derive_adam(tables, protocol)
    html = render_report(
        ReportInput(adam, run_plan(adam, protocol), protocol, tables, banner=trial.label)
    )
    path = tmp_path_factory.mktemp("report") / "report.html"
    path.write_text(html, encoding="utf-8")
    return path


def test_report_renders_in_chromium(chromium_path: str, report_file: Path) -> None:
    from playwright.sync_api import sync_playwright

    shot = report_file.with_name("report.png")
    errors: list[str] = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path, args=ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.on(
                "request",
                lambda r: (
                    errors.append(f"network: {r.url}")
                    if not r.url.startswith(("file:", "data:"))
                    else None
                ),
            )
            page.goto(report_file.as_uri())
            page.wait_for_load_state("load")
            widths = page.eval_on_selector_all(
                "img", "imgs => imgs.map(i => i.complete ? i.naturalWidth : 0)"
            )
            assert len(widths) >= 6 and min(widths) > 0
            primary = page.locator("#primary-result")
            assert primary.is_visible()
            assert "73.2%" in primary.inner_text() and "55.6%" in primary.inner_text()
            risk = page.locator("#numbers-at-risk").first
            risk.scroll_into_view_if_needed()
            assert risk.is_visible()
            assert "Day 168" in risk.inner_text()
            page.set_viewport_size({"width": 1200, "height": 1500})
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(shot), full_page=False)
        finally:
            browser.close()
    assert errors == []
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000
    if os.environ.get("HEPATRIAL_UPDATE_DOCS") == "1":
        DOCS_IMAGE.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, DOCS_IMAGE)
