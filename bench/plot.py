"""bench/scale.png: how each cost grows with the number of policies (G3's points).

`python -m bench.plot [results.json] [out.png]` redraws it from a results file; `python -m
bench` draws it whenever G3 ran. Needs matplotlib (the `bench` extra: pip install -e
'.[bench]')."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from . import RESULTS

PLOT = Path(__file__).resolve().parent / "scale.png"


def draw(points: list[dict], out: Path, title: str = "") -> Path:
    """Four panels, log-log, against the number of policies: OPA RSS (MiB), bundle activation
    (s), generation (load + validate + generate, s) and the decision's p50 over HTTP (ms)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    n = [p["policies"] for p in points]
    panels = [  # (title, values, log scale): the decision's latency is flat, so a linear axis from 0
        ("OPA resident memory (MiB)", [p["rss_warm_kib"] / 1024 for p in points], True),
        ("bundle activation (s)", [p["activation_s"] for p in points], True),
        ("generation: load + validate + generate (s)", [p["load_validate_s"] + p["generate_s"] for p in points], True),
        ("5.21.100 decision p50 over HTTP (ms)", [p["decision_ms"]["p50"] for p in points], False),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=100)
    for ax, (label, ys, log_y) in zip(axes.flat, panels, strict=True):
        ax.plot(n, ys, marker="o")
        ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, max(ys) * 1.3)
        ax.set_xlabel("policies in the catalog")
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
        for x, y in zip(n, ys, strict=True):
            ax.annotate(f"{y:.3g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
    fig.suptitle(title or "rxrego catalog scale (synthetic corpus with versions + policy_source/)", fontsize=11)
    fig.tight_layout()
    fig.savefig(out, metadata={"Software": None})
    plt.close(fig)
    return out


def from_results(path: Path = RESULTS, out: Path = PLOT) -> Path | None:
    doc = json.loads(Path(path).read_text(encoding="utf-8"))
    g3 = next((b for b in doc["benchmarks"] if b["id"] == "G3" and b["data"].get("points")), None)
    if g3 is None:
        return None
    la = doc.get("loadavg_at_start")
    title = f"rxrego catalog scale, {doc['date'][:16]} UTC, {doc['machine']['cores']} cores" + (
        f", load {la[0]:.1f}" if la else ""
    )
    return draw(g3["data"]["points"], Path(out), title)


if __name__ == "__main__":
    args = sys.argv[1:]
    print(from_results(Path(args[0]) if args else RESULTS, Path(args[1]) if len(args) > 1 else PLOT))
