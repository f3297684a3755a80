"""rxrego as a payer gets it: the wheel, installed into a fresh venv outside this checkout.

The wheel is built from a copy of the source tree, installed with pip from a local wheelhouse
(`make setup` fills .venv/wheelhouse with the dependencies at their tested versions; without
it the test fills one itself), and then used as a payer's engineer would: `rxrego init` in a
temporary folder, the checkout's specs and golden cases (5.21.100 among them) copied in, `rxrego run`. It must be
green and write the same Rego, byte for byte, as the checkout's rego/. The steps of the CI
workflow `rxrego init` writes are then run as written, and the workflow is checked by
actionlint. A second venv gets only `rxrego[client]`, which must ask a real sidecar for a
decision without the generator's packages installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from importlib import metadata
from pathlib import Path

import pytest
import yaml

from conftest import ROOT, in_ci
from rxrego import bundle, scaffold, toolchain
from rxrego.sidecar import Sidecar

# A request the 5.21.100 policy approves (as in tests/test_client_sidecar.py).
APPROVED = {
    "request_id": "req-client-only-1",
    "request_type": "initial",
    "date_of_service": "2026-11-30",
    "patient": {"birth_date": "1980-05-10"},
    "drug": {"hcpcs": "J9229"},
    "diagnoses": [{"code": "C91.02", "lineage": "b_cell_precursor", "disease_status": "relapsed"}],
    "biomarkers": {"CD22": "positive", "philadelphia_chromosome": "negative"},
    "prescriber": {
        "attestations": {"liver_tests_each_dose": True, "vod_monitoring": True, "no_alkylating_hsct_conditioning": True}
    },
}
SPEC = ROOT / "policy_source" / "fep" / "5.21.100-besponsa.yaml"
CASES = ROOT / "conformance" / "fep" / "5.21.100-besponsa.cases.yaml"
WHEELHOUSE = ROOT / ".venv" / "wheelhouse"
XSD = ROOT / "tests" / "fixtures" / "junit.xsd"
# actionlint checks GitHub Actions workflows; built from its Go module into the tools folder.
ACTIONLINT_VERSION = "v1.7.12"
# What the source tree copy leaves out: nothing the wheel is built from (top-level rego/ and
# bench/ are the checkout's, not the package's generator/rxrego/rego/).
_ANYWHERE = shutil.ignore_patterns(
    ".git", ".venv", ".tools", "*.egg-info", "__pycache__", ".pytest_cache", ".hypothesis"
)


def NOT_SOURCE(folder: str, names: list[str]) -> set[str]:
    top = {"build", "rego", "bench"} if Path(folder).resolve() == ROOT.resolve() else set()
    return set(_ANYWHERE(folder, names)) | (top & set(names))


def run(
    args, *, cwd: Path, env: dict | None = None, timeout: float = 600, check: bool = True
) -> subprocess.CompletedProcess:
    result = subprocess.run([str(a) for a in args], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        pytest.fail(
            f"{' '.join(map(str, args))} exited {result.returncode} in {cwd}:\n{result.stdout}\n{result.stderr}"
        )
    return result


def clean_env(venv: Path, **extra: str) -> dict:
    """The environment of a shell in which `venv` is active, with nothing of this checkout."""
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME", "RXREGO_OPA", "RXREGO_REGAL", "RXREGO_TOOLS")
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    env.update(extra)
    return env


def make_venv(path: Path) -> Path:
    run([sys.executable, "-m", "venv", path], cwd=path.parent, timeout=300)
    return path


@pytest.fixture(scope="module")
def outside(tmp_path_factory) -> Path:
    """A scratch folder that is not inside the checkout."""
    path = tmp_path_factory.mktemp("outside")
    assert ROOT.resolve() not in path.resolve().parents
    return path


@pytest.fixture(scope="module")
def wheel(outside) -> Path:
    """The rxrego wheel, built from a copy of the source tree with the venv's setuptools."""
    src = outside / "src"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    dist = outside / "dist"
    # The venv's setuptools (constraints.txt) when it can build it; else pip's isolated build.
    reuse = int(metadata.version("setuptools").split(".")[0]) >= 77
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            *(["--no-build-isolation"] if reuse else []),
            "-w",
            dist,
            src,
        ],
        cwd=outside,
    )
    wheels = list(dist.glob("rxrego-*.whl"))
    assert len(wheels) == 1, wheels
    print(f"wheel {wheels[0].name}: {wheels[0].stat().st_size / 1024:.0f} KiB")
    return wheels[0]


@pytest.fixture(scope="module")
def wheelhouse(outside) -> Path:
    """Wheels of the dependencies at their tested versions (constraints.txt)."""
    if any(WHEELHOUSE.glob("jinja2-*.whl")) and any(WHEELHOUSE.glob("httpx-*.whl")):
        return WHEELHOUSE
    house = outside / "wheelhouse"
    src = outside / "src-deps"
    shutil.copytree(ROOT, src, ignore=NOT_SOURCE)
    run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "-c",
            ROOT / "constraints.txt",
            "-w",
            house,
            f"{src}[tools,async]",
        ],
        cwd=outside,
    )
    for w in house.glob("rxrego-*.whl"):
        w.unlink()
    return house


