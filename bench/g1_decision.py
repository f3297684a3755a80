"""G1, decision cost against hand-written Rego: the generated 5.21.100 decision
(`data.rxrego.policies.fep_5_21_100.decision` in rego/) beside an independent hand-written
Rego of the same policy (bench/reference/besponsa.rego, `data.bench.reference.besponsa.decision`),
which returns the same decision document (tests/test_bench_handwritten.py proves it over the
golden record). Both are asked at the policy, the router's envelope check and routing left
out on both sides.

Four requests from the golden cases: approved (a Ph+ adult after a TKI and chemotherapy:
every criterion of the initial set evaluated), denied (several criteria unmet), pended
(prior therapies absent) and renewal (approved). For each, `opa bench --format json` runs the
two modules alternately, `rounds` times; each round gives a ratio generated / hand-written of
ns/op and of allocs/op. Reported: each input's ratios (median of its rounds) and the min /
median / max over every input and round. Goal: median ns/op ratio <= 1.0x.

The same decision in the data form (rxrego.catalog: the policy as bundle data, decided by the
shared interpreter; `rxrego bundle --form data`) is benched alongside, through the same
query, so the decision-cost price of the data form is on record: data form / generated and
data form / hand-written, per input."""

from __future__ import annotations

import json
from pathlib import Path

from rxrego import catalog, generate, opa
from rxrego.spec.loader import find_specs, load_specs

from . import REGO, ROOT, SPECS, Context, Goal, Result, besponsa_cases, log, median, ratio

GOAL = 1.0
HANDWRITTEN = ROOT / "bench" / "reference"
QUERIES = {
    "generated": (REGO, "data.rxrego.policies.fep_5_21_100.decision"),
    "hand-written": (HANDWRITTEN, "data.bench.reference.besponsa.decision"),
}
DATA_FORM = "data form"
INPUTS = {
    "approved": "approved-adult-ph-positive-after-tki-and-chemotherapy",
    "denied": "several-unmet-listed-in-policy-order",
    "pended": "ph-positive-adult-history-absent-pended",
    "renewal": "renewal-approved-for-six-months",
}


def bench_once(folder: Path, query: str, input_path: Path) -> dict:
    """One `opa bench` run (~1 s): ns/op and allocs/op."""
    result = opa.run(
        ["bench", "--format", "json", "--data", str(folder), "--input", str(input_path), query], timeout=600
    )
    if result.returncode != 0:
        raise opa.OpaError(f"opa bench failed: {result.stderr.strip() or result.stdout.strip()}")
    doc = json.loads(result.stdout)
    return {"n": doc["N"], "ns_per_op": doc["T"] / doc["N"], "allocs_per_op": doc["MemAllocs"] / doc["N"]}


def spread(values: list[float]) -> str:
    return f"min {ratio(min(values))} / median {ratio(median(values))} / max {ratio(max(values))}"


