"""G4, conformance throughput, steady across runs: B2's comparison (the golden cases through
the batch runner, ONE `opa eval`, against one `opa eval` process per case, timed on a sample)
repeated `g4_b2_runs` times, min / median / max; and beside it the realistic baseline, what a
user with a sidecar would script: a loop of POSTs of each case to a running `rxrego serve`
(rxrego.sidecar.Sidecar, decision log to a file) on loopback, every case, compared with its
golden expectation. (`rxrego run` at 100 and 1,000 policies, G4's other half, is measured by
G3, which builds those catalogs.)"""

from __future__ import annotations

import json
import time

import requests

from rxrego import bundle as bundle_mod
from rxrego import opa
from rxrego.conformance import runner
from rxrego.conformance.cases import mismatches
from rxrego.sidecar import Sidecar
from rxrego.spec.loader import load_specs

from . import REGO, SPECS, Context, Goal, Result, log, median, ratio
from .b2_conformance import GOAL, suite


def _mmm(xs: list[float], fmt: str = "{:.1f}x") -> str:
    return " / ".join(fmt.format(v) for v in (min(xs), median(xs), max(xs)))


def run(ctx: Context) -> Result:
    st = ctx.settings
    res = Result("G4", "conformance: batch runner vs a process per case (repeated) and vs POSTs to a running sidecar")
    n, sample_n = st.b2_cases, st.b2_naive_sample
    specs = load_specs([SPECS])
    cases = suite(n)
    work = ctx.scratch("g4")
    batch_s, naive_s, sidecar_s, ratios, sidecar_ratios = [], [], [], [], []
    failed = 0
    info = bundle_mod.build(REGO, work / "bundle.tar.gz")
    with Sidecar(info.path, decision_log=work / "decisions.jsonl") as sc, requests.Session() as session:
        session.trust_env = False
        bodies = [json.dumps({"input": c.request}, ensure_ascii=False).encode() for c in cases.cases]
        for k in range(st.g4_b2_runs):
            t0 = time.perf_counter()
            report = runner.run([cases], specs, REGO)
            b = time.perf_counter() - t0
            failed += len(report.failed)
            step = max(1, n // sample_n)
            sample = list(cases.cases[::step])[:sample_n]
            t0 = time.perf_counter()
            for case in sample:
                failed += bool(
                    mismatches(case.expect, opa.eval_batch(REGO, "data.rxrego.decision", case.request)["value"])
                )
            per_naive = (time.perf_counter() - t0) / len(sample)
            t0 = time.perf_counter()
            for case, body in zip(cases.cases, bodies, strict=True):
                r = session.post(
                    sc.url + "/v1/data/rxrego/decision",
                    data=body,
                    headers={"Content-Type": "application/json"},
                    timeout=30,
                )
                failed += bool(mismatches(case.expect, r.json()["result"]))
            per_sidecar = (time.perf_counter() - t0) / n
            batch_s.append(b)
            naive_s.append(per_naive)
            sidecar_s.append(per_sidecar)
            ratios.append((n / b) / (1 / per_naive))
            sidecar_ratios.append((n / b) / (1 / per_sidecar))
            log(
                f"G4 run {k + 1}: batch {b:.2f} s for {n}; naive {per_naive * 1000:.0f} ms/case ({ratios[-1]:.1f}x); "
                f"sidecar loop {per_sidecar * 1000:.2f} ms/case ({sidecar_ratios[-1]:.2f}x)"
            )
    res.row(f"batch runner, {n} cases (one opa eval), min / median / max", _mmm(batch_s, "{:.2f} s"))
    res.row(
        f"naive: one opa eval per case ({sample_n} timed per run), min / median / max",
        _mmm([x * 1000 for x in naive_s], "{:.0f} ms/case"),
    )
    res.row(
        f"realistic: a loop of POSTs to a running sidecar, all {n} cases, min / median / max",
        _mmm([x * 1000 for x in sidecar_s], "{:.2f} ms/case"),
    )
    res.row(f"batch / naive, {st.g4_b2_runs} runs, min / median / max", _mmm(ratios))
    res.row("batch / sidecar loop, min / median / max", _mmm(sidecar_ratios, "{:.2f}x"))
    res.row("decisions departing from their golden expectation (all runs, all three ways)", str(failed))
    res.data = {
        "cases": n,
        "naive_sample": sample_n,
        "batch_s": batch_s,
        "naive_per_case_s": naive_s,
        "sidecar_per_case_s": sidecar_s,
        "ratio_naive": ratios,
        "ratio_sidecar": sidecar_ratios,
        "failed": failed,
    }
    worst = min(ratios)
    res.goals.append(
        Goal(
            f"G4 B2 batch / naive, the worst of {st.g4_b2_runs} runs",
            f">= {GOAL:.0f}x",
            ratio(worst),
            worst >= GOAL and not failed,
            "the batch pays one compile of rego/ and then evaluation (about 1 ms a decision, the G1 cost); each naive "
            "case pays OPA's start-up and a compile of the whole rego/ (which grows with the policies and the "
            "library): the ratio is their quotient and moves with machine load",
        )
    )
    return res
