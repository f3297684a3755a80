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


def run(args: list[str], *, cwd: Path | None = None, input: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    tool = toolchain.opa()
    return subprocess.run(
        [str(tool.path), *args], cwd=cwd, input=input, capture_output=True, text=True, timeout=timeout
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
        result = run([*args, query])
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