def run(ctx: Context) -> Result:
    res = Result("G1", "5.21.100 decision: generated vs hand-written Rego (opa bench)")
    cases = {c.name: c.request for c in besponsa_cases().cases}
    work = ctx.scratch("g1")
    paths = {}
    for label, name in INPUTS.items():
        paths[label] = work / f"{label}.json"
        paths[label].write_text(json.dumps(cases[name]), encoding="utf-8")

    data_dir = work / "data-form"
    generate.write(catalog.data_form(load_specs(find_specs([SPECS])), generate._read_tree(REGO)), data_dir)
    queries = {**QUERIES, DATA_FORM: (data_dir, QUERIES["generated"][1])}

    # The sides must give the same document for each input, or the comparison is void.
    same = {}
    for label, path in paths.items():
        docs = [
            opa.eval_batch(folder, query, json.loads(path.read_text()))["value"] for folder, query in queries.values()
        ]
        same[label] = docs[0] == docs[1] == docs[2]
        if not same[label]:
            res.note(f"{label}: the two modules decide differently; its ratios are not comparable")
        if docs[0].get("outcome") != {"renewal": "approved"}.get(label, label):
            res.note(f"{label}: the generated decision is {docs[0].get('outcome')}, not {label}")

    rounds = 1 if ctx.settings.quick else 5
    samples: dict[str, dict[str, list[dict]]] = {label: {side: [] for side in queries} for label in INPUTS}
    for r in range(rounds):
        for label, path in paths.items():
            log(f"G1: round {r + 1}/{rounds}: {label}")
            order = list(queries.items()) if r % 2 == 0 else list(reversed(queries.items()))
            for side, (folder, query) in order:
                samples[label][side].append(bench_once(folder, query, path))

    ns_ratios: dict[str, list[float]] = {}
    alloc_ratios: dict[str, list[float]] = {}
    for label in INPUTS:
        gen, hand = samples[label]["generated"], samples[label]["hand-written"]
        ns_ratios[label] = [g["ns_per_op"] / h["ns_per_op"] for g, h in zip(gen, hand, strict=True)]
        alloc_ratios[label] = [g["allocs_per_op"] / h["allocs_per_op"] for g, h in zip(gen, hand, strict=True)]
        res.row(
            f"{label}: generated / hand-written, median of {rounds} rounds",
            f"{median([g['ns_per_op'] for g in gen]) / 1e3:.0f} / {median([h['ns_per_op'] for h in hand]) / 1e3:.0f} µs/op "
            f"({ratio(median(ns_ratios[label]))}); {median([g['allocs_per_op'] for g in gen]):.0f} / "
            f"{median([h['allocs_per_op'] for h in hand]):.0f} allocs/op ({ratio(median(alloc_ratios[label]))})",
        )
    data_ratios: dict[str, dict[str, float]] = {}
    for label in INPUTS:
        gen, hand, data = (samples[label][side] for side in ("generated", "hand-written", DATA_FORM))
        data_ns = median([d["ns_per_op"] for d in data])
        data_ratios[label] = {
            "data_over_generated": median([d["ns_per_op"] / g["ns_per_op"] for d, g in zip(data, gen, strict=True)]),
            "data_over_hand_written": median(
                [d["ns_per_op"] / h["ns_per_op"] for d, h in zip(data, hand, strict=True)]
            ),
            "data_allocs_over_generated": median(
                [d["allocs_per_op"] / g["allocs_per_op"] for d, g in zip(data, gen, strict=True)]
            ),
        }
        res.row(
            f"{label}: DATA FORM, median of {rounds} rounds",
            f"{data_ns / 1e3:.0f} µs/op: {ratio(data_ratios[label]['data_over_generated'])} the generated module, "
            f"{ratio(data_ratios[label]['data_over_hand_written'])} hand-written; "
            f"{ratio(data_ratios[label]['data_allocs_over_generated'])} the generated module's allocs/op",
        )
    all_ns = [x for xs in ns_ratios.values() for x in xs]
    all_allocs = [x for xs in alloc_ratios.values() for x in xs]
    res.row("ns/op ratio over the 4 inputs and every round", spread(all_ns))
    res.row("allocs/op ratio over the 4 inputs and every round", spread(all_allocs))
    res.note("ratios are measured side by side (alternating runs of ~1 s); absolute µs depend on the machine's load")
    res.data = {
        "inputs": INPUTS,
        "rounds": rounds,
        "same_decision": same,
        "data_form": data_ratios,
        "samples": samples,
        "ns_ratio": {"min": min(all_ns), "median": median(all_ns), "max": max(all_ns), "per_input": ns_ratios},
        "allocs_ratio": {
            "min": min(all_allocs),
            "median": median(all_allocs),
            "max": max(all_allocs),
            "per_input": alloc_ratios,
        },
    }
    met = median(all_ns) <= GOAL and all(same.values())
    why = (
        ""
        if met
        else (
            "the modules decide differently for an input"
            if not all(same.values())
            else "the generated decision costs more than the hand-written one: see the per-input rows"
        )
    )
    res.goals.append(
        Goal(
            "G1 5.21.100 decision ns/op, generated / hand-written (median)",
            f"<= {GOAL}x",
            ratio(median(all_ns)),
            met,
            why,
        )
    )
    return res
