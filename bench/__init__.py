"""rxrego benchmarks: `python -m bench [--only B1,B3] [--quick]` (or `make bench`).

B1 generation at scale, B2 conformance throughput, B3 decision latency inside OPA, B4 the
sidecar over HTTP, B5 OPA's memory, G1 the generated decision against hand-written Rego. Each benchmark is a module with `run(ctx) -> Result`;
this module holds what they share: the run context (a private temporary folder, the cached
synthetic corpus), progress lines, the Besponsa request, percentiles and the result type.

Benchmarks compare figures measured side by side in ONE run on the same machine (ratios);
absolute numbers are this machine's. Where a goal is missed, the result says so.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from .corpus import DEFAULT_SEED

ROOT = Path(__file__).resolve().parent.parent
REGO = ROOT / "rego"
SPECS = ROOT / "policy_source"
CASE_FILE = ROOT / "conformance" / "fep" / "5.21.100-besponsa.cases.yaml"
RESULTS = Path(__file__).resolve().parent / "results.json"
BESPONSA_ID = "fep-5.21.100"
# The request every latency benchmark decides: an approvable Ph+ adult, which evaluates every
# criterion of the initial set (the conditional's requirement included).
BENCH_CASE = "approved-adult-ph-positive-after-tki-and-chemotherapy"

_started = time.monotonic()


def log(message: str) -> None:
    """A progress line on stderr (the table goes to stdout)."""
    print(f"[bench {time.monotonic() - _started:7.1f}s] {message}", file=sys.stderr, flush=True)


# --- results -------------------------------------------------------------------------------


@dataclass
class Goal:
    name: str
    target: str
    measured: str
    met: bool | None  # None: not evaluated (e.g. a prerequisite is missing)
    why: str = ""

    @property
    def status(self) -> str:
        return {True: "met", False: "MISSED", None: "not measured"}[self.met]


@dataclass
class Result:
    id: str
    title: str
    rows: list[tuple[str, str]] = field(default_factory=list)  # (measure, value) for the table
    goals: list[Goal] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    data: dict = field(default_factory=dict)  # raw figures for results.json

    def row(self, measure: str, value: str) -> None:
        self.rows.append((measure, value))

    def note(self, text: str) -> None:
        self.notes.append(text)
        log(f"{self.id}: {text}")

    def to_json(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "rows": [{"measure": m, "value": v} for m, v in self.rows],
            "goals": [
                {
                    "name": g.name,
                    "target": g.target,
                    "measured": g.measured,
                    "met": g.met,
                    "status": g.status,
                    "why": g.why,
                }
                for g in self.goals
            ],
            "notes": self.notes,
            "data": self.data,
        }


# --- the run context -----------------------------------------------------------------------


@dataclass
class Settings:
    quick: bool = False
    seed: int = DEFAULT_SEED
    b1_sizes: tuple[int, ...] = (100, 1000)
    corpus_size: int = 1000  # the synthetic corpus of B3 and B5
    b2_cases: int = 500
    b2_naive_sample: int = 50
    b3_rounds: int = 3
    b4_seconds: float = 5.0
    b4_rounds: int = 2
    b4_max_requests: int = 20000  # per load loop (per thread, per wrk thread)
    b4_warmup: int = 300
    b5_warmup: int = 1000
    g2_seconds: float = 5.0
    g2_rounds: int = 3
    g3_sizes: tuple[int, ...] = (10, 100, 1000, 5000)
    g4_run_sizes: tuple[int, ...] = (100, 1000)
    # G3 measures the module form only up to this size (None: every size); the data form at
    # every size (the module form at 5,000 takes most of an hour).
    g3_module_form_up_to: int | None = None
    g4_b2_runs: int = 3

    @classmethod
    def make(cls, quick: bool, seed: int) -> Settings:
        if not quick:
            return cls(seed=seed)
        return cls(
            quick=True,
            seed=seed,
            b1_sizes=(20, 100),
            corpus_size=100,
            b2_cases=100,
            b2_naive_sample=10,
            b3_rounds=1,
            b4_seconds=1.0,
            b4_rounds=1,
            b4_max_requests=5000,
            b4_warmup=50,
            b5_warmup=200,
            g2_seconds=1.0,
            g2_rounds=1,
            g3_sizes=(10, 100),
            g4_run_sizes=(10, 100),
            g4_b2_runs=2,
        )


# What a run reads from the checkout as it goes, (folder under ROOT, file pattern): the
# generator's Python is imported once, at the start, but its Rego library, the data form's
# interpreter, the templates and schemas, the specs and the golden cases are read from disk at
# each point. A G3 run at 5,000 policies takes the better part of an hour; an edit of the
# checkout during it (a commit, a rebase, a checkout) builds the later points from two
# versions at once, and their figures and conformance failures belong to neither.
WATCHED_SOURCES = (
    ("generator/rxrego", "**/*"),
    ("policy_source", "**/*"),
    ("conformance", "**/*"),
    ("bench", "*.py"),
)


def source_fingerprint(root: Path = ROOT, watched=WATCHED_SOURCES) -> dict[str, str]:
    """{file path relative to `root`: SHA-256 of its bytes (hex)} of the files `watched`
    selects, (folder, glob pattern) pairs, compiled Python caches left out. A few hundred
    files: well under a second."""
    out = {}
    for folder, pattern in watched:
        for path in sorted((root / folder).glob(pattern)):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                out[path.relative_to(root).as_posix()] = hashlib.sha256(path.read_bytes()).hexdigest()
    return out


def changed_sources(before: dict[str, str], after: dict[str, str]) -> list[str]:
    """The paths added, removed or changed from `before` to `after` (source_fingerprint's
    results), sorted."""
    return sorted(p for p in before.keys() | after.keys() if before.get(p) != after.get(p))


class SourcesChanged(RuntimeError):
    """The checkout changed while a run was using it (the message names the files)."""


class Context:
    """What the benchmarks of one run share: settings, a private scratch folder and the
    generated Rego of the synthetic corpus + 5.21.100 (built once, on first use)."""

    def __init__(self, settings: Settings, root: Path = ROOT) -> None:
        self.settings = settings
        self.root = root
        # The checkout as this run found it (see WATCHED_SOURCES).
        self.sources = source_fingerprint(root)
        self._tmp = tempfile.TemporaryDirectory(prefix="rxrego-bench-")
        self.tmp = Path(self._tmp.name)
        self._corpus_rego: dict[int, Path] = {}
        # Set by the runner: called with a benchmark's Result while it is still running, to
        # save what it has measured so far.
        self.checkpoint = lambda partial: None

    def close(self) -> None:
        self._tmp.cleanup()

    def check_sources(self, when: str) -> None:
        """Raise SourcesChanged, naming the files, if the checkout's sources differ from what
        this run found at its start (`when`: where in the run, for the message)."""
        changed = changed_sources(self.sources, source_fingerprint(self.root))
        if changed:
            shown = ", ".join(changed[:5]) + (f" and {len(changed) - 5} more" if len(changed) > 5 else "")
            raise SourcesChanged(
                f"the checkout changed during the run ({when}): {shown}. This process imported "
                "the generator's Python at its start and reads the Rego, templates, specs and "
                "cases from disk as it goes, so what it built since would mix two versions: "
                "rerun on a checkout left alone (e.g. a separate worktree)"
            )

    def scratch(self, name: str) -> Path:
        path = self.tmp / name
        if path.exists():
            shutil.rmtree(path)
        path.mkdir(parents=True)
        return path

    def corpus_rego(self, n: int) -> Path:
        """rego/ for n synthetic policies generated together with policy_source/ (5.21.100)."""
        if n not in self._corpus_rego:
            from rxrego import generate
            from rxrego.spec.loader import load_specs

            from . import corpus

            log(f"generating the {n}-policy synthetic corpus together with policy_source/")
            specs_dir = self.scratch(f"corpus-{n}-specs")
            corpus.write_corpus(specs_dir, n, self.settings.seed)
            specs = load_specs([specs_dir, SPECS])
            out = self.tmp / f"corpus-{n}-rego"
            generate.write(generate.build(specs, f"{n} synthetic specs + policy_source/"), out)
            self._corpus_rego[n] = out
        return self._corpus_rego[n]


# --- shared inputs -------------------------------------------------------------------------


def besponsa_cases():
    from rxrego.conformance.cases import load_case_file

    return load_case_file(CASE_FILE)


def besponsa_request() -> dict:
    """The request of BENCH_CASE (an approval), as the case file expands it."""
    for case in besponsa_cases().cases:
        if case.name == BENCH_CASE:
            return case.request
    raise RuntimeError(f"{CASE_FILE} has no case named {BENCH_CASE}")


# --- numbers -------------------------------------------------------------------------------


def percentile(values: list[float], p: float) -> float:
    """The p-th percentile (0..100), linear between closest ranks."""
    if not values:
        return float("nan")
    xs = sorted(values)
    k = (len(xs) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(xs) - 1)
    return xs[lo] + (xs[hi] - xs[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"


def us(seconds: float) -> str:
    return f"{seconds * 1e6:.0f} µs"


def ratio(x: float) -> str:
    return f"{x:.2f}x"


# --- the machine ---------------------------------------------------------------------------


def machine() -> dict:
    cpu = ""
    try:
        m = re.search(r"^model name\s*:\s*(.+)$", Path("/proc/cpuinfo").read_text(), re.MULTILINE)
        cpu = m.group(1).strip() if m else ""
    except OSError:
        pass
    mem_gib = None
    try:
        m = re.search(r"^MemTotal:\s*(\d+) kB", Path("/proc/meminfo").read_text(), re.MULTILINE)
        mem_gib = round(int(m.group(1)) / 1024 / 1024, 1) if m else None
    except OSError:
        pass
    from rxrego import toolchain

    try:
        opa_version = toolchain.opa().version
    except toolchain.ToolError as exc:
        opa_version = f"missing ({exc})"
    wrk = shutil.which("wrk")
    wrk_version = None
    if wrk:
        out = subprocess.run([wrk, "--version"], capture_output=True, text=True, timeout=10)
        wrk_version = (out.stdout + out.stderr).splitlines()[0].strip() if (out.stdout + out.stderr) else "unknown"
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": mem_gib,
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "opa": opa_version,
        "wrk": wrk_version,
        "loadavg": os.getloadavg(),  # a shared machine: other work running during the bench shows here
    }


def read_rss_kib(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in KiB, from /proc/<pid>/status."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, rest = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(rest.split()[0])
    return out


def proc_cpu_s(pid: int) -> float:
    """User + system CPU seconds a process has used (/proc/<pid>/stat), all its threads."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def self_cpu_s() -> float:
    t = os.times()
    return t.user + t.system


def cpu_with_children_s() -> float:
    """CPU seconds of this process plus its waited-for children (e.g. each `opa eval`)."""
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system


def dump_json(path: Path, doc: dict) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
