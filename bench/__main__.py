"""Run the benchmarks: ``python -m bench [name ...]`` (``make bench`` runs them all).

Discovers every ``bench/bench_*.py`` module (or only the named ones: ``blob_put`` or
``bench_blob_put``), migrates the database once, calls each module's ``run()``, writes
its rows with the date and machine to ``bench/results/<module>.json`` and regenerates
``bench/RESULTS.md`` from all result files present, so running one benchmark refreshes
its rows and keeps the others'. Exit status 1 when a benchmark raised (a broken
invariant, such as a second pass over the input, raises); a missed target is reported
in the table and on stderr, not as a failure, because a benchmark's job is to measure.

Every row names the command that reproduces it (``make bench BENCH=<module>``, with the
``BENCH_*`` variables of the run in front): a reader can re-measure one row without
running them all. After RESULTS.md, ``bench/plots.py`` draws the figures of the rows
that carry plot data into ``bench/plots/`` (matplotlib, imported only then).
"""

from __future__ import annotations

import datetime as dt
import importlib
import json
import os
import pkgutil
import subprocess
import sys
import time
import traceback
from collections.abc import Mapping
from typing import Any

from bench import BENCH_DIR, RESULTS_DIR, ROOT, Result, machine

COMMAND = "make bench"
PREFIX = "bench_"
# The environment variables that change what a benchmark measures (sizes, samples,
# rounds): a row's command shows those set for its run, so that it reproduces it.
KNOB_PREFIX = "BENCH_"


def discover(names: list[str]) -> list[str]:
    """Benchmark module names, sorted; ``names`` narrows them (prefix optional)."""
    found = sorted(m.name for m in pkgutil.iter_modules([str(BENCH_DIR)])
                   if m.name.startswith(PREFIX))
    if not names:
        return found
    wanted = {n if n.startswith(PREFIX) else PREFIX + n for n in names}
    unknown = wanted - set(found)
    if unknown:
        raise SystemExit(f"unknown benchmark(s): {', '.join(sorted(unknown))}; "
                         f"have: {', '.join(found)}")
    return [n for n in found if n in wanted]


def migrate() -> None:
    """Bring the (fresh) database of this run up to date, once, before any benchmark."""
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings"}
    subprocess.run([sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
                   cwd=ROOT, env=env, check=True)


def code_version() -> str:
    """The commit measured, and which tracked files outside bench/ differed from it."""
    def git(*args: str) -> str:
        proc = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True,
                              check=False)
        return proc.stdout.strip() if proc.returncode == 0 else ""

    head = git("rev-parse", "--short", "HEAD") or "unknown commit"
    changed = [line.split(maxsplit=1)[-1] for line in git(
        "status", "--porcelain", "--untracked-files=no", "--", ".", ":(exclude)bench",
    ).splitlines()]
    return f"{head} + uncommitted changes to {', '.join(changed)}" if changed else head


def short_name(module: str) -> str:
    return module.removeprefix(PREFIX)


def invocation(names: list[str]) -> str:
    """How this run was started, as ``make`` spells it."""
    if not names:
        return COMMAND
    listed = " ".join(short_name(n) for n in names)
    return f"{COMMAND} BENCH={listed}" if len(names) == 1 else f'{COMMAND} BENCH="{listed}"'


def module_command(module: str, env: Mapping[str, str] | None = None) -> str:
    """The command that re-measures one module's rows: ``make bench BENCH=<name>``, with
    the run's ``BENCH_*`` knobs (which change sizes or samples) in front."""
    knobs_env: Mapping[str, str] = os.environ if env is None else env
    knobs = " ".join(f"{k}={knobs_env[k]}" for k in sorted(knobs_env)
                     if k.startswith(KNOB_PREFIX))
    command = f"{COMMAND} BENCH={short_name(module)}"
    return f"{knobs} {command}" if knobs else command


def row_command(report: dict[str, Any], row: dict[str, Any]) -> str:
    """A row's own command, else its report's, else (results written before reports
    carried one) the module's plain command."""
    return str(row.get("command") or report.get("module_command")
               or f"{COMMAND} BENCH={short_name(report['module'])}")


