"""Running the pinned OPA binary: one place that spawns it, so every caller gets the same
binary, the same error when it is missing, and no shell."""

from __future__ import annotations

import json
import subprocess
import tempfile
from pathlib import Path

from . import toolchain


class OpaError(RuntimeError):
    """OPA ran but failed; the message carries what it printed."""


# OPA and Regal compile or lint every module they are given: a bound on how long one run may
# take must grow with the catalog. BASE_SECONDS plus SECONDS_PER_MODULE for each .rego file
# (Regal, the slowest, takes about 0.1 s a module on an idle machine and 0.7 s on a busy
# one; a fixed 600 s failed `rxrego run` at 1,000 policies on a loaded 2-core machine).
# Every request of input.requests decided as the sidecar decides one (data.rxrego.decision),
# in order, with no batch limit: the query for conformance runs and other local batches.
# POST /v1/data/rxrego/decisions, the sidecar's batch entrypoint, refuses more than
# limits.MAX_BATCH_REQUESTS requests, as a server must; a catalog's golden cases pass that.
DECIDE_EACH = "[d | some r in input.requests; d := data.rxrego.decision with input as r]"

BASE_SECONDS = 600.0
SECONDS_PER_MODULE = 3.0


def timeout_for(folder: Path | None) -> float:
    """Seconds a run of OPA or Regal over `folder` may take: BASE_SECONDS plus
    SECONDS_PER_MODULE per .rego file under it (BASE_SECONDS alone for None)."""
    if folder is None or not Path(folder).is_dir():
        return BASE_SECONDS
    return BASE_SECONDS + SECONDS_PER_MODULE * sum(1 for _ in Path(folder).rglob("*.rego"))


def run(
    args: list[str], *, cwd: Path | None = None, input: str | None = None, timeout: float | None = None
) -> subprocess.CompletedProcess:
    """The pinned OPA with `args` (no shell), its output captured as text. `timeout`:
    seconds (default: timeout_for(cwd))."""
    tool = toolchain.opa()
    return subprocess.run(
        [str(tool.path), *args],
        cwd=cwd,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout_for(cwd) if timeout is None else timeout,
    )


def eval_batch(rego_dir: Path, query: str, input_doc: object, *, coverage: bool = False) -> dict:
    """One `opa eval` process: the query's value for `input_doc`, plus the coverage report
    when asked. The input goes through a file, so its size is not limited by argv."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=True, encoding="utf-8") as f:
        # json.dumps, not json.dump: writing to a file streams through the pure-Python encoder.
        f.write(json.dumps(input_doc, ensure_ascii=False))
        f.flush()
        args = ["eval", "--format", "json", "--data", str(rego_dir), "--input", f.name]
        if coverage:
            args.append("--coverage")
        result = run([*args, query], timeout=timeout_for(rego_dir))
    if result.returncode != 0:
        raise OpaError(f"opa eval failed: {result.stderr.strip() or result.stdout.strip()}")
    doc = json.loads(result.stdout)
    rows = doc.get("result") or []
    if not rows:
        raise OpaError(f"opa eval: {query} is undefined for this input")
    out = {"value": rows[0]["expressions"][0]["value"]}
    if coverage:
        out["coverage"] = doc.get("coverage", {})
    return out
