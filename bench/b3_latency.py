"""B3, decision latency inside OPA: the 5.21.100 decision through the router
(`data.rxrego.decision`) with only the real policies loaded (rego/) and with the synthetic
corpus generated together with 5.21.100. Measured with `opa bench --format json`, whose
`histogram_timer_rego_query_eval_ns_*` fields give the percentiles of the query evaluation and
N/T the whole iteration; runs alternate between the two folders so drift hits both alike.
A second request for a drug no policy covers (`no_policy`) times the router alone.
Goal: p50 with the corpus <= 1.2x p50 with the real policies."""

from __future__ import annotations

import json
import time
from pathlib import Path

from rxrego import opa

from . import REGO, Context, Goal, Result, besponsa_request, log, median, ratio, us

GOAL = 1.2
QUERY = "data.rxrego.decision"
HIST = "histogram_timer_rego_query_eval_ns_"
NO_POLICY_REQUEST = {
    "request_type": "initial",
    "date_of_service": "2026-06-15",
    "patient": {"birth_date": "1980-03-20"},
    "drug": {"hcpcs": "A0000"},  # no policy, real or synthetic, claims A0000
}


def parse_bench(stdout: str) -> list[dict]:
    """`opa bench --format json --count K` prints K JSON objects one after another."""
    decoder, out, i = json.JSONDecoder(), [], 0
    text = stdout.strip()
    while i < len(text):
        doc, i = decoder.raw_decode(text, i)
        out.append(doc)
        while i < len(text) and text[i].isspace():
            i += 1
    return out


def bench_once(rego_dir: Path, input_path: Path, count: int) -> list[dict]:
    result = opa.run(
        [
            "bench",
            "--format",
            "json",
            "--count",
            str(count),
            "--data",
            str(rego_dir),
            "--input",
            str(input_path),
            QUERY,
        ],
        timeout=900,
    )
    if result.returncode != 0:
        raise opa.OpaError(f"opa bench failed: {result.stderr.strip() or result.stdout.strip()}")
    samples = []
    for doc in parse_bench(result.stdout):
        extra = doc["Extra"]
        samples.append(
            {
                "n": doc["N"],
                "ns_per_op": doc["T"] / doc["N"],
                "allocs_per_op": doc["MemAllocs"] / doc["N"],
                "bytes_per_op": doc["MemBytes"] / doc["N"],
                "eval_p50_ns": extra[HIST + "median"],
                "eval_p99_ns": extra[HIST + "99%"],
                "eval_mean_ns": extra[HIST + "mean"],
            }
        )
    return samples


def summarize(samples: list[dict]) -> dict:
    return {
        "samples": samples,
        "p50_ns": median([s["eval_p50_ns"] for s in samples]),
        "p99_ns": median([s["eval_p99_ns"] for s in samples]),
        "p99_worst_ns": max(s["eval_p99_ns"] for s in samples),
        "ns_per_op": sum(s["ns_per_op"] * s["n"] for s in samples) / sum(s["n"] for s in samples),
        "allocs_per_op": median([s["allocs_per_op"] for s in samples]),
        "iterations": sum(s["n"] for s in samples),
    }


