"""JSON responses rendered with orjson, for views that build their bodies as dicts.

The feature apps' hot paths skip DRF's renderer (a ``Response`` goes through content
negotiation and ``json.dumps``); the exception handler still renders their errors.
"""

from __future__ import annotations

from typing import Any

import orjson
from django.http import HttpResponse


def json_response(body: Any, status: int = 200) -> HttpResponse:
    return HttpResponse(orjson.dumps(body), status=status, content_type="application/json")
