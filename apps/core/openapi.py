"""The error responses of every operation, added to the OpenAPI document.

Views declare their successes; the errors every endpoint can return (bad input, missing
or wrong credentials, a foreign or unknown id, throttling, the database being away) are
the same everywhere and only their *shape* differs per app (``apps.core.dialects``). A
drf-spectacular postprocessing hook writes them once, in each app's dialect, so that the
document describes what the server really sends: the schema-fuzzing tests
(``tests/hardening/test_schema_fuzz.py``) check every response against it.
"""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from apps.core.dialects import DEFAULT_DIALECT, dialect_for_path

_TEXT = {"type": "string"}
_FALSE = {"type": "boolean", "enum": [False]}

# One schema per dialect, named as its component.
DIALECT_SCHEMAS: dict[str, tuple[str, dict[str, Any], str]] = {
    "success": ("SuccessDialectError", {
        "type": "object", "required": ["success", "error"],
        "properties": {"success": _FALSE, "error": _TEXT},
    }, "application/json"),
    "nest": ("NestDialectError", {
        "type": "object", "required": ["statusCode", "message", "error"],
        "properties": {
            "statusCode": {"type": "integer"},
            "message": {"oneOf": [_TEXT, {"type": "array", "items": _TEXT}]},
            "error": _TEXT,
        },
    }, "application/json"),
    "error": ("ErrorDialectError", {
        "type": "object", "required": ["error"], "properties": {"error": _TEXT},
    }, "application/json"),
    "problem": ("Problem", {
        "type": "object", "required": ["type", "title", "status", "detail", "code"],
        "description": "RFC 9457 problem details.",
        "properties": {
            "type": _TEXT, "title": _TEXT, "status": {"type": "integer"}, "detail": _TEXT,
            "code": _TEXT,
            "errors": {"type": "object",
                       "additionalProperties": {"type": "array", "items": _TEXT}},
        },
    }, "application/problem+json"),
    "envelope": ("EnvelopeDialectError", {
        "type": "object", "required": ["success", "message", "data"],
        "properties": {"success": _FALSE, "message": _TEXT, "data": {"nullable": True}},
    }, "application/json"),
}

# What any operation can answer besides its own successes.
ALWAYS = (400, 401, 403, 404, 429, 503)
WITH_BODY = (409, 413, 415)  # conflicts, over-limit and unsupported bodies
WRITES = ("post", "put", "patch", "delete")


def add_error_responses(result: dict[str, Any], generator: Any, request: Any,
                        public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: see the module docstring."""
    schemas = result.setdefault("components", {}).setdefault("schemas", {})
    for path, operations in result.get("paths", {}).items():
        dialect = dialect_for_path(path) or DEFAULT_DIALECT
        name, schema, content_type = DIALECT_SCHEMAS[dialect]
        schemas.setdefault(name, schema)
        for method, operation in operations.items():
            if method not in ("get", "post", "put", "patch", "delete"):
                continue
            responses = operation.setdefault("responses", {})
            statuses = ALWAYS + (WITH_BODY if method in WRITES else ())
            if _has_header(operation, "Tus-Resumable"):
                statuses += (412,)  # the tus protocol's version check
            for status in statuses:
                responses.setdefault(str(status), {
                    "description": HTTPStatus(status).phrase,
                    "content": {content_type: {"schema": {"$ref": f"#/components/schemas/{name}"}}},
                })
    return result


# Where a create's answer keeps the new object's id, when not at the top (``/id``).
ID_POINTERS = {"/api/library": "/item/id", "/v1/media/folders": "/path"}
_NOT_IDS = {"{token}"}  # a signed upload target is a capability, not a created object
_READS_AND_WRITES = ("get", "put", "patch", "delete")


def add_links(result: dict[str, Any], generator: Any, request: Any,
              public: bool) -> dict[str, Any]:
    """drf-spectacular POSTPROCESSING_HOOKS entry: OpenAPI links from each create to the
    operations on what it created.

    A ``POST P`` answering 201 links to ``GET/PUT/PATCH/DELETE P/{param}`` with the
    created id (``$response.body#/id``) and the create's own path parameters. Stateful
    clients follow them; the schema fuzzer's full tier walks create → read → update →
    delete chains with them (tests/hardening/test_schema_fuzz.py).
    """
    paths = result.get("paths", {})
    for path, operations in paths.items():
        created = operations.get("post", {}).get("responses", {}).get("201")
        if created is None:
            continue
        inherited = {p["name"]: f"$request.path.{p['name']}"
                     for p in operations["post"].get("parameters", ()) if p.get("in") == "path"}
        pointer = ID_POINTERS.get(path, "/id")
        for child, child_operations in paths.items():
            rest = child[len(path):] if child.startswith(path) else ""
            name = rest.strip("/")
            if not (rest.startswith("/{") and name.startswith("{") and name.endswith("}")
                    and name.count("{") == 1) or name in _NOT_IDS:
                continue
            for method in _READS_AND_WRITES:
                target = child_operations.get(method)
                if target is None:
                    continue
                created.setdefault("links", {})[f"{method}_created"] = {
                    "operationId": target["operationId"],
                    "parameters": {**inherited, name[1:-1]: f"$response.body#{pointer}"},
                }
    return result


def _has_header(operation: dict[str, Any], name: str) -> bool:
    return any(p.get("in") == "header" and p.get("name", "").lower() == name.lower()
               for p in operation.get("parameters", ()))