def run(ctx: Context) -> Result:
    n = ctx.settings.corpus_size
    res = Result("B3", f"decision latency inside OPA (real rego/ vs {n} synthetic + 5.21.100)")
    folders = {"real": REGO, "corpus": ctx.corpus_rego(n)}
    work = ctx.scratch("b3")
    inputs = {"decision": work / "besponsa.json", "router_only": work / "no_policy.json"}
    inputs["decision"].write_text(json.dumps(besponsa_request()))
    inputs["router_only"].write_text(json.dumps(NO_POLICY_REQUEST))

    # Both folders must decide the same: the corpus must not change 5.21.100's decision.
    decisions = {k: opa.eval_batch(d, QUERY, besponsa_request())["value"] for k, d in folders.items()}
    same = decisions["real"] == decisions["corpus"]
    outcome = decisions["real"].get("outcome")
    if not same:
        res.note("the corpus folder decides the 5.21.100 request differently from rego/")

    # Load + compile cost of one `opa eval` (not part of the per-decision latency).
    compile_ms = {}
    for k, d in folders.items():
        out = opa.run(
            ["eval", "--metrics", "--format", "json", "--data", str(d), "--input", str(inputs["router_only"]), QUERY],
            timeout=900,
        )
        metrics = json.loads(out.stdout).get("metrics", {}) if out.returncode == 0 else {}
        compile_ms[k] = {key: v / 1e6 for key, v in metrics.items() if key.startswith("timer_rego_")}

    rounds, count = ctx.settings.b3_rounds, (2 if ctx.settings.quick else 3)
    samples: dict[str, dict[str, list]] = {w: {"real": [], "corpus": []} for w in inputs}
    for r in range(rounds):
        for what, path in inputs.items():
            for k, d in folders.items():
                log(f"B3: round {r + 1}/{rounds}: opa bench {what} on {k} ({count} runs of ~1 s)")
                t0 = time.perf_counter()
                samples[what][k] += bench_once(d, path, count)
                log(f"B3:   {time.perf_counter() - t0:.1f} s")
    summary = {w: {k: summarize(v) for k, v in per.items()} for w, per in samples.items()}

    d, ro = summary["decision"], summary["router_only"]
    r50 = d["corpus"]["p50_ns"] / d["real"]["p50_ns"]
    r99 = d["corpus"]["p99_ns"] / d["real"]["p99_ns"]
    rop = d["corpus"]["ns_per_op"] / d["real"]["ns_per_op"]
    router_r50 = ro["corpus"]["p50_ns"] / ro["real"]["p50_ns"]
    for k, label in (("real", "real rego/"), ("corpus", f"{n} synthetic + 5.21.100")):
        s = d[k]
        res.row(
            f"5.21.100 decision ({outcome}), {label}: p50 / p99",
            f"{us(s['p50_ns'] / 1e9)} / {us(s['p99_ns'] / 1e9)} ({s['ns_per_op'] / 1e3:.0f} µs/op, {s['allocs_per_op']:.0f} allocs/op)",
        )
    ralloc = d["corpus"]["allocs_per_op"] / d["real"]["allocs_per_op"]
    res.row("corpus / real: p50, p99, µs/op, allocs/op", f"{ratio(r50)}, {ratio(r99)}, {ratio(rop)}, {ratio(ralloc)}")
    for k, label in (("real", "real rego/"), ("corpus", f"{n} synthetic + 5.21.100")):
        s = ro[k]
        res.row(f"router alone (no_policy), {label}: p50 / p99", f"{us(s['p50_ns'] / 1e9)} / {us(s['p99_ns'] / 1e9)}")
    res.row(
        "router alone corpus / real: p50, allocs/op",
        f"{ratio(router_r50)}, {ratio(ro['corpus']['allocs_per_op'] / ro['real']['allocs_per_op'])}",
    )
    for k in folders:
        c = compile_ms[k]
        if c:
            res.row(
                f"one opa eval, {k}: load / parse / compile modules",
                f"{c.get('timer_rego_load_files_ns', 0):.0f} / {c.get('timer_rego_module_parse_ns', 0):.0f} / {c.get('timer_rego_module_compile_ns', 0):.0f} ms",
            )
    res.note(
        f"percentiles are OPA's own (opa bench histograms of timer_rego_query_eval_ns), median over {rounds * count} runs of ~1 s each; p99 varies run to run with Go's garbage collector on 2 cores"
    )
    res.data = {
        "corpus_size": n,
        "same_decision": same,
        "outcome": outcome,
        "summary": summary,
        "ratio_p50": r50,
        "ratio_p99": r99,
        "ratio_ns_per_op": rop,
        "ratio_allocs_per_op": ralloc,
        "router_only_ratio_p50": router_r50,
        "one_eval_timers_ms": compile_ms,
    }
    met = r50 <= GOAL and same
    why = ""
    if r50 > GOAL:
        why = "the decision costs more with more policies loaded: see the router-alone rows for whether routing or the policy grows"
    elif not same:
        why = "the corpus changed the 5.21.100 decision"
    res.goals.append(
        Goal(f"B3 p50 of the 5.21.100 decision, {n}-policy corpus / real", f"<= {GOAL}x", ratio(r50), met, why)
    )
    return res
