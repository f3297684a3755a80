"""`rxrego explain` and `rxrego decide` never decide with stale Rego, read YAML or JSON
requests or a golden case by name, and `--watch` decides again on every save. Real OPA."""

from __future__ import annotations

import contextlib
import json
import queue
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import CASES, REGO, SPECS
from rxrego.author.common import InputError
from rxrego.author.trial import find_case, parse_request
from rxrego.cli import main

REQUEST_YAML = """\
# a request written by hand, in YAML
request_type: initial
date_of_service: 2026-06-15
patient: {birth_date: 1956-03-20}     # 70 years old on the date of service
drug: {hcpcs: J9229}
diagnoses: [{code: C91.02, lineage: b_cell_precursor, disease_status: relapsed}]
biomarkers: {CD22: positive, philadelphia_chromosome: negative}
prescriber:
  attestations: {liver_tests_each_dose: true, vod_monitoring: true, no_alkylating_hsct_conditioning: true}
"""


def run(*args: str):
    return CliRunner().invoke(main, list(args))


@pytest.fixture
def edited(tmp_path) -> Path:
    """A copy of the specs where the adult criterion reads 'between 18 and 75 years' and is
    encoded so: rego/ (generated from the unedited specs) is stale against it."""
    specs = tmp_path / "specs"
    shutil.copytree(SPECS, specs)
    path = specs / "fep" / "5.21.100-besponsa.yaml"
    text = path.read_text(encoding="utf-8")
    old = "    text: Age 18+\n    age: {min_years: 18}\n"
    assert text.count(old) == 1
    path.write_text(
        text.replace(old, "    text: Age between 18 and 75 years\n    age: {min_years: 18, max_years: 75}\n"),
        encoding="utf-8",
    )
    return specs


def test_explain_and_decide_never_use_stale_rego(opa_path, edited, tmp_path):
    req = tmp_path / "request.yaml"
    req.write_text(REQUEST_YAML.replace("1956-03-20", "1976-03-20"), encoding="utf-8")  # 50 years old
    # Current Rego, no note.
    result = run("explain", str(req), "--specs", str(SPECS), "--rego", str(REGO))
    assert result.exit_code == 0, result.output
    assert "stale" not in result.stderr
    # The edited spec: rego/ is stale; the explanation comes from fresh Rego and agrees with itself.
    req.write_text(REQUEST_YAML, encoding="utf-8")  # 70 years old
    result = run("explain", str(req), "--specs", str(edited), "--rego", str(REGO))
    assert result.exit_code == 0, result.output
    assert "is stale" in result.stderr and "temporary folder" in result.stderr
    line = next(x for x in result.stdout.splitlines() if x.rstrip().endswith("[age_18_or_older]"))
    assert line.split()[0] == "met" and "between 18 and 75 years" in line
    assert "the Rego that decided is not generated from this spec" not in result.stderr
    # --stale fail: say so and stop.
    result = run("explain", str(req), "--specs", str(edited), "--rego", str(REGO), "--stale", "fail")
    assert result.exit_code == 1 and "is stale" in result.stderr and "rxrego generate" in result.stderr
    result = run("decide", str(req), "--specs", str(edited), "--rego", str(REGO), "--stale", "fail")
    assert result.exit_code == 2 and "is stale" in result.stderr
    # decide: a Ph+ 76-year-old without prior therapy is outside "between 18 and 75", so the
    # Ph+ adult rule does not apply and the fresh Rego approves (the unedited policy pends it for the missing prior therapies).
    req.write_text(
        REQUEST_YAML.replace("1956-03-20", "1950-03-20").replace(
            "philadelphia_chromosome: negative", "philadelphia_chromosome: positive"
        ),
        encoding="utf-8",
    )
    result = run("decide", str(req), "--specs", str(edited), "--rego", str(REGO), "--json")
    assert result.exit_code == 0, result.output
    decision = json.loads(result.stdout)
    assert decision["outcome"] == "approved" and decision["criteria"]["age_18_or_older"] == "unmet"
    stale = run("decide", str(req), "--specs", str(SPECS), "--rego", str(REGO), "--json")
    assert stale.exit_code == 1 and json.loads(stale.stdout)["outcome"] == "pended"
    assert "is stale" in result.stderr


