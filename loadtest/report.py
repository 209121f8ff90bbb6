"""The figures of a run and ``loadtest/RESULTS.md``.

``figures`` turns locust's CSV statistics (reset after the warm-up, so they cover the
measured window only), the sampler's samples (cut to the same window: from locust's
``measure.started`` mark for ``duration`` seconds) and the server-side upload times into
one dict, which is written raw to ``var/loadtest/results.json`` and rendered as
``loadtest/RESULTS.md``. ``READY`` rows are not requests: they are the uploads'
time-to-ready as the clients saw it (upload start to the poll that found the thumbnail),
so they are left out of throughput and error rate.

The *before* figures of the bottleneck fix are kept in ``loadtest/baseline.json``
(``python -m loadtest --save-baseline`` writes it from a run) and the notes on what was
found and changed in ``loadtest/BASELINE.md``; both are committed, and every run's
RESULTS.md compares itself with them, so regenerating the report never loses them.
"""

from __future__ import annotations

import csv
import itertools
import json
from pathlib import Path
from typing import Any

from bench import pct

READY = "READY"
PERCENTILES = ("50%", "95%", "99%")
GROUPS = ("web", "worker", "db", "redis", "clamd", "s3", "client")


def read_stats(prefix: Path) -> list[dict[str, Any]]:
    """locust's ``<prefix>_stats.csv`` as dicts of numbers (the Aggregated row kept)."""
    rows = []
    with open(f"{prefix}_stats.csv", newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            rows.append({
                "type": row["Type"], "name": row["Name"],
                "requests": int(row["Request Count"]), "failures": int(row["Failure Count"]),
                "rps": float(row["Requests/s"]), "avg_ms": float(row["Average Response Time"]),
                **{p: _number(row[p]) for p in PERCENTILES}, "max_ms": _number(row["100%"])})
    return rows


def read_failures(prefix: Path) -> list[dict[str, str]]:
    path = Path(f"{prefix}_failures.csv")
    if not path.exists():
        return []
    with path.open(newline="", encoding="utf-8") as handle:
        return [dict(row) for row in csv.DictReader(handle)]


def _number(value: str) -> float | None:
    return None if value in ("", "N/A") else float(value)


def window(samples: list[dict[str, Any]], start: float, seconds: float) -> list[dict[str, Any]]:
    """The samples of the measured window (errors dropped)."""
    return [s for s in samples if "error" not in s and start <= s["wall"] <= start + seconds]


def queue_figures(samples: list[dict[str, Any]]) -> dict[str, dict[str, float]]:
    """Per queue (and ``unacked``): max and mean depth over the window."""
    out: dict[str, dict[str, float]] = {}
    if not samples:
        return out
    names = [*samples[0]["queues"], "unacked"]
    for name in names:
        values = [s["unacked"] if name == "unacked" else s["queues"][name] for s in samples]
        out[name] = {"max": max(values), "mean": round(sum(values) / len(values), 2)}
    return out


def _increments(samples: list[dict[str, Any]], group: str) -> float:
    """CPU seconds a group used over the samples: the sum of its rises between samples
    (a process group that ends drops to 0, which is no negative use)."""
    values = [s["cpu"].get(group, 0.0) for s in samples]
    return sum(max(0.0, b - a) for a, b in itertools.pairwise(values))


def cpu_figures(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """CPU seconds per group between the window's first and last sample, as % of what
    the run's processes used and as cores; the machine's busy cores beside them (other
    work on the machine included: the difference is not this run's)."""
    if len(samples) < 2:
        return {}
    first, last = samples[0], samples[-1]
    seconds = last["wall"] - first["wall"]
    used = {g: _increments(samples, g) for g in GROUPS if g in last["cpu"]}
    total = sum(used.values()) or 1.0
    machine = last["machine_busy"] - first["machine_busy"]
    return {"seconds": round(seconds, 1),
            "groups": {g: {"cpu_s": round(v, 1), "share": round(100 * v / total, 1),
                           "cores": round(v / seconds, 2)} for g, v in used.items()},
            "run_cores": round(total / seconds, 2),
            "machine_cores": round(machine / seconds, 2),
            "other_cores": round(max(0.0, machine - total) / seconds, 2)}


def load_figures(samples: list[dict[str, Any]]) -> dict[str, float]:
    if not samples:
        return {}
    ones = [s["loadavg"][0] for s in samples]
    return {"start": round(ones[0], 2), "max": round(max(ones), 2),
            "mean": round(sum(ones) / len(ones), 2), "end": round(ones[-1], 2)}


def upload_figures(stats: list[dict[str, Any]], server: dict[str, Any]) -> dict[str, Any]:
    """Client-side (the READY row) and server-side time-to-ready."""
    ready = next((r for r in stats if r["type"] == READY), None)
    uploads = next((r for r in stats if r["name"] == "/v1/media/upload"), None)
    seconds = server.get("seconds", [])
    return {
        "uploaded": uploads["requests"] if uploads else 0,
        "client_ready": (ready["requests"] - ready["failures"]) if ready else 0,
        "client_not_ready": ready["failures"] if ready else 0,
        "client_p50_ms": ready["50%"] if ready else None,
        "client_p95_ms": ready["95%"] if ready else None,
        "server_uploaded": server.get("uploaded", 0), "server_ready": server.get("ready", 0),
        "server_p50_s": round(pct(seconds, 0.5), 3) if seconds else None,
        "server_p95_s": round(pct(seconds, 0.95), 3) if seconds else None,
        "scan_status": server.get("scan_status", {})}


def figures(stats: list[dict[str, Any]], failures: list[dict[str, str]],
            samples: list[dict[str, Any]], server_uploads: dict[str, Any],
            run: dict[str, Any]) -> dict[str, Any]:
    """Everything the report shows, from the raw inputs of one run."""
    endpoints = [r for r in stats if r["type"] not in (READY, "") and r["name"] != "Aggregated"]
    requests = sum(r["requests"] for r in endpoints)
    failed = sum(r["failures"] for r in endpoints)
    measured = window(samples, run["measure_start"],
                      min(run["duration_s"], run["measure_end"] - run["measure_start"]))
    cpu = cpu_figures(measured)
    for group in cpu.get("groups", {}).values():  # contention-proof: CPU per request
        group["ms_per_request"] = round(1000 * group["cpu_s"] / requests, 2) if requests else None
    return {
        "run": run, "endpoints": endpoints,
        "requests": requests, "failures": failed,
        "rps": round(sum(r["rps"] for r in endpoints), 1),
        "error_rate": round(failed / requests, 5) if requests else None,
        "failure_messages": failures[:20], "uploads": upload_figures(stats, server_uploads),
        "queues": queue_figures(measured), "cpu": cpu,
        "loadavg": load_figures(measured), "samples_in_window": len(measured)}


def passed(result: dict[str, Any]) -> tuple[bool, list[str]]:
    """The run's verdict: no failed request, and uploads that became ready."""
    problems = []
    if not result["requests"]:
        problems.append("no request was made")
    if result["failures"]:
        problems.append(f"{result['failures']} failed requests (error rate "
                        f"{100 * (result['error_rate'] or 0):.3f} %)")
    uploads = result["uploads"]
    if not uploads["client_ready"] and not uploads["server_ready"]:
        problems.append("no upload became ready")
    if uploads["client_not_ready"]:
        problems.append(f"{uploads['client_not_ready']} uploads failed to become ready")
    return not problems, problems


# -- rendering ------------------------------------------------------------------------------

def _ms(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _endpoint_table(result: dict[str, Any]) -> list[str]:
    lines = ["| endpoint | requests | req/s | p50 ms | p95 ms | p99 ms | max ms | failures |",
             "|---|---:|---:|---:|---:|---:|---:|---:|"]
    for r in sorted(result["endpoints"], key=lambda r: -r["requests"]):
        lines.append(f"| {r['type']} {r['name']} | {r['requests']:,} | {r['rps']:.1f} | "
                     f"{_ms(r['50%'])} | {_ms(r['95%'])} | {_ms(r['99%'])} | "
                     f"{_ms(r['max_ms'])} | {r['failures']} |")
    return lines


def _cpu_table(cpu: dict[str, Any]) -> list[str]:
    if not cpu:
        return ["(no CPU samples in the window)"]
    lines = ["| group | CPU s | share of the run's CPU | cores | CPU ms per request |",
             "|---|---:|---:|---:|---:|"]
    for group, v in sorted(cpu["groups"].items(), key=lambda kv: -kv[1]["cpu_s"]):
        lines.append(f"| {group} | {v['cpu_s']:.1f} | {v['share']:.1f} % | {v['cores']:.2f} | "
                     f"{v.get('ms_per_request')} |")
    lines.append(f"| **all of the run** | | 100 % | {cpu['run_cores']:.2f} | |")
    lines.append(f"| machine busy (other work on the machine included) | | | "
                 f"{cpu['machine_cores']:.2f} | |")
    return lines


def _queue_table(queues: dict[str, dict[str, float]]) -> list[str]:
    lines = ["| queue | max depth | mean depth |", "|---|---:|---:|"]
    lines += [f"| {q} | {v['max']:.0f} | {v['mean']:.2f} |" for q, v in queues.items()]
    return lines


STATEMENTS_COMPARED = 3


def summary(result: dict[str, Any]) -> dict[str, Any]:
    """The figures a before/after comparison shows."""
    cpu = result["cpu"].get("groups", {})
    return {
        "date": result["run"]["date"], "command": result["run"]["command"],
        "scale": result["run"]["scale"], "load": result["run"]["load"],
        "rps": result["rps"], "error_rate": result["error_rate"],
        "p95_ms": {r["name"]: r["95%"] for r in result["endpoints"]},
        "p50_ms": {r["name"]: r["50%"] for r in result["endpoints"]},
        "ttr_p95_s": result["uploads"]["server_p95_s"],
        "ttr_client_p95_ms": result["uploads"]["client_p95_ms"],
        "queue_max": {q: v["max"] for q, v in result["queues"].items()},
        "cpu_cores": {g: v["cores"] for g, v in cpu.items()},
        "cpu_ms_per_request": {g: v.get("ms_per_request") for g, v in cpu.items()},
        "db_busy_backends": (result.get("db_activity") or {}).get("busy"),
        "db_statements": {row["statement"]: row["backends"]
                          for row in (result.get("db_activity") or {}).get("statements", [])},
        "loadavg_mean": result["loadavg"].get("mean")}


def _compare(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    lines = ["| figure | before | after |", "|---|---:|---:|",
             f"| throughput, req/s | {before['rps']} | {after['rps']} |",
             f"| error rate | {before['error_rate']} | {after['error_rate']} |",
             f"| upload time-to-ready p95 (server), s | {before['ttr_p95_s']} | "
             f"{after['ttr_p95_s']} |",
             f"| upload time-to-ready p95 (client), ms | {_ms(before['ttr_client_p95_ms'])} | "
             f"{_ms(after['ttr_client_p95_ms'])} |",
             f"| load average (1 min), mean | {before['loadavg_mean']} | "
             f"{after['loadavg_mean']} |"]
    for name in sorted(set(before["p95_ms"]) | set(after["p95_ms"])):
        b50, a50 = before["p50_ms"].get(name), after["p50_ms"].get(name)
        b95, a95 = before["p95_ms"].get(name), after["p95_ms"].get(name)
        lines.append(f"| {name}: p50 / p95 ms | {_ms(b50)} / {_ms(b95)} | "
                     f"{_ms(a50)} / {_ms(a95)} |")
    for queue in sorted(set(before["queue_max"]) | set(after["queue_max"])):
        lines.append(f"| queue {queue}: max depth | {before['queue_max'].get(queue, '—')} | "
                     f"{after['queue_max'].get(queue, '—')} |")
    for group in GROUPS:
        if group in before["cpu_cores"] or group in after["cpu_cores"]:
            lines.append(f"| CPU {group}, cores | {before['cpu_cores'].get(group, '—')} | "
                         f"{after['cpu_cores'].get(group, '—')} |")
    b_ms, a_ms = before.get("cpu_ms_per_request", {}), after.get("cpu_ms_per_request", {})
    for group in GROUPS:
        if group in b_ms or group in a_ms:
            lines.append(f"| CPU {group}, ms per request | {b_ms.get(group, '—')} | "
                         f"{a_ms.get(group, '—')} |")
    return lines + _compare_statements(before, after)


def _compare_statements(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """The database's busy backends, and those of the statements busiest before: what
    a fix of the database's bottleneck should move, whatever else shared the machine."""
    if before.get("db_busy_backends") is None or after.get("db_busy_backends") is None:
        return []
    lines = [f"| database: active backends, mean | {before['db_busy_backends']} | "
             f"{after['db_busy_backends']} |"]
    b_rows, a_rows = before.get("db_statements", {}), after.get("db_statements", {})
    for statement in list(b_rows)[:STATEMENTS_COMPARED]:
        lines.append(f"| `{statement[:90]}`: active backends | {b_rows[statement]} | "
                     f"{a_rows.get(statement, 0)} |")
    return lines


def _header(result: dict[str, Any], machine_line: str) -> list[str]:
    run, load = result["run"], result["loadavg"]
    return [
        "# Load test results", "",
        f"Produced by `{run['command']}` (`loadtest/`; raw figures in "
        "`var/loadtest/results.json`, locust's CSVs and the servers' logs beside them). "
        "Regenerated on every run; the *Before / after* section compares the run with "
        "`loadtest/baseline.json`.", "",
        f"- date: {run['date']}, code {run['code']}",
        f"- machine: {machine_line}",
        f"- load average (1 min) over the window: start {load.get('start', 0):.2f}, "
        f"mean {load.get('mean', 0):.2f}, max {load.get('max', 0):.2f}; other "
        f"work on the machine used {result['cpu'].get('other_cores', '—')} cores meanwhile "
        "(another run shares it: absolute figures are noisy)",
        f"- data: {run['datasets']}",
        f"- platform: {run['platform']}",
        f"- load: {run['load']}", ""]


def _db_lines(activity: dict[str, Any] | None) -> list[str]:
    if not activity or not activity.get("polls"):
        return []
    lines = ["## Database: what its backends are busy with", "",
             f"`pg_stat_activity` sampled {activity['polls']:,} times over the window "
             f"(every 0.1 s): {activity['busy']} backends active on average. A statement's "
             "share of the active samples is its share of the database's busy time.", "",
             "| share | active backends | statement (literals blanked) |", "|---:|---:|---|"]
    lines += [f"| {s['share']:.1f} % | {s['backends']:.3f} | "
              f"`{s['statement'].replace('|', '/')}` |" for s in activity["statements"]]
    return [*lines, ""]


def _summary(result: dict[str, Any]) -> list[str]:
    ok, problems = passed(result)
    up = result["uploads"]
    return [
        "## Summary", "",
        f"- throughput: **{result['rps']} req/s** ({result['requests']:,} requests in "
        f"{result['run']['duration_s']:g} s, after a {result['run']['warmup_s']:g} s warm-up)",
        f"- error rate: **{100 * (result['error_rate'] or 0):.3f} %** "
        f"({result['failures']} failed of {result['requests']:,}); target 0",
        f"- uploads: {up['uploaded']} sent, {up['client_ready']} seen ready by their client "
        f"(time-to-ready p50 {_ms(up['client_p50_ms'])} ms, **p95 {_ms(up['client_p95_ms'])} "
        f"ms**: upload + scan + thumbnails, seen by a poll every 0.5 s), "
        f"{up['client_not_ready']} failed; server side (processed_at - created_at, every "
        f"upload of the window): {up['server_ready']}/{up['server_uploaded']} ready, p50 "
        f"{up['server_p50_s']} s, **p95 {up['server_p95_s']} s**; scan results "
        f"{up['scan_status']}",
        f"- verdict: {'pass' if ok else 'FAIL: ' + '; '.join(problems)}", ""]


def render(result: dict[str, Any], machine_line: str, baseline: dict[str, Any] | None,
           notes: str) -> str:
    """RESULTS.md of one run, with the before/after comparison when a baseline exists."""
    lines = [*_header(result, machine_line), *_summary(result),
             "## Per endpoint", "", *_endpoint_table(result), "",
             "## Worker queues (Redis list lengths, sampled every second)", "",
             *_queue_table(result["queues"]), "",
             "## CPU split over the window", "", *_cpu_table(result["cpu"]), ""]
    lines += _db_lines(result.get("db_activity"))
    if result["failure_messages"]:
        lines += ["## Failures", ""] + [
            f"- {f.get('Method')} {f.get('Name')}: {f.get('Error')} x {f.get('Occurrences')}"
            for f in result["failure_messages"]] + [""]
    lines += ["## Before / after", ""]
    if baseline:
        lines += [f"Before: `{baseline['command']}` on {baseline['date']}; after: this run."]
        if (baseline.get("scale"), baseline.get("load")) != (result["run"]["scale"],
                                                             result["run"]["load"]):
            lines.append(f"**Not comparable**: the baseline ran at scale "
                         f"{baseline.get('scale')} with {baseline.get('load')}.")
        lines += ["", *_compare(baseline, summary(result)), ""]
    else:
        lines += ["This run is the baseline (`--save-baseline`), or there is none yet: "
                  "the next run is compared with `loadtest/baseline.json`.", ""]
    if notes:
        lines += [notes.strip(), ""]
    return "\n".join(lines)


def write(result: dict[str, Any], out_dir: Path, results_md: Path, machine_line: str,
          baseline_json: Path, baseline_md: Path, save_baseline: bool) -> None:
    """The raw JSON, RESULTS.md, and (when asked) this run as the new baseline."""
    (out_dir / "results.json").write_text(json.dumps(result, indent=2) + "\n")
    if save_baseline:
        baseline_json.write_text(json.dumps(summary(result), indent=2) + "\n")
    baseline = (json.loads(baseline_json.read_text())
                if baseline_json.exists() and not save_baseline else None)
    notes = baseline_md.read_text() if baseline_md.exists() else ""
    results_md.write_text(render(result, machine_line, baseline, notes))