def run_module(name: str, run_info: dict[str, Any]) -> tuple[dict[str, Any], bool]:
    """Run one module; a raised exception becomes an error row, so others still run."""
    started = time.monotonic()
    ok = True
    try:
        module = importlib.import_module(f"bench.{name}")
        rows: list[Result] = module.run()
        notes: list[str] = list(getattr(module, "NOTES", []))
    except Exception as exc:
        traceback.print_exc()
        ok = False
        notes = []
        rows = [Result(benchmark=name, figure=f"error: {type(exc).__name__}: {exc}"[:200],
                       baseline="—", ratio=None, target="runs", met=False)]
    return {"module": name, **run_info, "module_command": module_command(name),
            "elapsed_s": round(time.monotonic() - started, 1),
            "results": rows, "notes": notes}, ok


def _cell(value: Any) -> str:
    return str(value).replace("|", "\\|").replace("\n", " ")


def _met(met: bool | None) -> str:
    return "—" if met is None else ("yes" if met else "**no**")


def _machine_line(info: dict[str, Any]) -> str:
    mem = info.get("mem_total_bytes")
    mem_text = f", {mem / 1024**3:.0f} GiB RAM" if mem else ""
    return (f"nproc={info['nproc']}, CPU: {info['cpu_model']}{mem_text}, "
            f"{info['platform']}, Python {info['python']}")


def render(reports: list[dict[str, Any]], plots: list[dict[str, str]] | None = None) -> str:
    """RESULTS.md: one table, the plots, then where and when each module's rows were
    measured, and the modules' notes."""
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{COMMAND}` (`bench/__main__.py`; one JSON per module in",
        "`bench/results/`, which is not committed). Every ratio is against a baseline",
        "measured in the same run on the same machine. Regenerated on every run; the",
        "`command` column re-measures a row (and the rest of its module).",
        "",
        "| benchmark | figure | baseline (same run) | ratio | target | met? | command |",
        "|---|---|---|---|---|---|---|",
    ]
    for report in reports:
        for row in report["results"]:
            ratio = "—" if row.get("ratio") is None else f"{row['ratio']:.2f}x"
            lines.append("| " + " | ".join(_cell(c) for c in (
                row["benchmark"], row["figure"], row["baseline"], ratio, row["target"],
                _met(row.get("met")))) + f" | `{_cell(row_command(report, row))}` |")
    if plots:
        lines += ["", "## Plots", ""]
        for plot in plots:
            lines += [f"![{plot['title']}](plots/{plot['file']})", "",
                      f"{plot['caption']} Produced by `{plot['command']}`.", ""]
        lines.pop()
    lines += ["", "## Runs", ""]
    for report in reports:
        lines.append(f"- `{report['module']}`: `{report['command']}` on {report['date']} "
                     f"({report['elapsed_s']:.0f} s), code {report.get('code', '?')}; "
                     f"{_machine_line(report['machine'])}")
    notes = [n for report in reports for n in report.get("notes", [])]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def draw_plots(reports: list[dict[str, Any]]) -> list[dict[str, str]]:
    """The plots of the reports' data (bench/plots.py); a failure to draw costs the
    plots, never the table."""
    try:
        from bench import plots

        return plots.render_all(reports, row_command)
    except Exception:
        traceback.print_exc()
        print("bench: plots not drawn (see above); RESULTS.md is written without them",
              file=sys.stderr)
        return []


def main(argv: list[str]) -> int:
    names = discover(argv)
    run_info: dict[str, Any] = {"command": invocation(argv),
                                "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
                                "machine": machine(), "code": code_version()}
    print(f"bench: {', '.join(names)} on {_machine_line(run_info['machine'])}", flush=True)
    migrate()
    RESULTS_DIR.mkdir(exist_ok=True)
    all_ok = True
    for name in names:
        report, ok = run_module(name, run_info)
        all_ok &= ok
        (RESULTS_DIR / f"{name}.json").write_text(json.dumps(report, indent=2) + "\n")
    reports = [json.loads(p.read_text()) for p in sorted(RESULTS_DIR.glob(f"{PREFIX}*.json"))]
    reports = [r for r in reports if (BENCH_DIR / f"{r['module']}.py").exists()]
    text = render(reports, draw_plots(reports))
    (BENCH_DIR / "RESULTS.md").write_text(text)
    print(text, flush=True)
    missed = [row["benchmark"] for r in reports for row in r["results"] if row.get("met") is False]
    if missed:
        print(f"bench: target missed: {'; '.join(missed)}", file=sys.stderr)
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
