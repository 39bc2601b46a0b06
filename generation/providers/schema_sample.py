"""A value that satisfies a JSON schema, built without a model: what the offline simulator answers
to a structured request, so a demo's structured columns fill in (and validate) like real ones."""

from __future__ import annotations

from typing import Any

_FORMATS = {
    "date-time": "2024-01-01T00:00:00Z",
    "date": "2024-01-01",
    "time": "12:00:00Z",
    "email": "user@example.com",
    "uri": "https://example.com",
    "uuid": "00000000-0000-4000-8000-000000000000",
}


def sample_from_schema(
    schema: dict[str, Any],
    *,
    label: str = "",
    root: dict[str, Any] | None = None,
    name: str = "value",
) -> Any:
    """Required properties only; strings ``"<label> <name>"`` padded to ``minLength``; numbers
    the smallest allowed; arrays ``minItems`` long (at least one); enums and consts their first
    value. ``$ref`` to ``#/...`` is followed."""
    root = schema if root is None else root
    if "$ref" in schema and isinstance(schema["$ref"], str) and schema["$ref"].startswith("#"):
        target: Any = root
        for part in schema["$ref"].lstrip("#/").split("/"):
            if part:
                target = target[part]
        return sample_from_schema(target, label=label, root=root, name=name)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    for key in ("anyOf", "oneOf", "allOf"):
        options = [s for s in schema.get(key, []) if s.get("type") != "null"]
        if options:
            return sample_from_schema(options[0], label=label, root=root, name=name)
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties", {})
        return {
            key: sample_from_schema(props.get(key, {}), label=label, root=root, name=key)
            for key in schema.get("required", [])
        }
    if kind == "array":
        count = max(1, int(schema.get("minItems", 1)))
        items = schema.get("items", {})
        return [sample_from_schema(items, label=label, root=root, name=name) for _ in range(count)]
    if kind in ("integer", "number"):
        low = schema.get("minimum", schema.get("exclusiveMinimum", 0))
        value = low + 1 if "exclusiveMinimum" in schema and "minimum" not in schema else low
        return int(value) if kind == "integer" else value
    if kind == "boolean":
        return True
    if kind == "null":
        return None
    if schema.get("format") in _FORMATS:
        return _FORMATS[schema["format"]]
    text = f"{label} {name}".strip()
    return text.ljust(int(schema.get("minLength", 0)), ".")
