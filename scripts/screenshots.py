"""Screenshots for the README: the studio deciding a request, and a rendered policy.

    .venv/bin/python scripts/screenshots.py        # writes docs/images/studio.png, render.png

Uses Debian's chromium (headless, a fresh profile) through Playwright, as tests/test_studio.py
does, and a copy of the specs and cases, so nothing in the repository but the images changes.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

from playwright.sync_api import sync_playwright

from rxrego.author.render import render
from rxrego.author.common import load_spec_file
from rxrego.author.studio import Studio

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "images"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
SPEC = ROOT / "policy_source" / "fep" / "5.21.100-besponsa.yaml"


def answer(link: str) -> str:
    return f'[data-link="{link}"] > .answer'


def main() -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="rxrego-shots-") as tmp, sync_playwright() as p:
        work = Path(tmp)
        shutil.copytree(ROOT / "policy_source", work / "policy_source")
        shutil.copytree(ROOT / "conformance", work / "conformance")
        browser = p.chromium.launch_persistent_context(
            str(work / "profile"), executable_path="/usr/bin/chromium", headless=True, args=ARGS,
            viewport={"width": 1600, "height": 1000}, device_scale_factor=1,
        )
        page = browser.new_page()
        with Studio(work / "policy_source", work / "conformance") as studio:
            page.goto(studio.url + "/")
            page.wait_for_selector('#outcome[data-outcome="pended"]')
            page.fill('[id="f-date_of_service"]', "2026-06-15")
            page.fill(answer("patient.birth_date"), "1980-03-20")
            page.fill(answer("diagnoses.code"), "C91.02")
            page.select_option(answer("diagnoses.lineage"), "b_cell_precursor")
            page.select_option(answer("diagnoses.disease_status"), "relapsed")
            page.select_option(answer("biomarkers.CD22"), "positive")
            page.select_option(answer("biomarkers.philadelphia_chromosome"), "positive")
            page.select_option(answer("prior_therapies.any"), "true")
            page.fill(answer("prior_therapies.agent"), "imatinib")
            page.select_option(answer("prior_therapies.class"), "tyrosine_kinase_inhibitor")
            page.select_option(answer("prior_therapies.result"), "intolerant")
            for name in ("liver_tests_each_dose", "vod_monitoring", "no_alkylating_hsct_conditioning"):
                page.select_option(answer(f"prescriber.attestations.{name}"), "true")
            page.wait_for_selector('#outcome[data-outcome="denied"]')
            page.wait_for_function("document.querySelector('main').dataset.busy === 'false'")
            page.locator("#case-name").focus()  # move the caret out of the form
            page.frame_locator("#policy-doc").locator("#requirements-initial").evaluate("e => window.scrollTo(0, e.offsetTop - 8)")
            page.evaluate("window.scrollTo(0, 0)")
            page.screenshot(path=str(OUT / "studio.png"))
        html = work / "render.html"
        html.write_text(render(load_spec_file(SPEC), "html"), encoding="utf-8")
        page.set_viewport_size({"width": 1300, "height": 1250})
        page.goto(html.as_uri())
        page.locator("#requirements-initial").evaluate("e => window.scrollTo(0, e.offsetTop - 140)")
        page.screenshot(path=str(OUT / "render.png"))
        browser.close()
    print(f"wrote {OUT / 'studio.png'} and {OUT / 'render.png'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
