"""Every environment variable the settings read is documented in docs/configuration.md."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_every_setting_variable_is_documented() -> None:
    settings_src = (ROOT / "config" / "settings.py").read_text()
    procfile = (ROOT / "Procfile").read_text()
    used = set(re.findall(r'env_(?:str|bool|int|list)\("([A-Z0-9_]+)"', settings_src))
    used |= set(re.findall(r"\$\{?([A-Z][A-Z0-9_]+)", procfile))
    documented = set(re.findall(r"`([A-Z][A-Z0-9_]+)`", (ROOT / "docs" / "configuration.md")
                                .read_text()))
    assert len(used) > 30
    assert used - documented == set()
