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


def _series(points: list[dict]) -> list[tuple[str, list[int], list[dict]]]:
    """(label, sizes, figures) per form: the module form where it was measured, the data form
    (each point's `data_form`) where that was."""
    modules = [p for p in points if "modules" in p]
    data = [p for p in points if "data_form" in p]
    return [
        ("module form (a Rego package per policy version)", [p["policies"] for p in modules], modules),
        ("data form (policies as bundle data)", [p["policies"] for p in data], [p["data_form"] for p in data]),
    ]


def draw(points: list[dict], out: Path, title: str = "") -> Path:
    """Four panels, log-log, against the number of policies, one line per form of the
    bundle: OPA RSS (MiB), bundle activation (s), generation (load + validate + generate, s)
    and the decision's p50 over HTTP (ms)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [  # (title, value of a point, log scale): the decision's latency is flat, so linear from 0
        ("OPA resident memory (MiB)", lambda p: p["rss_warm_kib"] / 1024, True),
        ("bundle activation (s)", lambda p: p["activation_s"], True),
        ("generation: load + validate + generate (s)", lambda p: p["load_validate_s"] + p["generate_s"], True),
        ("5.21.100 decision p50 over HTTP (ms)", lambda p: p["decision_ms"]["p50"], False),
    ]
    fig, axes = plt.subplots(2, 2, figsize=(10, 7), dpi=100)
    for ax, (label, value, log_y) in zip(axes.flat, panels, strict=True):
        top = 0.0
        for name, n, figures in _series(points):
            if not figures:
                continue
            ys = [value(f) for f in figures]
            top = max(top, *ys)
            ax.plot(n, ys, marker="o", label=name)
            for x, y in zip(n, ys, strict=True):
                ax.annotate(f"{y:.3g}", (x, y), textcoords="offset points", xytext=(4, 4), fontsize=8)
        ax.set_xscale("log")
        if log_y:
            ax.set_yscale("log")
        else:
            ax.set_ylim(0, top * 1.3)
        ax.set_xlabel("policies in the catalog")
        ax.set_title(label, fontsize=10)
        ax.grid(True, which="both", alpha=0.3)
    axes.flat[0].legend(fontsize=8, loc="upper left")
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
