"""`rxrego studio` end to end: a real headless Chromium (Debian's package, driven by
Playwright) fills the form, sees OPA's decision change as it types, saves a golden case, and
the saved case passes `rxrego conformance` on the real OPA binary. Plus the HTTP API's
guards, a spec edited while the studio runs, and the case-file writer on its own."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest
import requests
import yaml

from conftest import CASES, REGO, SPECS, in_ci
from rxrego.author import casefile
from rxrego.author.common import InputError, load_spec_file
from rxrego.author.studio import Studio, StudioError
from rxrego.conformance.cases import load_case_file

CHROMIUM = Path("/usr/bin/chromium")
BROWSER_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
CASE_FILE = "fep/5.21.100-besponsa.cases.yaml"


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A copy of the specs and cases: saving a case must not touch the repository."""
    # 5.21.100's folder alone, so that its policy is the one the page opens on.
    shutil.copytree(SPECS / "fep", tmp_path / "policy_source" / "fep")
    shutil.copytree(CASES / "fep", tmp_path / "conformance" / "fep")
    return tmp_path


@pytest.fixture
def studio(opa_path, workspace):
    with Studio(workspace / "policy_source", workspace / "conformance") as s:
        yield s


@pytest.fixture
def page():
    """A page in a fresh headless Chromium profile (Debian's chromium; never a download)."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:  # pragma: no cover - playwright is a test dependency
        pytest.fail(f"playwright is a test dependency and is missing: {exc}")
    if not CHROMIUM.exists():
        message = "Debian's chromium is missing: `make system-deps` (as root) installs it"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    with sync_playwright() as p, tempfile.TemporaryDirectory(prefix="rxrego-chromium-") as profile:
        context = p.chromium.launch_persistent_context(
            profile,
            executable_path=str(CHROMIUM),
            headless=True,
            args=BROWSER_ARGS,
            viewport={"width": 1600, "height": 1000},
        )
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.set_default_timeout(30_000)
        yield page
        context.close()
        assert not errors, f"the page raised: {errors}"


def answer(link: str) -> str:
    return f'[data-link="{link}"] > .answer'


def wait_for_outcome(page, outcome: str) -> None:
    page.wait_for_selector(f'#outcome[data-outcome="{outcome}"]')
    page.wait_for_function("document.querySelector('main').dataset.busy === 'false'")


def fill_approvable_adult(page) -> None:
    page.fill('[id="f-date_of_service"]', "2026-06-15")
    page.fill(answer("patient.birth_date"), "1980-03-20")
    page.fill(answer("diagnoses.code"), "C91.02")
    page.select_option(answer("diagnoses.lineage"), "b_cell_precursor")
    page.select_option(answer("diagnoses.disease_status"), "relapsed")
    page.select_option(answer("biomarkers.CD22"), "positive")
    page.select_option(answer("biomarkers.philadelphia_chromosome"), "negative")
    for name in ("liver_tests_each_dose", "vod_monitoring", "no_alkylating_hsct_conditioning"):
        page.select_option(answer(f"prescriber.attestations.{name}"), "true")


def test_studio_in_a_browser_pended_approved_denied_and_a_saved_case_passes_conformance(studio, page, workspace):
    page.goto(studio.url + "/")
    # An empty form: the request lacks every fact, so OPA pends it.
    wait_for_outcome(page, "pended")
    assert page.locator("ul.missing li").count() >= 3
    assert "Besponsa" in page.frame_locator("#policy-doc").locator("h1").inner_text()

    fill_approvable_adult(page)
    wait_for_outcome(page, "approved")
    assert page.locator("#summary .approval").inner_text() == "Approved 2026-06-15 to 2026-09-15 (3 months)"
    tree = page.locator("#tree")
    assert tree.locator('[data-criterion="diagnosis"]').get_attribute("data-status") == "met"
    assert tree.locator('[data-criterion="ph_positive"]').get_attribute("data-status") == "unmet"
    assert "age 46 on 2026-06-15" in tree.locator('[data-criterion="age_1_or_older"]').inner_text()

    # enableWhen: the prior-therapy question appears only for a Ph-positive patient, and the
    # therapies group only when it is answered Yes.
    assert not page.locator(answer("prior_therapies.any")).is_visible()
    page.select_option(answer("biomarkers.philadelphia_chromosome"), "positive")
    wait_for_outcome(page, "pended")
    assert page.locator(answer("prior_therapies.any")).is_visible()
    assert not page.locator('fieldset[data-link="prior_therapies"]').is_visible()
    page.select_option(answer("prior_therapies.any"), "true")
    page.fill(answer("prior_therapies.agent"), "dasatinib")
    page.select_option(answer("prior_therapies.class"), "tyrosine_kinase_inhibitor")
    page.select_option(answer("prior_therapies.result"), "failed")
    page.click('fieldset[data-link="prior_therapies"] button.add')
    second = page.locator('fieldset[data-link="prior_therapies"] .instance').nth(1)
    second.locator(answer("prior_therapies.agent")).fill("hyper-CVAD")
    second.locator(answer("prior_therapies.class")).select_option("standard_chemotherapy")
    second.locator(answer("prior_therapies.result")).select_option("failed")
    wait_for_outcome(page, "approved")
    assert tree.locator('[data-criterion="ph_positive_adult_prior_therapy"]').get_attribute("data-status") == "met"

    # The prescriber does not agree to monitor for VOD: denied, in the policy's words.
    page.select_option(answer("prescriber.attestations.vod_monitoring"), "false")
    wait_for_outcome(page, "denied")
    unmet = page.locator('#summary ul.unmet li[data-criterion="vod_monitoring"]').inner_text()
    assert unmet.startswith("Prescriber agrees to monitor for signs and symptoms of hepatic veno-occlusive disease")

    # Save it as a golden case.
    before = (workspace / "conformance" / CASE_FILE).read_text(encoding="utf-8")
    page.fill("#case-name", "studio-ph-positive-adult-without-vod-monitoring-denied")
    page.fill(
        "#case-proves",
        "a Ph+ adult after a TKI and chemotherapy is denied when the prescriber will not monitor for VOD",
    )
    page.click("#save-case")
    page.wait_for_selector("#save-status.ok")
    assert "expecting denied" in page.inner_text("#save-status")

    after = (workspace / "conformance" / CASE_FILE).read_text(encoding="utf-8")
    assert after.startswith(before.rsplit("\n  - name:", 1)[0])  # what was there is kept as written
    suite = load_case_file(workspace / "conformance" / CASE_FILE)
    saved = next(c for c in suite.cases if c.name == "studio-ph-positive-adult-without-vod-monitoring-denied")
    assert saved.expect["outcome"] == "denied" and saved.expect["unmet"] == ["vod_monitoring"]
    assert saved.request["prior_therapies"] == [
        {"agent": "dasatinib", "class": "tyrosine_kinase_inhibitor", "result": "failed"},
        {"agent": "hyper-CVAD", "class": "standard_chemotherapy", "result": "failed"},
    ]
    assert saved.request["prescriber"]["attestations"]["vod_monitoring"] is False

    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "rxrego.cli",
            "conformance",
            str(workspace / "conformance"),
            "--policy",
            "fep-5.21.100",
            "--specs",
            str(workspace / "policy_source"),
            "--rego",
            str(REGO),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"{len(suite.cases)} passed, 0 failed" in result.stdout

    # A second save under the same name is refused, and the file stays as it is.
    page.click("#save-case")
    page.wait_for_selector("#save-status.error")
    assert "already has a case named" in page.inner_text("#save-status")
    assert (workspace / "conformance" / CASE_FILE).read_text(encoding="utf-8") == after


def _post(studio, path: str, body: object, **headers) -> requests.Response:
    return requests.post(studio.url + path, json=body, headers=headers, timeout=30)


def _form(**answers) -> dict:
    items = [{"linkId": k, "answer": [v]} for k, v in answers.items()]
    return {
        "policy": "fep-5.21.100",
        "request_type": "initial",
        "date_of_service": "2026-06-15",
        "response": {"resourceType": "QuestionnaireResponse", "item": items},
    }


def test_api_guards_and_a_spec_edited_while_running(studio, workspace):
    # loopback only: another Host header (DNS rebinding) is refused
    assert requests.get(studio.url + "/", headers={"Host": "evil.example:80"}, timeout=10).status_code == 403
    # the API takes JSON only (a cross-site form cannot send it without a preflight)
    assert (
        requests.post(
            studio.url + "/api/decide",
            data="policy=x",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
            timeout=10,
        ).status_code
        == 415
    )
    assert (
        _post(studio, "/api/decide", {**_form(), "policy": "nope"}).json()["error"]
        == "no policy 'nope' among the specs"
    )
    assert (
        "date of service" in _post(studio, "/api/decide", {**_form(), "date_of_service": "15/06/2026"}).json()["error"]
    )
    bad = _form()
    bad["response"]["item"] = [
        {"linkId": "patient.birth_date", "answer": [{"valueDate": "1980-03-20", "valueString": "x"}]}
    ]
    assert "exactly one value[x]" in _post(studio, "/api/decide", bad).json()["error"]

    adult = _form(**{"patient.birth_date": {"valueDate": "2010-03-20"}})
    view = _post(studio, "/api/decide", adult).json()
    assert view["decision"]["criteria"]["age_18_or_older"] == "unmet"  # 16 years old
    assert view["request"]["patient"] == {"birth_date": "2010-03-20"}

    # The author lowers the adult age to 16 in the spec: the next decision uses it.
    spec = workspace / "policy_source" / "fep" / "5.21.100-besponsa.yaml"
    text = spec.read_text(encoding="utf-8")
    assert text.index("min_years: 18") < text.index("earlier_versions:")  # the current version's
    spec.write_text(text.replace("min_years: 18", "min_years: 16", 1), encoding="utf-8")
    view = _post(studio, "/api/decide", adult).json()
    assert view["decision"]["criteria"]["age_18_or_older"] == "met"

    # A broken spec: no decision (never one from Rego that does not match the specs), and
    # the page says why, with the file and line.
    spec.write_text(text.replace("min_years: 18", "min_years: eighteen", 1), encoding="utf-8")
    resp = _post(studio, "/api/decide", adult)
    assert resp.status_code == 409 and "5.21.100-besponsa.yaml:" in resp.json()["error"]
    page = requests.get(studio.url + "/", timeout=30).text
    assert 'id="spec-errors"' in page and "min_years" in page
    spec.write_text(text, encoding="utf-8")
    assert _post(studio, "/api/decide", adult).json()["decision"]["criteria"]["age_18_or_older"] == "unmet"


def test_studio_refuses_a_non_loopback_address_and_broken_specs(tmp_path):
    with pytest.raises(StudioError, match="loopback only"):
        Studio(SPECS, CASES, host="0.0.0.0")
    (tmp_path / "specs").mkdir()
    (tmp_path / "specs" / "broken.yaml").write_text("id: [\n", encoding="utf-8")
    with pytest.raises(StudioError, match=r"broken\.yaml:"):
        Studio(tmp_path / "specs", tmp_path / "cases").start()


# --- the case-file writer ------------------------------------------------------------------------


def test_append_case_keeps_the_file_and_reads_back(tmp_path):
    spec = load_spec_file(SPECS / "fep" / "5.21.100-besponsa.yaml")
    cases = tmp_path / "conformance"
    (cases / "fep").mkdir(parents=True)
    path = cases / "fep" / "anything.cases.yaml"
    path.write_text(
        "# a comment that stays\npolicy: fep-5.21.100\ncases:\n    - name: first\n      proves: x\n      request: {}\n"
        "      expect: {outcome: invalid_request}\n\n# about the waivers\nwaivers:\n    - {criterion: diagnosis, status: met, reason: r}\n",
        encoding="utf-8",
    )
    request = {
        "request_type": "initial",
        "date_of_service": "2026-06-15",
        "patient": {"birth_date": "1980-03-20"},
        "drug": {"name": "Besponsa", "hcpcs": "J9229"},
        "note": "yes",
        "n": "1234",
        "odd": "a: b # c",
        "diagnoses": [{"code": "C91.02", "lineage": "b_cell_precursor"}],
        "flag": True,
        "labs": [{"value": 1000.5}],
    }
    expect = {"outcome": "denied", "reason": "criteria_unmet", "unmet": ["vod_monitoring"]}
    assert (
        casefile.append_case(cases, spec, SPECS, name="second", proves="it: works", request=request, expect=expect)
        == path
    )
    text = path.read_text(encoding="utf-8")
    assert text.startswith("# a comment that stays\n") and text.index("- name: second") < text.index(
        "# about the waivers"
    )
    assert "\n    - name: second\n" in text  # the file's own indentation
    suite = load_case_file(path)
    assert [c.name for c in suite.cases] == ["first", "second"]
    assert suite.cases[1].request == request and suite.cases[1].expect == expect
    assert len(suite.waivers) == 1

    with pytest.raises(InputError, match="already has a case named 'second'"):
        casefile.append_case(cases, spec, SPECS, name="second", proves="p", request=request, expect=expect)
    with pytest.raises(InputError, match="case name 'Bad Name'"):
        casefile.append_case(cases, spec, SPECS, name="Bad Name", proves="p", request=request, expect=expect)
    assert path.read_text(encoding="utf-8") == text


def test_append_case_creates_the_file_beside_the_spec_and_refuses_flow_style(tmp_path):
    spec = load_spec_file(SPECS / "fep" / "5.21.100-besponsa.yaml")
    cases = tmp_path / "conformance"
    path = casefile.append_case(
        cases, spec, SPECS, name="only", proves="p", request={"a": 1}, expect={"outcome": "no_policy"}
    )
    assert path == cases / "fep" / "5.21.100-besponsa.cases.yaml"
    assert yaml.safe_load(path.read_text(encoding="utf-8"))["cases"][0]["request"] == {"a": 1}

    path.write_text("policy: fep-5.21.100\ncases: [{name: a, proves: p, request: {}, expect: {}}]\n", encoding="utf-8")
    with pytest.raises(InputError, match="flow style"):
        casefile.append_case(cases, spec, SPECS, name="b", proves="p", request={}, expect={})
