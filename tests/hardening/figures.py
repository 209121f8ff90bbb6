"""The hardening figures: counters the tests add to, merged across processes.

Every hardening test records what it tried and what went wrong (``record("UPLOAD",
files=1, served_inline=0)``); each pytest process writes its totals to
``$HARDENING_FIGURES_DIR/figures-<pid>.json`` when it ends, and
``scripts/hardening_report.py`` sums the files into the lines ``make test`` and
``make hardening`` print. The counts are measured, not declared: a test that sees a
server error records it *and* fails.
"""

from __future__ import annotations

import json
import os
from collections import defaultdict
from pathlib import Path

TIER = os.environ.get("HARDENING_TIER", "fast")  # "full" under make hardening
FULL = TIER == "full"
FIGURES_DIR = Path(os.environ.get("HARDENING_FIGURES_DIR", "var/hardening"))

_counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
_sets: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))


def record(area: str, **counts: int) -> None:
    for name, value in counts.items():
        _counts[area][name] += value


def distinct(area: str, **members: str) -> None:
    """Count distinct things (operations, routes): the same one seen twice counts once."""
    for name, member in members.items():
        _sets[area][name].add(member)


def dump() -> None:
    if not _counts and not _sets:
        return
    FIGURES_DIR.mkdir(parents=True, exist_ok=True)
    body = {"tier": TIER,
            "counts": {a: dict(c) for a, c in _counts.items()},
            "sets": {a: {k: sorted(v) for k, v in s.items()} for a, s in _sets.items()}}
    (FIGURES_DIR / f"figures-{os.getpid()}.json").write_text(json.dumps(body))
