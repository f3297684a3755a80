"""B2, conformance throughput: golden cases through the batch runner (every case in ONE
`opa eval`, `rxrego.conformance.runner.run`, as `rxrego conformance` runs it: without --rego-coverage)
against a naive loop that spawns `opa eval` once per case. The naive loop is timed on a sample
and extrapolated to the whole suite (the output says so). Goal: batch >= 50x naive."""

from __future__ import annotations

import copy
import dataclasses
import time

from rxrego import opa
from rxrego.conformance import runner
from rxrego.conformance.cases import CaseFile, mismatches
from rxrego.spec.loader import load_specs

from . import REGO, SPECS, Context, Goal, Result, besponsa_cases, cpu_with_children_s, log, ratio

GOAL = 50.0


def suite(n: int) -> CaseFile:
    """n golden cases: the 5.21.100 case file's cases repeated; every copy after the first gets
    its own `bench_copy` key (extra request keys are ignored by the contract, so each expected
    decision still holds) so no two requests are byte-identical."""
    base = besponsa_cases()
    cases = []
    for k in range(n):
        case = base.cases[k % len(base.cases)]
        request = copy.deepcopy(case.request)
        copy_no = k // len(base.cases)
        if copy_no and isinstance(request, dict):
            request["bench_copy"] = k
        cases.append(dataclasses.replace(case, name=f"{case.name}#{copy_no}", request=request))
    return CaseFile(base.path, base.policy, tuple(cases), base.waivers)


def run(ctx: Context) -> Result:
    res = Result("B2", "conformance throughput (batch runner vs one opa eval per case)")
    n, sample_n = ctx.settings.b2_cases, ctx.settings.b2_naive_sample
    specs = load_specs([SPECS])
    cases = suite(n)
    log(f"B2: {n} golden cases through the batch runner (one opa eval)")
    t0, c0 = time.perf_counter(), cpu_with_children_s()
    report = runner.run([cases], specs, REGO)
    t_batch, cpu_batch = time.perf_counter() - t0, cpu_with_children_s() - c0
    batch_failed = len(report.failed)
    log(f"B2: batch: {t_batch:.2f} s, {batch_failed} failed")

    # The same single process without matching (OPA's share of the batch), and with
    # coverage (what `rxrego conformance --rego-coverage` costs).
    batch_input = {"requests": [c.request for c in cases.cases]}
    t0, c0 = time.perf_counter(), cpu_with_children_s()
    opa.eval_batch(REGO, runner.BATCH_QUERY, batch_input)
    t_eval_only, cpu_eval_only = time.perf_counter() - t0, cpu_with_children_s() - c0
    t0 = time.perf_counter()
    opa.eval_batch(REGO, runner.BATCH_QUERY, batch_input, coverage=True)
    t_eval_coverage = time.perf_counter() - t0

    step = max(1, n // sample_n)
    sample = list(cases.cases[::step])[:sample_n]
    log(f"B2: naive loop: {len(sample)} cases, one `opa eval` process each")
    naive_failed = 0
    t0, c0 = time.perf_counter(), cpu_with_children_s()
    for case in sample:
        decision = opa.eval_batch(REGO, "data.rxrego.decision", case.request)["value"]
        naive_failed += bool(mismatches(case.expect, decision))
    t_naive, cpu_naive = time.perf_counter() - t0, cpu_with_children_s() - c0
    per_case_naive = t_naive / len(sample)
    naive_extrapolated = per_case_naive * n
    batch_rate = n / t_batch
    naive_rate = 1 / per_case_naive
    r = batch_rate / naive_rate

    res.row(f"batch runner, {n} cases (one opa eval, as shipped)", f"{t_batch:.2f} s = {batch_rate:.0f} cases/s")
    res.row(
        "  the same opa eval with --coverage, without the runner's Python",
        f"{t_eval_coverage:.2f} s = {n / t_eval_coverage:.0f} cases/s",
    )
    res.row("  the same opa eval without --coverage", f"{t_eval_only:.2f} s = {n / t_eval_only:.0f} cases/s")
    res.row(
        f"naive loop, {len(sample)} of {n} cases timed, extrapolated",
        f"{per_case_naive * 1000:.0f} ms/case = {naive_rate:.1f} cases/s (~{naive_extrapolated:.0f} s for {n})",
    )
    r_plain = (n / t_eval_only) / naive_rate
    res.row("batch / naive throughput: runner as shipped, one eval without coverage", f"{ratio(r)}, {ratio(r_plain)}")
    cpu_naive_case = cpu_naive / len(sample)
    res.row(
        "CPU per case (this process + its opa children): runner / eval without coverage / naive",
        f"{cpu_batch / n * 1000:.1f} / {cpu_eval_only / n * 1000:.1f} / {cpu_naive_case * 1000:.0f} ms "
        f"(naive / runner {ratio(cpu_naive_case / (cpu_batch / n))}, naive / eval {ratio(cpu_naive_case / (cpu_eval_only / n))})",
    )
    res.row(
        "decisions matching their golden expectation",
        f"batch {n - batch_failed}/{n}, naive {len(sample) - naive_failed}/{len(sample)}",
    )
    if batch_failed or naive_failed:
        res.note(f"{batch_failed} batch and {naive_failed} naive decisions departed from their golden expectation")
    res.note(f"naive throughput is extrapolated from {len(sample)} timed cases (every {step}th of the {n})")
    res.data = {
        "cases": n,
        "batch_s": t_batch,
        "batch_eval_only_s": t_eval_only,
        "batch_eval_coverage_s": t_eval_coverage,
        "ratio_eval_without_coverage": r_plain,
        "batch_cases_per_s": batch_rate,
        "batch_failed": batch_failed,
        "naive_sample": len(sample),
        "naive_sample_s": t_naive,
        "naive_per_case_s": per_case_naive,
        "naive_cases_per_s": naive_rate,
        "naive_extrapolated_s": naive_extrapolated,
        "naive_failed": naive_failed,
        "cpu_s": {"runner": cpu_batch, "eval_without_coverage": cpu_eval_only, "naive_sample": cpu_naive},
        "ratio": r,
    }
    met = r >= GOAL and not batch_failed and not naive_failed
    why = ""
    if r < GOAL:
        per_decision_ms = t_eval_only / n * 1000
        why = (
            f"the batch is bound by evaluation, not start-up: about {per_decision_ms:.1f} ms per decision in one eval against "
            f"{per_case_naive * 1000:.0f} ms per naive process, so even without coverage the ceiling is ~{ratio(r_plain)}; "
            f"--coverage multiplies the eval time by {t_eval_coverage / t_eval_only:.1f}x"
        )
    elif batch_failed or naive_failed:
        why = "some decisions departed from the golden expectations"
    res.goals.append(
        Goal("B2 batch conformance throughput vs naive per-case opa eval", f">= {GOAL:.0f}x", ratio(r), met, why)
    )
    return res
