"""Fixtures of the hardening tests (docs/hardening.md): the figures and the tier."""

from __future__ import annotations

from typing import Any

from tests.ai_media.conftest import clip_on, tiny_clip  # noqa: F401 (fixtures)
from tests.hardening import figures


def pytest_sessionfinish(session: Any, exitstatus: int) -> None:
    figures.dump()