def test_requests_in_yaml_or_json_and_golden_cases_by_name(opa_path, tmp_path):
    yaml_req = tmp_path / "r.yaml"
    yaml_req.write_text(REQUEST_YAML, encoding="utf-8")
    json_req = tmp_path / "r.json"
    json_req.write_text(json.dumps(parse_request(REQUEST_YAML, "r.yaml")), encoding="utf-8")
    assert parse_request(REQUEST_YAML, "r.yaml")["date_of_service"] == "2026-06-15"  # dates stay text
    for path in (yaml_req, json_req):
        result = run("decide", str(path), "--specs", str(SPECS), "--rego", str(REGO))
        assert result.exit_code == 0 and result.stdout.startswith("APPROVED"), result.output
        # An approval shows its period, and never the line for an approval without one.
        assert "\napproval    2026-06-15 to " in result.stdout and "NONE" not in result.stdout, result.stdout
    stdin = CliRunner().invoke(main, ["decide", "-", "--specs", str(SPECS), "--rego", str(REGO)], input=REQUEST_YAML)
    assert stdin.exit_code == 0 and stdin.stdout.startswith("APPROVED")

    # A golden case by name: its expanded request, decided as conformance decides it.
    result = run(
        "explain",
        "--case",
        "approved-adult-ph-negative",
        "--cases",
        str(CASES),
        "--specs",
        str(SPECS),
        "--rego",
        str(REGO),
    )
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("Case        golden case 5.21.100-besponsa.cases.yaml::approved-adult-ph-negative")
    assert "APPROVED" in result.output
    case = find_case(CASES, "5.21.100-besponsa.cases.yaml::approved-adult-ph-negative")
    assert case.request["patient"]["birth_date"] == "1980-03-20"

    # Mistakes: located, exit 2, no traceback.
    bad = tmp_path / "bad.yaml"
    bad.write_text("request_type: initial\npatient: {birth_date: 1980-03-20\n", encoding="utf-8")
    result = run("decide", str(bad), "--specs", str(SPECS), "--rego", str(REGO))
    assert result.exit_code == 2 and "bad.yaml:3:" in result.stderr and "Traceback" not in result.stderr
    dup = tmp_path / "dup.yaml"
    dup.write_text("request_type: initial\nrequest_type: renewal\n", encoding="utf-8")
    result = run("explain", str(dup), "--specs", str(SPECS), "--rego", str(REGO))
    assert result.exit_code == 2 and "dup.yaml:2:1: request_type: duplicate key 'request_type'" in result.stderr
    result = run("decide", "--case", "no-such-case", "--cases", str(CASES), "--specs", str(SPECS), "--rego", str(REGO))
    assert result.exit_code == 2 and "no golden case named 'no-such-case'" in result.stderr
    result = run("explain", str(yaml_req), "--case", "approved-adult-ph-negative")
    assert result.exit_code == 2 and "not both" in result.stderr
    with pytest.raises(InputError, match="no such folder"):
        find_case(tmp_path / "none", "x")


class _Lines:
    """A process's output, line by line, read in a thread (no read ever blocks the test)."""

    def __init__(self, stream):
        self.q: queue.Queue[str] = queue.Queue()
        self.seen: list[str] = []
        threading.Thread(target=self._pump, args=(stream,), daemon=True).start()

    def _pump(self, stream) -> None:
        for line in stream:
            self.q.put(line)

    def wait_for(self, text: str, timeout: float = 90) -> None:
        deadline = time.monotonic() + timeout
        while not any(text in line for line in self.seen):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"{text!r} did not appear; output so far:\n{''.join(self.seen)}")
            with contextlib.suppress(queue.Empty):
                self.seen.append(self.q.get(timeout=left))


def test_watch_decides_again_on_each_save(opa_path, edited, tmp_path):
    req = tmp_path / "request.yaml"
    req.write_text(REQUEST_YAML, encoding="utf-8")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "rxrego.cli",
            "explain",
            str(req),
            "--watch",
            "--specs",
            str(edited),
            "--rego",
            str(REGO),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        # As from an interactive shell: Ctrl-C's default action. A child inherits an ignored
        # SIGINT from the process that starts it (a test runner's worker may ignore it), and
        # Python then never raises KeyboardInterrupt.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        out = _Lines(proc.stdout)
        out.wait_for("Decision    APPROVED")
        out.wait_for("watching")
        # the request is saved with the prescriber refusing VOD monitoring
        req.write_text(REQUEST_YAML.replace("vod_monitoring: true", "vod_monitoring: false"), encoding="utf-8")
        out.wait_for("Decision    DENIED")
        # the spec is saved with a lower upper age bound: fresh Rego, and the 70-year-old is out
        spec = edited / "fep" / "5.21.100-besponsa.yaml"
        spec.write_text(spec.read_text(encoding="utf-8").replace("max_years: 75", "max_years: 65"), encoding="utf-8")
        out.wait_for("unmet   Age between 18 and 75 years")
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            time.sleep(0.5)  # what it printed after Ctrl-C says where it was
            with contextlib.suppress(queue.Empty):
                while True:
                    out.seen.append(out.q.get_nowait())
            status = Path(f"/proc/{proc.pid}/status")
            ignored = (
                [line for line in status.read_text().splitlines() if line.startswith("SigIgn")]
                if status.exists()
                else []
            )
            raise AssertionError(
                f"Ctrl-C did not end the watch in 30 s ({', '.join(ignored) or 'no /proc status'}); its output:\n"
                + "".join(out.seen)
            ) from None
        assert code == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_serve_sample_query_names_a_drug_the_bundle_routes(tmp_path):
    import io
    import tarfile

    from rxrego.cli.serving import example_drug

    def bundle(data: dict | None, name: str) -> Path:
        path = tmp_path / name
        with tarfile.open(path, "w:gz") as tar:
            if data is not None:
                raw = json.dumps(data).encode()
                info = tarfile.TarInfo("/data.json")
                info.size = len(raw)
                tar.addfile(info, io.BytesIO(raw))
        return path

    routes = {"hcpcs": {}, "name": {"zeta": {}, "alpha": {}}, "ndc": {"00002-1234-01": {}}}
    assert example_drug(bundle({"rxrego": {"routing": {"routes": routes}}}, "names.tar.gz")) == {"name": "alpha"}
    # No routes, no data.json, not a bundle at all: a placeholder, never an error.
    assert example_drug(bundle({"rxrego": {}}, "empty.tar.gz")) == {"name": "DRUG"}
    assert example_drug(bundle(None, "nodata.tar.gz")) == {"name": "DRUG"}
    junk = tmp_path / "junk.tar.gz"
    junk.write_text("not a bundle", encoding="utf-8")
    assert example_drug(junk) == {"name": "DRUG"}
