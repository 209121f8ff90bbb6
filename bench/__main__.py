"""Run the benchmarks: ``python -m bench [name ...]`` (``make bench`` runs them all).

Discovers every ``bench/bench_*.py`` module (or only the named ones: ``blob_put`` or
``bench_blob_put``), migrates the database once, calls each module's ``run()``, writes
its rows with the date and machine to ``bench/results/<module>.json`` and regenerates
``bench/RESULTS.md`` from all result files present, so running one benchmark refreshes
its rows and keeps the others'. Exit status 1 when a benchmark raised (a broken
invariant, such as a second pass over the input, raises); a missed target is reported
in the table and on stderr, not as a failure, because a benchmark's job is to measure.
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
from typing import Any

from bench import BENCH_DIR, RESULTS_DIR, ROOT, Result, machine

COMMAND = "make bench"
PREFIX = "bench_"


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
    return {"module": name, **run_info, "elapsed_s": round(time.monotonic() - started, 1),
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


def render(reports: list[dict[str, Any]]) -> str:
    """RESULTS.md: one table, then where and when each module's rows were measured."""
    lines = [
        "# Benchmark results",
        "",
        f"Produced by `{COMMAND}` (`bench/__main__.py`; one JSON per module in",
        "`bench/results/`, which is not committed). Every ratio is against a baseline",
        "measured in the same run on the same machine. Regenerated on every run.",
        "",
        "| benchmark | figure | baseline (same run) | ratio | target | met? |",
        "|---|---|---|---|---|---|",
    ]
    for report in reports:
        for row in report["results"]:
            ratio = "—" if row.get("ratio") is None else f"{row['ratio']:.2f}x"
            lines.append("| " + " | ".join(_cell(c) for c in (
                row["benchmark"], row["figure"], row["baseline"], ratio, row["target"],
                _met(row.get("met")))) + " |")
    lines += ["", "## Runs", ""]
    for report in reports:
        lines.append(f"- `{report['module']}`: `{report['command']}` on {report['date']} "
                     f"({report['elapsed_s']:.0f} s), code {report.get('code', '?')}; "
                     f"{_machine_line(report['machine'])}")
    notes = [n for report in reports for n in report.get("notes", [])]
    if notes:
        lines += ["", "## Notes", ""] + [f"- {n}" for n in notes]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    names = discover(argv)
    run_info: dict[str, Any] = {"command": COMMAND,
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
    text = render(reports)
    (BENCH_DIR / "RESULTS.md").write_text(text)
    print(text, flush=True)
    missed = [row["benchmark"] for r in reports for row in r["results"] if row.get("met") is False]
    if missed:
        print(f"bench: target missed: {'; '.join(missed)}", file=sys.stderr)
    return 0 if all_ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
