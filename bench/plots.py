"""The figures of RESULTS.md, drawn from the rows' plot data into ``bench/plots/``.

    python -m bench.plots        (redraws from bench/results/*.json, measures nothing)

A row that feeds a figure carries ``details["plot"]``: a dict whose ``kind`` names the
figure (``PLOTS`` below) and whose other keys are that figure's numbers. The runner
(``bench/__main__.py``) calls ``render_all`` after writing RESULTS.md's table; a figure
none of whose rows is present is skipped (its module has not been run), not an error.

matplotlib is imported here only, and only when a figure is drawn (the Agg backend: no
display), so that ``bench`` itself stays import-light: its measured children must not
pay for it.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench import BENCH_DIR, RESULTS_DIR

PLOTS_DIR = BENCH_DIR / "plots"
DPI = 110


@dataclass(frozen=True)
class Plot:
    kind: str
    file: str
    title: str
    caption: str
    draw: Callable[[Any, list[dict[str, Any]]], None]


def _pyplot() -> Any:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _size_text(n: float) -> str:
    return f"{n / 1e6:g}M" if n >= 1e6 else f"{n / 1e3:g}k" if n >= 1e3 else f"{n:g}"


# -- the figures -------------------------------------------------------------------------

def draw_latency_vs_size(plt: Any, points: list[dict[str, Any]]) -> None:
    """Left: p50 per endpoint against the dataset size (log x). Right: the same curves
    divided by their smallest size's p50 (log-log), with what linear growth and what
    logarithmic growth (log n / log n0) would give: the claim is the lower band."""
    fig, (left, right) = plt.subplots(1, 2, figsize=(13, 5.2))
    sizes_all: set[int] = set()
    for point in points:
        sizes, p50 = point["sizes"], point["p50_ms"]
        sizes_all.update(sizes)
        left.plot(sizes, p50, marker="o", label=point["label"])
        right.plot(sizes, [v / p50[0] for v in p50], marker="o", label=point["label"])
    xs = sorted(sizes_all)
    if xs:
        right.plot(xs, [x / xs[0] for x in xs], "k--", linewidth=1.2,
                   label="linear growth (n / n₀)")
        right.plot(xs, [math.log(x) / math.log(xs[0]) for x in xs], "k:", linewidth=1.2,
                   label="logarithmic growth (log n / log n₀)")
    for ax in (left, right):
        ax.set_xscale("log")
        ax.set_xticks(xs, [_size_text(x) for x in xs])
        ax.set_xlabel("items in the dataset")
        ax.grid(True, which="both", alpha=0.3)
    left.set_ylabel("p50 latency (ms)")
    left.set_title("p50 per request")
    right.set_yscale("log")
    right.set_ylabel(f"p50 / p50 at {_size_text(xs[0]) if xs else 'the smallest size'}")
    right.set_title("growth relative to the smallest dataset")
    right.legend(fontsize=7, loc="upper left")
    fig.suptitle("List endpoints: latency vs dataset size (in-process WSGI, same run)")
    fig.tight_layout()


def draw_recall_vs_latency(plt: Any, points: list[dict[str, Any]]) -> None:
    """One point per hnsw.ef_search: recall@10 against p50 (p95 as an error bar)."""
    fig, ax = plt.subplots(figsize=(7.5, 5))
    for point in points:
        p50, p95, recall = point["p50_ms"], point["p95_ms"], point["recall"]
        ax.errorbar(p50, recall, xerr=[[0] * len(p50), [b - a for a, b in zip(
            p50, p95, strict=True)]], marker="o", capsize=3, label=point.get("label"))
        for ef, x, y, default in zip(point["ef_search"], p50, recall,
                                     point.get("default", [False] * len(p50)), strict=True):
            ax.annotate(f"ef_search {ef}" + (" (the setting)" if default else ""), (x, y),
                        textcoords="offset points", xytext=(6, -12), fontsize=8)
        if point.get("target") is not None:
            ax.axhline(point["target"], color="grey", linestyle="--", linewidth=1,
                       label=f"recall target {point['target']}")
    ax.set_xlabel("GET /api/similar/<id> latency, p50 ms (bar to p95)")
    ax.set_ylabel("recall@10 vs the exact answer")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    ax.set_title("Similarity: recall vs latency per hnsw.ef_search")
    fig.tight_layout()


def draw_thumbnails_vs_size(plt: Any, points: list[dict[str, Any]]) -> None:
    """Images/s and megapixels/s of render_variants and of its floor per source size."""
    points = sorted(points, key=lambda p: p["megapixels"])
    mp = [p["megapixels"] for p in points]
    fig, (left, right) = plt.subplots(1, 2, figsize=(12, 4.8))
    left.plot(mp, [p["ours_img_s"] for p in points], marker="o", label="render_variants")
    left.plot(mp, [p["floor_img_s"] for p in points], "--", marker="s",
              label="floor (draft decode + encodes)")
    right.plot(mp, [p["ours_mp_s"] for p in points], marker="o", label="render_variants")
    right.plot(mp, [p["floor_mp_s"] for p in points], "--", marker="s",
               label="floor (draft decode + encodes)")
    for ax, unit in ((left, "source images/s"), (right, "source megapixels/s")):
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xticks(mp, [f"{m:.0f}" for m in mp])
        ax.set_xlabel("source JPEG size (megapixels)")
        ax.set_ylabel(unit)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fmt = points[0].get("format", "") if points else ""
    fig.suptitle(f"Thumbnails: thumb-256 + preview-1024 {fmt} per source size "
                 "(single-threaded, best round)")
    fig.tight_layout()


def draw_upload_vs_size(plt: Any, points: list[dict[str, Any]]) -> None:
    """Throughput per file size (each protocol and cp) and the worker's peak RSS added,
    on a twin axis."""
    fig, ax = plt.subplots(figsize=(9, 5.2))
    twin = ax.twinx()
    floor_drawn = False
    for point in points:
        sizes = point["sizes_mib"]
        line = ax.plot(sizes, point["mib_s"], marker="o", label=f"{point['label']} MiB/s")[0]
        twin.plot(sizes, point["peak_rss_added_mib"], linestyle=":", marker="^",
                  color=line.get_color(), label=f"{point['label']} peak RSS added")
        if not floor_drawn and point.get("floor_mib_s"):
            ax.plot(point["floor_sizes_mib"], point["floor_mib_s"], "k--", marker="s",
                    label=f"{point.get('floor_label', 'cp')} MiB/s (floor)")
            floor_drawn = True
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("file size (MiB)")
    ax.set_ylabel("throughput (MiB/s, log)")
    twin.set_ylabel("worker peak RSS added (MiB)")
    target = max((p.get("rss_target_mib") or 0 for p in points), default=0)
    if target:  # the scale of the claim, so that a flat line looks flat
        twin.axhline(target, color="grey", linestyle="-.", linewidth=1,
                     label=f"RSS target +{target:g} MiB")
    worst = max((v for p in points for v in p["peak_rss_added_mib"]), default=0)
    twin.set_ylim(0, max(target, worst) * 1.15 or 1)
    ax.grid(True, which="both", alpha=0.3)
    handles = ax.get_legend_handles_labels()
    twin_handles = twin.get_legend_handles_labels()
    ax.legend(handles[0] + twin_handles[0], handles[1] + twin_handles[1], fontsize=7,
              loc="upper left")
    ax.set_title("Uploads to local storage through gunicorn: throughput and worker RSS "
                 "vs file size")
    fig.tight_layout()


PLOTS = (
    Plot("latency_vs_size", "latency_vs_size.png", "latency vs dataset size",
         "The p50 latency of the main list endpoints at each dataset size (left) and relative "
         "to the smallest (right, log-log): a curve that stays near the dotted line "
         "(logarithmic growth) and far below the dashed one (linear) is an index walk "
         "whose cost does not depend on the table's size; one that climbs with the dashed "
         "line counts its matches.", draw_latency_vs_size),
    Plot("recall_vs_latency", "recall_vs_latency.png", "recall vs latency per ef_search",
         "The recall@10 of GET /api/similar/<id> against the exact answer and its p50 latency "
         "(bar to p95) for each hnsw.ef_search over the same 1M-item HNSW index: what each "
         "step of the candidate list buys and costs.", draw_recall_vs_latency),
    Plot("thumbnails_vs_size", "thumbnails_vs_size.png", "thumbnail throughput vs image size",
         "Images/s and megapixels/s of render_variants (thumb-256 + preview-1024) and of its "
         "floor (the draft-scale decode plus the two encodes, timed alone) for source JPEGs "
         "of 1 to 48 megapixels.", draw_thumbnails_vs_size),
    Plot("upload_vs_size", "upload_vs_size.png", "upload throughput and RSS vs file size",
         "The throughput of direct and tus uploads to local storage through the platform's "
         "gunicorn against cp (left axis) and the worker's peak RSS added per file (right "
         "axis): the memory an upload takes must not grow with the file.",
         draw_upload_vs_size),
)


# -- collecting and drawing --------------------------------------------------------------

def _points(reports: list[dict[str, Any]], kind: str, row_command: Callable[..., str]
            ) -> tuple[list[dict[str, Any]], list[str]]:
    points: list[dict[str, Any]] = []
    commands: list[str] = []
    for report in reports:
        for row in report.get("results", []):
            plot = (row.get("details") or {}).get("plot")
            if isinstance(plot, dict) and plot.get("kind") == kind:
                points.append(plot)
                command = row_command(report, row)
                if command not in commands:
                    commands.append(command)
    return points, commands


def render_all(reports: list[dict[str, Any]], row_command: Callable[..., str]
               ) -> list[dict[str, str]]:
    """Draw every figure whose data is present; what RESULTS.md says of each."""
    drawn: list[dict[str, str]] = []
    plt = None
    for plot in PLOTS:
        points, commands = _points(reports, plot.kind, row_command)
        if not points:
            continue
        plt = plt or _pyplot()
        PLOTS_DIR.mkdir(exist_ok=True)
        plot.draw(plt, points)
        plt.savefig(PLOTS_DIR / plot.file, dpi=DPI)
        plt.close("all")
        drawn.append({"file": plot.file, "title": plot.title, "caption": plot.caption,
                      "command": "`, `".join(commands)})
    return drawn


def main() -> int:
    from bench.__main__ import row_command

    reports = [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob("bench_*.json"))]
    for plot in render_all(reports, row_command):
        print(f"bench/plots/{plot['file']}: {plot['title']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