def pip_env(venv: Path, wheel: Path, wheelhouse: Path, **extra: str) -> dict:
    """pip reads only the wheel's folder and the wheelhouse: no package index."""
    return clean_env(
        venv,
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=f"{wheel.parent} {wheelhouse}",
        PIP_DISABLE_PIP_VERSION_CHECK="1",
        **extra,
    )


@pytest.fixture(scope="module")
def actionlint(opa_path) -> Path:
    """actionlint at ACTIONLINT_VERSION in the tools folder, built with `go install` if missing."""
    tools_bin = opa_path.parent
    path = tools_bin / "actionlint"
    if path.is_file():
        out = subprocess.run([str(path), "-version"], capture_output=True, text=True).stdout
        if out.splitlines() and out.splitlines()[0].strip() == ACTIONLINT_VERSION.lstrip("v"):
            return path
    if shutil.which("go") is None:
        if in_ci():
            pytest.fail("go is required in CI to build actionlint")
        pytest.skip("go not found: cannot build actionlint")
    env = {**os.environ, "GOBIN": str(tools_bin)}
    result = subprocess.run(
        ["go", "install", f"github.com/rhysd/actionlint/cmd/actionlint@{ACTIONLINT_VERSION}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr
    return path


def workflow_steps(path: Path) -> list[str]:
    """The `run:` commands of a workflow's one job, in order."""
    doc = yaml.safe_load(path.read_text())
    (job,) = doc["jobs"].values()
    return [step["run"] for step in job["steps"] if "run" in step]


def tree(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.opa
def test_the_wheel_in_a_payers_repository_gives_the_checkouts_bytes(
    outside, wheel, wheelhouse, opa_path, regal_path, actionlint
):
    t0 = time.monotonic()
    venv = make_venv(outside / "venv-tools")
    # One spec cache (rxrego.spec.cache) for every command below, as a developer's shell or a
    # CI job with RXREGO_CACHE_DIR set has: `rxrego run` fills it from the installed package
    # (the bytes it writes are compared with the checkout's rego/ below), and the workflow's
    # steps and the hook read the unchanged specs back instead of loading each afresh.
    cache = outside / "spec-cache"
    env = pip_env(venv, wheel, wheelhouse, RXREGO_TOOLS=str(opa_path.parent.parent), RXREGO_CACHE_DIR=str(cache))
    version = metadata.version("rxrego")
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", f"rxrego[tools]=={version}"], cwd=outside, env=env)
    where = run(
        [venv / "bin" / "python", "-c", "import rxrego; print(rxrego.__file__)"], cwd=outside, env=env
    ).stdout.strip()
    assert Path(where).resolve().is_relative_to(venv.resolve()), where  # the wheel's, not the checkout's

    repo = outside / "payer"
    run([venv / "bin" / "rxrego", "init", repo, "--payer", "Example Health Plan"], cwd=outside, env=env)
    # The checkout's specs and cases, every payer's folder (5.21.100 among them): the router and
    # its routing data are catalog-wide, so only the same specs can give the same bytes.
    for folder in ("policy_source", "conformance"):
        shutil.copytree(ROOT / folder, repo / folder, dirs_exist_ok=True)
    assert (repo / "policy_source" / "fep" / SPEC.name).read_bytes() == SPEC.read_bytes()
    assert (repo / "conformance" / "fep" / CASES.name).read_bytes() == CASES.read_bytes()

    result = run([venv / "bin" / "rxrego", "run"], cwd=repo, env=env)
    assert "result       green" in result.stdout, result.stdout
    assert any(cache.rglob("*")), "rxrego run wrote nothing to RXREGO_CACHE_DIR"
    assert "ok opa fmt" in result.stdout and "ok regal lint" in result.stdout
    # The same specs give the same bytes, installed or not: the whole of rego/.
    assert tree(repo / "rego") == tree(ROOT / "rego")

    # The workflow `rxrego init` wrote is the one docs/ci/ shows, actionlint finds nothing in
    # it, and its steps, run as written from a subfolder's parent, are green.
    workflow = repo / scaffold.WORKFLOW_PATH
    assert workflow.read_bytes() == (ROOT / "docs" / "ci" / "github-actions.yml").read_bytes()
    lint = run([actionlint, "-no-color", workflow], cwd=repo, check=False)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    steps = workflow_steps(workflow)
    assert steps[:2] == ["python -m pip install -r requirements.txt", "rxrego install-tools"]
    assert {"rxrego check", "rxrego generate --check", "rxrego lint"} <= set(steps)
    assert any(s.startswith("rxrego conformance --junit ") for s in steps)
    shutil.rmtree(repo / "build")
    for step in steps:
        out = run(["bash", "-euo", "pipefail", "-c", step], cwd=repo, env=env)
        if step == "rxrego install-tools":
            assert out.stderr.count("already installed") == 2, out.stderr
    import xmlschema

    junit = repo / "build" / "conformance.xml"
    xmlschema.XMLSchema(XSD).validate(junit)

    # The pre-commit hooks are workflow steps that just passed; one runs from a sub-folder.
    hooks = yaml.safe_load((repo / scaffold.PRE_COMMIT_PATH).read_text())["repos"][0]["hooks"]
    assert [h["entry"] for h in hooks] == ["rxrego check", "rxrego generate --check", "rxrego lint"]
    assert {h["entry"] for h in hooks} <= set(steps)
    run(["rxrego", "generate", "--check"], cwd=repo / "policy_source" / "fep", env=env)

    # doctor from the wheel reports the tools doctor in the checkout reports, at the pins.
    theirs = run([venv / "bin" / "rxrego", "doctor"], cwd=repo, env=env).stdout.splitlines()
    ours = run(
        [Path(sys.executable).parent / "rxrego", "doctor"],
        cwd=ROOT,
        env={**os.environ, "RXREGO_TOOLS": str(opa_path.parent.parent)},
    ).stdout.splitlines()
    for name in ("opa", "regal"):
        line = next(line for line in theirs if line.startswith(f"{name:<8} {toolchain.pinned_version(name)}  "))
        assert line in ours
    assert f"project  {repo.resolve()}  (payer: Example Health Plan)" in theirs
    assert theirs[-1] == ours[-1] == "all tools present at their pinned versions"
    print(f"wheel venv: install, init, run, workflow steps and doctor in {time.monotonic() - t0:.0f} s")


@pytest.mark.opa
def test_the_client_only_install_decides_without_the_toolchain(outside, wheel, wheelhouse, opa_path):
    venv = make_venv(outside / "venv-client")
    env = pip_env(venv, wheel, wheelhouse)
    run([venv / "bin" / "python", "-m", "pip", "install", "--quiet", "rxrego[client]"], cwd=outside, env=env)
    installed = {
        d.metadata["Name"].lower()
        for d in metadata.distributions(path=[str(p) for p in venv.glob("lib/python*/site-packages")])
    }
    assert not installed & {"jinja2", "click", "pyyaml", "httpx", "opa-python-client", "aiohttp"}, installed
    assert {"rxrego", "requests", "jsonschema"} <= installed

    built = bundle.build(ROOT / "rego", outside / "client-bundle.tar.gz")
    script = (
        "import json, sys\n"
        "from rxrego.client import RxRegoClient, decide_or_pend\n"
        "request = json.loads(sys.argv[2])\n"
        "with RxRegoClient(sys.argv[1]) as c:\n"
        "    c.wait_until_ready(10)\n"
        "    d = c.decide(request)\n"
        "    print(d.outcome, d.approved)\n"
        "with RxRegoClient('http://127.0.0.1:9') as c:\n"
        "    print(decide_or_pend(c, request).outcome)\n"
        "leaked = sorted(m for m in ('jinja2', 'click', 'yaml', 'httpx') if m in sys.modules)\n"
        "print('imported:', leaked)\n"
    )
    with Sidecar(built.path) as sc:
        out = run(
            [venv / "bin" / "python", "-c", script, sc.url, json.dumps(APPROVED)], cwd=outside, env=env
        ).stdout.splitlines()
    assert out == ["approved True", "pended", "imported: []"]
    # The command line says what to install instead of failing with a traceback.
    cli = run([venv / "bin" / "rxrego", "doctor"], cwd=outside, env=env, check=False)
    assert cli.returncode == 2 and "pip install 'rxrego[tools]'" in cli.stderr and "Traceback" not in cli.stderr


def test_the_wheel_carries_every_file_the_package_reads(wheel):
    """Every file under generator/rxrego (templates, schemas, pins, Regal config, init
    templates, and whatever is added later) is in the wheel; so is its metadata's split of
    the dependencies into the client base and the extras."""
    import zipfile

    package = ROOT / "generator" / "rxrego"
    want = {
        "rxrego/" + p.relative_to(package).as_posix()
        for p in package.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"
    }
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        meta_name = next(n for n in names if n.endswith(".dist-info/METADATA"))
        meta = zf.read(meta_name).decode()
    assert want - names == set()
    assert "rxrego/toolchain.env" in names and "rxrego/regal/config.yaml" in names
    requires = [line.split(":", 1)[1].strip() for line in meta.splitlines() if line.startswith("Requires-Dist:")]
    base = sorted(r.split(">")[0].split("=")[0].split("<")[0] for r in requires if "extra ==" not in r)
    # requests for HTTP; jsonschema words a refused decision; fastjsonschema checks it fast
    assert base == ["fastjsonschema", "jsonschema", "requests"]
    assert "License-Expression: Apache-2.0" in meta
    assert not any("opa-python-client" in r and 'extra == "test"' not in r for r in requires)
