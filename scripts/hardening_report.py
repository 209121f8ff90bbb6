"""Sum the hardening figures the tests wrote and print one line per area.

``make test`` prints them after the suite (fast tier); ``make hardening`` also writes them
to docs/hardening.md with the date and the command (``--write``). See
tests/hardening/figures.py for how the counts are gathered.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from collections import defaultdict
from pathlib import Path

AREAS = ("FUZZ", "UPLOAD", "SSRF", "AUTHZ", "CRASH", "ATOMIC")
BEGIN, END = "<!-- figures:begin -->", "<!-- figures:end -->"


Counts = dict[str, dict[str, int]]
Sets = dict[str, dict[str, set[str]]]


def load(folder: Path) -> tuple[set[str], Counts, Sets]:
    tiers: set[str] = set()
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    sets: dict[str, dict[str, set[str]]] = defaultdict(lambda: defaultdict(set))
    for path in sorted(folder.glob("figures-*.json")):
        body = json.loads(path.read_text())
        tiers.add(body["tier"])
        for area, values in body["counts"].items():
            for name, value in values.items():
                counts[area][name] += value
        for area, members in body["sets"].items():
            for name, values in members.items():
                sets[area][name].update(values)
    return tiers, counts, sets


def lines(counts: Counts, sets: Sets) -> list[str]:
    def c(area: str, name: str) -> int:
        return counts[area][name]

    def n(area: str, name: str) -> int:
        return len(sets[area][name])

    formats = {
        "FUZZ": lambda: (f"FUZZ {n('FUZZ', 'operations')} operations x 4 identities · "
                         f"{c('FUZZ', 'examples')} requests · "
                         f"{c('FUZZ', 'server_errors')} server errors · "
                         f"{c('FUZZ', 'violations')} schema violations"),
        "UPLOAD": lambda: (f"UPLOAD {n('UPLOAD', 'files')} hostile files · "
                           f"{c('UPLOAD', 'served_inline')} served inline · "
                           f"{c('UPLOAD', 'server_errors')} server errors · "
                           f"{c('UPLOAD', 'crashes')} crashes · "
                           f"{c('UPLOAD', 'fuzzed')} fuzzed probes"),
        "SSRF": lambda: (f"SSRF {n('SSRF', 'targets')} targets · "
                         f"{c('SSRF', 'connections')} connections to non-global addresses"),
        "AUTHZ": lambda: (f"AUTHZ {n('AUTHZ', 'routes')} routes x 2 tenants x "
                          f"{n('AUTHZ', 'methods')} methods · {c('AUTHZ', 'requests')} requests · "
                          f"{c('AUTHZ', 'cross_tenant_2xx')} cross-tenant 2xx · "
                          f"{c('AUTHZ', 'unaudited')} unaudited denials"),
        "CRASH": lambda: (f"CRASH {c('CRASH', 'kills')} kills · {c('CRASH', 'stuck')} stuck · "
                          f"{c('CRASH', 'duplicates')} duplicates · "
                          f"{c('CRASH', 'quota_errors')} quota errors"),
        "ATOMIC": lambda: (f"ATOMIC {c('ATOMIC', 'faults')} faults · {c('ATOMIC', 'lost')} lost · "
                           f"{c('ATOMIC', 'orphans')} orphans after sweep · "
                           f"{c('ATOMIC', 'invariant_breaks')} broken invariants"),
    }
    return [formats[area]() if area in counts or area in sets else f"{area} not run"
            for area in AREAS]


def write(doc: Path, figure_lines: list[str], command: str, tiers: set[str]) -> None:
    block = "\n".join([BEGIN, f"Measured {dt.date.today().isoformat()} with `{command}` "
                       f"(tier: {', '.join(sorted(tiers)) or 'none'}):", "", "```",
                       *figure_lines, "```", END])
    text = doc.read_text() if doc.exists() else f"# Hardening\n\n{BEGIN}\n{END}\n"
    text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: block, text,
                  flags=re.S)
    doc.write_text(text)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--dir", type=Path, default=Path("var/hardening"))
    parser.add_argument("--write", type=Path, help="update this document's figures block")
    parser.add_argument("--command", default="make hardening")
    args = parser.parse_args()
    tiers, counts, sets = load(args.dir)
    figure_lines = lines(counts, sets)
    print("\n".join(figure_lines))
    if args.write:
        write(args.write, figure_lines, args.command, tiers)


if __name__ == "__main__":
    main()
