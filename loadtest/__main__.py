"""``python -m loadtest``: the platform as in production, under locust, for a bounded time.

Run it under ``scripts/test_services.py`` (``make loadtest`` does), which provides
PostgreSQL, Redis, clamd and S3. In order:

1. migrate, then load the benchmarks' datasets at ``--scale`` x their sizes (1M ai_media
   items with the HNSW index, 1M library items, 2M admin console rows, the 200k-item
   media library; ``datasets``) and write the fixture the clients draw from;
2. start gunicorn (``--web-workers``, gthread x 4 threads), one Celery worker per queue
   and beat, DEBUG off, files on the run's S3 (``stack``), and wait for ``/healthz``;
3. run locust headless in a second process for ``--warmup`` + ``--duration`` seconds
   (``locustfile``) while ``sampler`` records queue depths, CPU per process group and
   the load average;
4. stop everything, put back what the run left in the media library's recycle bin, and
   write ``var/loadtest/results.json`` and ``loadtest/RESULTS.md`` (``report``).

Exit status 1 when a request failed or no upload became ready.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import secrets
import shlex
import subprocess
import sys
import time
from typing import Any

from loadtest import (
    BASELINE_JSON,
    BASELINE_MD,
    FIXTURE,
    MEASURE_MARK,
    OUT_DIR,
    PACKAGE_DIR,
    RESULTS_MD,
    ROOT,
)
from loadtest.sampler import DbActivity

BUCKET = "loadtest"
# Everything the run's accounts do comes from a handful of users (one workspace member,
# one staff user): the per-user throttle would otherwise stop a crowd's traffic at the
# rate of one person. The anonymous rate stays as configured: the clients send many
# addresses (locustfile.CLIENT_ADDRESSES).
USER_RATE = "1000000/min"


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (
        os.cpu_count() or 1)


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m loadtest", description=__doc__.split("\n\n")[0],
        epilog="Run under scripts/test_services.py (make loadtest LOADTEST_ARGS='...').")
    parser.add_argument("--scale", type=float, default=1.0,
                        help="dataset sizes as a share of the benchmarks' (default 1.0: "
                             "1M ai_media items, 1M library items, 2M admin rows, 200k "
                             "media-library items)")
    parser.add_argument("--small", action="store_true",
                        help="a quick development run: --scale 0.01 --duration 60 "
                             "--warmup 15 unless given")
    parser.add_argument("--duration", type=float, help="measured seconds (default 180)")
    parser.add_argument("--warmup", type=float, help="seconds before the measurement "
                        "(default 30; the statistics are reset after it)")
    parser.add_argument("--users", type=int, default=40,
                        help="simulated clients (default 40)")
    parser.add_argument("--spawn-rate", type=float, help="clients started per second "
                        "(default: all of them within 5 s)")
    parser.add_argument("--think", default="0.2,1.0",
                        help="think time between a client's tasks, MIN,MAX seconds "
                             "(default 0.2,1.0)")
    parser.add_argument("--web-workers", type=int, default=2 * cores(),
                        help="gunicorn worker processes (default 2 x cores: a request "
                             "waits on PostgreSQL and Redis part of its time, so one "
                             "process per core leaves cores idle; each has 4 threads)")
    parser.add_argument("--profile", action="store_true",
                        help="cProfile every request in the web workers; pstats files in "
                             "var/loadtest/profile/ (slows the web tier: for finding "
                             "hot spots, not for figures)")
    parser.add_argument("--save-baseline", action="store_true",
                        help="keep this run's figures as the 'before' of the comparison "
                             "(loadtest/baseline.json)")
    args = parser.parse_args(argv)
    small = args.small
    args.scale = 0.01 if small and args.scale == 1.0 else args.scale
    args.duration = args.duration or (60.0 if small else 180.0)
    args.warmup = args.warmup if args.warmup is not None else (15.0 if small else 30.0)
    args.spawn_rate = args.spawn_rate or max(1.0, args.users / 5)
    return args


def log(message: str) -> None:
    print(f"loadtest: {message}", flush=True)


def run_env(args: argparse.Namespace) -> dict[str, str]:
    """The environment of this process's Django and of every server: one SECRET_KEY
    (the fixture's JWTs must verify in the web workers), one API secret."""
    from loadtest.stack import server_env

    missing = [k for k in ("DATABASE_URL", "REDIS_URL", "CLAMD_ADDRESS")
               if not os.environ.get(k)]
    if missing:
        raise SystemExit(f"loadtest: {', '.join(missing)} not set: run it under "
                         "scripts/test_services.py (make loadtest)")
    env = server_env(dict(os.environ), bucket=BUCKET, logs=OUT_DIR)
    env.setdefault("SECRET_KEY", "loadtest-" + secrets.token_urlsafe(32))
    env.setdefault("API_SECRET_KEY", secrets.token_urlsafe(32))
    env.update({"JWT_ACCESS_MINUTES": "240", "THROTTLE_USER_RATE": USER_RATE,
                "CLIP_MODEL_DIR": ""})
    if args.profile:
        env["LOADTEST_PROFILE_DIR"] = str(OUT_DIR / "profile")
    return env


def prepare(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Migrate, load, write the fixture; Django stays in this process for the end."""
    import django

    from bench.__main__ import migrate
    from loadtest import datasets

    os.environ.update(env)
    started = time.monotonic()
    migrate()
    django.setup()
    loaded = datasets.load_all(datasets.plans(args.scale), log)
    fixture = datasets.build_fixture(env["API_SECRET_KEY"])
    FIXTURE.write_text(json.dumps(fixture))
    from django.db import connection

    connection.close()
    log(f"data ready in {time.monotonic() - started:.0f}s")
    return {"loaded": loaded, "bin_items": fixture["media_library"]["bin_items"]}


def run_locust(args: argparse.Namespace, env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    """locust headless, in its own process and session, CSVs under var/loadtest/."""
    think_min, think_max = (float(v) for v in args.think.split(","))
    seconds = int(args.warmup + args.duration)
    command = [sys.executable, "-m", "locust", "-f", str(PACKAGE_DIR / "locustfile.py"),
               "--headless", "-u", str(args.users), "-r", str(args.spawn_rate),
               "-t", f"{seconds}s", "--host", f"http://127.0.0.1:{port}",
               "--csv", str(OUT_DIR / "locust"), "--only-summary", "--loglevel", "WARNING"]
    client_env = {**env, "LOADTEST_WARMUP": str(args.warmup),
                  "LOADTEST_WAIT_MIN": str(think_min), "LOADTEST_WAIT_MAX": str(think_max),
                  "LOADTEST_FIXTURE": str(FIXTURE)}
    log_file = open(OUT_DIR / "locust.log", "wb")  # noqa: SIM115  (the child's lifetime)
    return subprocess.Popen(command, cwd=ROOT, env=client_env, stdout=log_file,
                            stderr=subprocess.STDOUT, start_new_session=True)


def drive(args: argparse.Namespace, env: dict[str, str]) -> dict[str, Any]:
    """Start the platform, run locust against it while sampling; stop the platform."""
    from loadtest import stack
    from loadtest.sampler import Sampler
    from scripts.test_services import free_port

    stack.create_bucket(env)
    port = free_port()
    config = PACKAGE_DIR / "gunicorn_profile.py" if args.profile else None
    procs = stack.start(env, port=port, workers=args.web_workers, logs=OUT_DIR,
                        gunicorn_config=config)
    try:
        stack.wait_ready(procs, port)
        log(f"platform up on port {port}: {', '.join(p.name for p in procs)}")
        roots: dict[str, list[int]] = {"web": [], "worker": []}
        for proc in procs:
            roots[proc.group].append(proc.popen.pid)
        sampler = Sampler(env["REDIS_URL"], roots)
        activity = DbActivity(env["DATABASE_URL"])
        sampler.start()
        activity.start()
        client = run_locust(args, env, port)
        roots["client"] = [client.pid]
        log(f"locust: {args.users} clients for {args.warmup:.0f} + {args.duration:.0f} s")
        code = wait_for(client, activity, timeout=args.warmup + args.duration + 120)
        ended = time.time()
        sampler.stop()
        statements = activity.stop()
        log(f"locust exited ({code})")
    finally:
        stack.stop_all(procs)
    if not MEASURE_MARK.exists():
        raise RuntimeError(f"locust never reached the measurement: see {OUT_DIR}/locust.log")
    return {"samples": sampler.samples, "port": port, "db_activity": statements,
            "measure_start": float(MEASURE_MARK.read_text()), "measure_end": ended}


def wait_for(client: subprocess.Popen[bytes], activity: DbActivity, timeout: float) -> int:
    """Until locust exits; the database's statement samples restart at the warm-up's end,
    as locust's statistics do."""
    deadline = time.monotonic() + timeout
    reset = False
    while client.poll() is None:
        if not reset and MEASURE_MARK.exists():
            activity.reset()
            reset = True
        if time.monotonic() > deadline:
            client.kill()
            raise RuntimeError("locust ran past its time")
        time.sleep(0.2)
    return int(client.returncode)


def describe(args: argparse.Namespace, loaded: dict[str, Any]) -> dict[str, str]:
    """One line each on the data, the platform and the load of this run."""
    from loadtest import datasets, stack

    plans = datasets.plans(args.scale)
    hnsw = loaded.get("hnsw", {})
    return {
        "datasets": "; ".join(f"{name} {spec}" for name, spec in plans.items())
        + (f"; HNSW built in {hnsw['seconds']:.0f} s" if hnsw.get("seconds") else ""),
        "platform": f"gunicorn config.wsgi {args.web_workers} workers x {stack.THREADS} "
                    f"threads (gthread, timeout {stack.TIMEOUT}), Celery "
                    + ", ".join(f"{q} x{n}" for q, n in stack.POOLS.items())
                    + " (prefork, a worker per queue) + beat, DEBUG off, JSON logs with the "
                    "request log, multiprocess metrics, storage S3 (moto), "
                    f"clamd, Redis broker/cache, THROTTLE_USER_RATE={USER_RATE}"
                    + (", cProfile ON" if args.profile else ""),
        "load": f"locust {args.users} clients (spawn {args.spawn_rate:g}/s), think time "
                f"{args.think.replace(',', '-')} s, FastHttpUser, 127.0.0.1"}


def main(argv: list[str]) -> int:
    from bench import machine
    from bench.__main__ import _machine_line, code_version
    from loadtest import datasets, report

    args = parse_args(argv)
    code = code_version()  # before the run: what the servers are started from
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    env = run_env(args)
    command = "make loadtest" + (f" LOADTEST_ARGS={shlex.quote(shlex.join(argv))}" if argv else "")
    log(f"{command}: scale {args.scale}, {args.users} clients, "
        f"{args.warmup:.0f}+{args.duration:.0f} s")
    prepared = prepare(args, env)
    try:
        driven = drive(args, env)
    finally:
        left = datasets.restore_binned(prepared["bin_items"])
        if left:
            log(f"{left} media-library items put back from the recycle bin")
    server_uploads = datasets.upload_readiness(driven["measure_start"])
    run = {"command": command, "date": dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
           "code": code, "machine": machine(), "scale": args.scale,
           "duration_s": args.duration, "warmup_s": args.warmup,
           "measure_start": driven["measure_start"], "measure_end": driven["measure_end"],
           "loaded": prepared["loaded"],
           **describe(args, prepared["loaded"])}
    prefix = OUT_DIR / "locust"
    result = report.figures(report.read_stats(prefix), report.read_failures(prefix),
                            driven["samples"], server_uploads, run)
    result["db_activity"] = driven["db_activity"]
    (OUT_DIR / "samples.json").write_text(json.dumps(driven["samples"]))
    report.write(result, OUT_DIR, RESULTS_MD, _machine_line(run["machine"]),
                 BASELINE_JSON, BASELINE_MD, args.save_baseline)
    print(RESULTS_MD.read_text(), flush=True)
    ok, problems = report.passed(result)
    if not ok:
        print(f"loadtest: FAIL: {'; '.join(problems)}", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

