"""The OpenAPI document is a contract, not a list of names: every operation of GridCare's own
APIs under ``/api/v1/`` describes its success response with a schema that says what the body
holds (Flask-AppBuilder's own security, menu and OpenAPI endpoints are not ours to describe)."""

from __future__ import annotations

from typing import Any

from tests.conftest import api_token

NOT_OURS = ("/api/v1/security/", "/api/v1/menu/", "/api/v1/_openapi")
METHODS = {"get", "put", "post", "patch", "delete"}


def _resolve(spec: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def _typed(spec: dict[str, Any], schema: dict[str, Any]) -> bool:
    """An object names its properties (or is a declared map), an array types its items, and
    so on all the way down; a nullable nested object (``anyOf`` of null and the object) counts
    by its object."""
    schema = _resolve(spec, schema)
    for combined in ("allOf", "anyOf", "oneOf"):
        if combined in schema:
            branches = [_resolve(spec, branch) for branch in schema[combined]]
            typed = [b for b in branches if b != {"type": "object", "nullable": True}]
            return bool(typed) and all(_typed(spec, b) for b in typed)
    if schema.get("type") == "array":
        return _typed(spec, schema.get("items", {}))
    if schema.get("type") == "object" or "properties" in schema:
        if "properties" in schema:
            return all(_typed(spec, field) for field in schema["properties"].values())
        return "additionalProperties" in schema
    return "type" in schema


def _describes_its_body(spec: dict[str, Any], media_type: str, schema: dict[str, Any] | None) -> bool:
    if not schema:
        return False
    if not media_type.startswith("application/json"):
        return _resolve(spec, schema) == {"type": "string", "format": "binary"}
    return _typed(spec, schema) and bool(_resolve(spec, schema).get("properties")
                                         or _resolve(spec, schema).get("items"))


def _undescribed(spec: dict[str, Any]) -> list[str]:
    missing = []
    for path, operations in spec["paths"].items():
        if not path.startswith("/api/v1/") or path.startswith(NOT_OURS):
            continue
        for method, operation in operations.items():
            if method not in METHODS:
                continue
            successes = [r for status, r in operation["responses"].items() if str(status).startswith("2")]
            described = successes and all(
                r.get("content") and all(_describes_its_body(spec, media, c.get("schema"))
                                         for media, c in r["content"].items())
                for r in successes)
            if not described:
                missing.append(f"{method.upper()} {path}")
    return missing


def test_every_operation_describes_its_success_response_with_a_schema(app):
    client = app.test_client()
    token = api_token(client, "admin")
    spec = client.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}).get_json()
    ours = [p for p in spec["paths"] if p.startswith("/api/v1/") and not p.startswith(NOT_OURS)]
    assert len(ours) >= 30
    assert _undescribed(spec) == []


def test_nullable_fields_say_so_in_the_document(app):
    client = app.test_client()
    token = api_token(client, "admin")
    spec = client.get("/api/v1/_openapi", headers={"Authorization": f"Bearer {token}"}).get_json()
    order = spec["components"]["schemas"]["WorkOrderSchema"]
    assert order["properties"]["deadline"].get("nullable") is True
    assert "deadline" in order["required"]
    assert order["properties"]["state"]["enum"][0] == "registered"
