"""A step the worker tests can hold mid-run, to kill the worker while it works."""

from __future__ import annotations

import os
import time
from pathlib import Path

from apps.storage.models import StoredFile


def hold(stored: StoredFile) -> None:
    """Append this process's pid to ``meta["hold"] + ".started"``, then wait while the file
    ``meta["hold"]`` exists (at most a minute)."""
    gate = stored.meta.get("hold")
    if not gate:
        return
    with open(f"{gate}.started", "a") as marker:
        marker.write(f"{os.getpid()}\n")
    deadline = time.monotonic() + 60
    while Path(gate).exists() and time.monotonic() < deadline:
        time.sleep(0.05)
