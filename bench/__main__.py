"""`python -m bench [--only B1,B3] [--quick]`: run the benchmarks, print the table on stdout,
write bench/results.json. Progress lines go to stderr."""

from __future__ import annotations

import argparse
import datetime as dt
import importlib
import os
import sys
import time
import traceback
from pathlib import Path

from . import RESULTS, Context, Goal, Result, Settings, SourcesChanged, dump_json, log, machine

BENCHMARKS = {
    "B1": "b1_generation",
    "B2": "b2_conformance",
    "B3": "b3_latency",
    "B4": "b4_sidecar",
    "B5": "b5_memory",
    "G1": "g1_decision",
    "G2": "g2_sidecar",
    "G3": "g3_scale",
    "G4": "g4_conformance",
}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    p.add_argument("--only", default="", help="comma-separated benchmarks to run, e.g. B1,B3 (default: all)")
    p.add_argument(
        "--quick", action="store_true", help="a smoke run: smaller N and shorter loops (figures are not comparable)"
    )
    p.add_argument(
        "--sizes", default="", help="G3's catalog sizes, comma-separated (default 10,100,1000,5000; --quick 10,100)"
    )
    p.add_argument(
        "--module-form-up-to",
        type=int,
        default=None,
        help="G3 measures the module form only at sizes up to this one, the data form at every size",
    )
    p.add_argument(
        "--no-run",
        action="store_true",
        help="G3 without G4's `rxrego run` end to end at 100 and 1,000 policies (the longest part after 5,000)",
    )
    p.add_argument(
        "--plot",
        default="",
        help="where to draw G3's scale plot (default bench/scale.png with the default --out, else beside --out)",
    )
    p.add_argument(
        "--seed", type=int, default=Settings.seed, help=f"seed of the synthetic corpus (default {Settings.seed})"
    )
    p.add_argument("--out", default=str(RESULTS), help="where to write the JSON results (default bench/results.json)")
    args = p.parse_args(argv)
    wanted = [x.strip().upper() for x in args.only.split(",") if x.strip()] or list(BENCHMARKS)
    unknown = [x for x in wanted if x not in BENCHMARKS]
    if unknown:
        p.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(BENCHMARKS)}")
    args.wanted = wanted
    return args


def table(results: list[Result]) -> str:
    lines = ["| bench | measure | value |", "| --- | --- | --- |"]
    for r in results:
        for measure, value in r.rows:
            lines.append(f"| {r.id} | {measure} | {value} |")
    goals = [g for r in results for g in r.goals]
    if goals:
        lines += ["", "| goal | target | measured | status |", "| --- | --- | --- | --- |"]
        lines += [f"| {g.name} | {g.target} | {g.measured} | {g.status} |" for g in goals]
    notes = [(r.id, n) for r in results for n in r.notes]
    missed = [g for g in goals if g.met is False]
    unmeasured = [g for g in goals if g.met is None]
    if missed or unmeasured or notes:
        lines.append("")
    for g in missed:
        lines.append(f"MISSED: {g.name}: {g.measured} (target {g.target}). {g.why}")
    for g in unmeasured:
        lines.append(f"NOT MEASURED: {g.name}: {g.why}")
    for bid, n in notes:
        lines.append(f"note {bid}: {n}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    settings = Settings.make(args.quick, args.seed)
    if args.sizes:
        import dataclasses

        sizes = tuple(int(x) for x in args.sizes.split(",") if x.strip())
        settings = dataclasses.replace(
            settings, g3_sizes=sizes, g4_run_sizes=tuple(n for n in settings.g4_run_sizes if n in sizes)
        )
    if args.no_run or args.module_form_up_to is not None:
        import dataclasses

        settings = dataclasses.replace(
            settings,
            g4_run_sizes=() if args.no_run else settings.g4_run_sizes,
            g3_module_form_up_to=args.module_form_up_to,
        )
    started = dt.datetime.now(dt.UTC)
    info = machine()
    log(
        f"running {', '.join(args.wanted)}{' (quick)' if args.quick else ''} on {info['cores']} cores, OPA {info['opa']}"
    )
    ctx = Context(settings)
    results: list[Result] = []
    failed: list[str] = []

    def document(done: list[Result]) -> dict:
        return {
            "date": started.isoformat(timespec="seconds"),
            "machine": info,
            "settings": {k: getattr(settings, k) for k in settings.__dataclass_fields__},
            "loadavg_at_start": info.get("loadavg"),
            "argv": sys.argv[1:] if argv is None else argv,
            "benchmarks": [r.to_json() for r in done],
        }

    # A long run (G3's 5,000 point takes many minutes) keeps what it has measured so far: the
    # results file is rewritten after each benchmark and after each of G3's points.
    ctx.checkpoint = lambda partial: dump_json(Path(args.out), {**document([*results, partial]), "partial": True})
    try:
        for bid in args.wanted:
            log(f"{bid}: start")
            load_before = os.getloadavg()
            t0 = time.perf_counter()
            module = importlib.import_module(f".{BENCHMARKS[bid]}", __package__)
            error: Exception | None = None
            try:
                res = module.run(ctx)
            except Exception as exc:
                error = exc
                traceback.print_exc(file=sys.stderr)
                res = Result(bid, f"{bid} failed")
                res.row("error", f"{type(exc).__name__}: {exc}".replace("|", "/").replace("\n", " ")[:300])
                res.goals.append(Goal(f"{bid} ran", "completes", "error", False, f"{type(exc).__name__}: {exc}"))
                failed.append(bid)
            try:
                if not isinstance(error, SourcesChanged):
                    ctx.check_sources(f"after {bid}")
            except SourcesChanged as exc:  # its figures are not of one version
                res.goals.append(Goal(f"{bid} ran on one version", "unchanged checkout", "changed", False, str(exc)))
                if bid not in failed:
                    failed.append(bid)
            res.data["seconds"] = time.perf_counter() - t0
            res.data["loadavg_before_after"] = [load_before, os.getloadavg()]
            log(f"{bid}: done in {res.data['seconds']:.0f} s")
            results.append(res)
            dump_json(Path(args.out), {**document(results), "partial": bid != args.wanted[-1]})
    finally:
        ctx.close()
    dump_json(Path(args.out), document(results))
    log(f"wrote {args.out}")
    if any(r.id == "G3" and r.data.get("points") for r in results):
        try:
            from .plot import PLOT, from_results

            out = (
                Path(args.plot)
                if args.plot
                else (PLOT if Path(args.out).resolve() == RESULTS.resolve() else Path(args.out).with_suffix(".png"))
            )
            log(f"drew {from_results(Path(args.out), out)}")
        except ImportError as exc:
            log(f"no plot: {exc} (pip install -e '.[bench]')")
    print(
        f"rxrego benchmarks, {started:%Y-%m-%d %H:%M} UTC, {info['cores']} cores ({info['cpu']}), OPA {info['opa']}"
        + (" -- QUICK run, figures not comparable" if args.quick else "")
    )
    print()
    print(table(results))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
