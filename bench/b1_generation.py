"""B1, generation at scale: load + validate + generate (`rxrego.generate.build`, which renders,
runs `opa fmt` and `opa check --strict`) for N synthetic policies, at two sizes. The cost per
policy should stay flat as N grows (goal: per-policy cost at the larger N at most 1.25x that
at the smaller N)."""

from __future__ import annotations

import time

from rxrego import generate, opa
from rxrego.spec.loader import load_specs

from . import Context, Goal, Result, corpus, log, ratio

FLAT = 1.25


def run(ctx: Context) -> Result:
    res = Result("B1", "generation at scale (load + validate + generate)")
    sizes = ctx.settings.b1_sizes
    per: dict[int, dict] = {}
    for n in sizes:
        specs_dir = ctx.scratch(f"b1-{n}")
        t0 = time.perf_counter()
        corpus.write_corpus(specs_dir, n, ctx.settings.seed)
        t_write = time.perf_counter() - t0
        log(f"B1: N={n}: loading and validating")
        t0 = time.perf_counter()
        specs = load_specs([specs_dir])
        t_load = time.perf_counter() - t0
        log(f"B1: N={n}: generating (render, opa fmt, opa check --strict)")
        t0 = time.perf_counter()
        files = generate.build(specs, f"{n} synthetic specs")
        t_build = time.perf_counter() - t0
        # Diagnostics, outside the timed total: the same three stages one by one (the pure
        # Python rendering, then opa fmt and opa check --strict on the rendered files).
        t0 = time.perf_counter()
        rendered = generate.render(specs, f"{n} synthetic specs")
        t_render = time.perf_counter() - t0
        diag = ctx.scratch(f"b1-{n}-stages")
        for rel, text in rendered.items():
            (diag / rel).parent.mkdir(parents=True, exist_ok=True)
            (diag / rel).write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        fmt_ok = opa.run(["fmt", "--write", "."], cwd=diag).returncode == 0
        t_fmt = time.perf_counter() - t0
        t0 = time.perf_counter()
        check_ok = opa.run(["check", "--strict", "."], cwd=diag).returncode == 0
        t_check = time.perf_counter() - t0
        if not (fmt_ok and check_ok):
            res.note(f"N={n}: the separate opa fmt / check diagnostics failed (fmt ok={fmt_ok}, check ok={check_ok})")
        total = t_load + t_build
        rego_bytes = sum(len(t.encode()) for t in files.values())
        per[n] = {
            "n": n,
            "write_corpus_s": t_write,
            "load_validate_s": t_load,
            "build_s": t_build,
            "stage_render_s": t_render,
            "stage_opa_fmt_s": t_fmt,
            "stage_opa_check_s": t_check,
            "total_s": total,
            "per_policy_ms": total / n * 1000,
            "files": len(files),
            "rego_bytes": rego_bytes,
        }
        res.row(f"N={n}: total (load+validate+generate)", f"{total:.2f} s")
        res.row(f"N={n}: load+validate / generate", f"{t_load:.2f} s / {t_build:.2f} s")
        res.row(
            f"N={n}: generate's stages, timed apart: render / opa fmt / opa check --strict",
            f"{t_render:.2f} / {t_fmt:.2f} / {t_check:.2f} s",
        )
        res.row(f"N={n}: per policy", f"{total / n * 1000:.1f} ms")
        log(f"B1: N={n}: {total:.2f} s, {total / n * 1000:.1f} ms per policy")
    small, large = sizes[0], sizes[-1]
    r = per[large]["per_policy_ms"] / per[small]["per_policy_ms"]
    res.row(f"per-policy cost N={large} / N={small}", ratio(r))
    res.data = {"sizes": per, "per_policy_ratio": r, "seed": ctx.settings.seed}
    met = r <= FLAT
    why = (
        ""
        if met
        else (
            f"the per-policy cost grows with N ({ratio(r)}); see the load/generate split in results.json to find the stage that grows"
        )
    )
    res.goals.append(Goal(f"B1 per-policy cost flat from N={small} to N={large}", f"<= {FLAT}x", ratio(r), met, why))
    return res
