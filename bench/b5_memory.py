"""B5, memory: the resident memory (VmRSS, and the peak VmHWM, from /proc/<pid>/status) of
`opa run --server` (the Sidecar) after its bundle is activated and after a warm-up of
decisions, with the real policies and with the synthetic corpus + 5.21.100 loaded."""

from __future__ import annotations

import time

from rxrego import bundle as bundle_mod
from rxrego.client import RxRegoClient
from rxrego.sidecar import Sidecar

from . import REGO, Context, Result, besponsa_request, log, ratio, read_rss_kib


def measure(bundle_path, request: dict, warmup: int, seconds: float = 60.0) -> dict:
    t0 = time.perf_counter()
    with Sidecar(bundle_path, ready_timeout=600.0) as sidecar:
        ready_s = time.perf_counter() - t0
        time.sleep(0.5)  # let activation settle
        loaded = read_rss_kib(sidecar.pid)
        client = RxRegoClient(sidecar.url, timeout=30.0, retries=0)
        done, deadline = 0, time.perf_counter() + seconds
        while done < warmup and time.perf_counter() < deadline:
            client.decide(request)
            done += 1
        client.close()
        warm = read_rss_kib(sidecar.pid)
    return {
        "ready_s": ready_s,
        "after_load_kib": loaded["VmRSS"],
        "after_warmup_kib": warm["VmRSS"],
        "peak_kib": warm["VmHWM"],
        "warmup_decisions": done,
    }


def run(ctx: Context) -> Result:
    n = ctx.settings.corpus_size
    res = Result("B5", f"OPA resident memory (opa run --server): real rego/ vs {n} synthetic + 5.21.100")
    work = ctx.scratch("b5")
    request = besponsa_request()
    out = {}
    for key, folder in (("real", REGO), ("corpus", ctx.corpus_rego(n))):
        log(f"B5: bundling {key} and starting the sidecar")
        info = bundle_mod.build(folder, work / f"{key}.tar.gz")
        out[key] = measure(info.path, request, ctx.settings.b5_warmup)
        out[key]["bundle_bytes"] = info.path.stat().st_size
        m = out[key]
        log(
            f"B5: {key}: {m['after_load_kib'] / 1024:.0f} MiB loaded, {m['after_warmup_kib'] / 1024:.0f} MiB after {m['warmup_decisions']} decisions"
        )
    for key, label in (("real", "real rego/ (1 policy)"), ("corpus", f"{n} synthetic + 5.21.100")):
        m = out[key]
        res.row(
            f"{label}: VmRSS loaded / after {m['warmup_decisions']} decisions (peak)",
            f"{m['after_load_kib'] / 1024:.0f} MiB / {m['after_warmup_kib'] / 1024:.0f} MiB ({m['peak_kib'] / 1024:.0f} MiB)",
        )
    res.row(
        "sidecar start to healthy (bundle activated): real / corpus",
        f"{out['real']['ready_s']:.1f} s / {out['corpus']['ready_s']:.1f} s",
    )
    r = out["corpus"]["after_warmup_kib"] / out["real"]["after_warmup_kib"]
    per_policy = (out["corpus"]["after_warmup_kib"] - out["real"]["after_warmup_kib"]) / n
    res.row("corpus / real (after warm-up)", ratio(r))
    res.row("per synthetic policy (after warm-up)", f"{per_policy:.0f} KiB")
    res.data = {
        "corpus_size": n,
        "real": out["real"],
        "corpus": out["corpus"],
        "ratio": r,
        "per_policy_kib": per_policy,
    }
    return res
