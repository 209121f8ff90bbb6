"""``{% platform_dashboard %}``: the operators' dashboard (apps/processing/dashboard.py),
rendered at the top of the admin index (templates/admin/index.html)."""

from __future__ import annotations

from typing import Any

from django import template

from apps.processing.dashboard import dashboard

register = template.Library()


@register.inclusion_tag("admin/platform_dashboard.html")
def platform_dashboard() -> dict[str, Any]:
    return {"board": dashboard()}
