"""Namespaced per-app settings, read the way DRF reads ``REST_FRAMEWORK``.

Each app declares its defaults once (``AppSettings("STORAGE", DEFAULTS)``); a project
overrides any key in ``settings.STORAGE``. Values are read at access time, so
``override_settings`` in tests takes effect without reloading anything.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.conf import settings


class AppSettings:
    def __init__(self, namespace: str, defaults: Mapping[str, Any]) -> None:
        self._namespace = namespace
        self._defaults = dict(defaults)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        if key not in self._defaults:
            raise AttributeError(f"{self._namespace} has no setting {key!r}")
        overrides: Mapping[str, Any] = getattr(settings, self._namespace, None) or {}
        return overrides.get(key, self._defaults[key])

    def as_dict(self) -> dict[str, Any]:
        return {key: getattr(self, key) for key in self._defaults}
