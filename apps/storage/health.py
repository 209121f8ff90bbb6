"""The storage health check: can the configured storage be reached?"""

from __future__ import annotations

from django.core.files.storage import default_storage

from apps.core.health import OK, CheckResult, register


@register("storage", core=True)
def check_storage() -> CheckResult:
    default_storage.exists(".healthz")  # a HEAD/stat: proves credentials and reachability
    return CheckResult(OK, default_storage.__class__.__name__)
