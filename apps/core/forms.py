"""Reading list values out of multipart forms, whose fields are all text.

A client may send a list as repeated fields (``tags=a&tags=b``), as one comma-separated
field (``tags=a,b``) or as one JSON array (``tags=["a","b"]``); each gives the same
list. Anything else (an object, broken JSON) is handed back as it came, for the
caller's validation to refuse with its own message.
"""

from __future__ import annotations

import json
from typing import Any


def form_list(form: Any, name: str) -> Any:
    values = form.getlist(name) if hasattr(form, "getlist") else [form[name]]
    if len(values) == 1 and isinstance(values[0], str) and values[0].lstrip().startswith("["):
        try:
            return json.loads(values[0])
        except ValueError:
            return values[0]
    items: list[str] = []
    for value in values:
        if not isinstance(value, str):
            return values
        items += [item.strip() for item in value.split(",") if item.strip()]
    return items
