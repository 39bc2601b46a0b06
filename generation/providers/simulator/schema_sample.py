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


# The simulator answers what the schema asks for, so it must not build whatever a schema asks:
# minItems 10 000 000 was a 170 MB answer and +2 GB for one preview row. Past these it refuses
# (a real model could not write such an answer within max_tokens either).
MAX_SAMPLE_CHARS = 100_000  # about the JSON text's length
MAX_SAMPLE_DEPTH = 32  # nesting, counting followed references


class SampleTooLarge(ValueError):
    """The smallest value the schema accepts is larger than the simulator builds."""


def sample_from_schema(schema: dict[str, Any], *, label: str = "", name: str = "value") -> Any:
    """Required properties only; strings ``"<label> <name>"`` padded to ``minLength``; numbers
    the smallest allowed; arrays ``minItems`` long (at least one); enums and consts their first
    value. ``$ref`` to ``#/...`` is followed. Raises SampleTooLarge past ``MAX_SAMPLE_CHARS``
    or ``MAX_SAMPLE_DEPTH``, having built at most about that much."""
    return _Sampler(schema, label).sample(schema, name, 0)


class _Sampler:
    def __init__(self, root: dict[str, Any], label: str) -> None:
        self.root = root
        self.label = label
        self.left = MAX_SAMPLE_CHARS

    def spend(self, chars: int) -> None:
        self.left -= chars
        if self.left < 0:
            raise SampleTooLarge(
                f"the smallest answer this schema accepts is over {MAX_SAMPLE_CHARS:,} "
                "characters; the simulator builds no larger answer"
            )

    def sample(self, schema: dict[str, Any], name: str, depth: int) -> Any:
        if depth > MAX_SAMPLE_DEPTH:
            raise SampleTooLarge(
                f"the schema nests (or refers to itself) more than {MAX_SAMPLE_DEPTH} levels deep"
            )
        self.spend(1)
        ref = schema.get("$ref")
        if isinstance(ref, str) and ref.startswith("#"):
            target: Any = self.root
            for part in ref.lstrip("#/").split("/"):
                if part:
                    target = target[part]
            return self.sample(target, name, depth + 1)
        if "const" in schema:
            return schema["const"]
        if schema.get("enum"):
            return schema["enum"][0]
        for key in ("anyOf", "oneOf", "allOf"):
            options = [s for s in schema.get(key, []) if s.get("type") != "null"]
            if options:
                return self.sample(options[0], name, depth + 1)
        kind = schema.get("type", "object" if "properties" in schema else "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "null")
        if kind == "object":
            props = schema.get("properties", {})
            value = {}
            for key in schema.get("required", []):
                self.spend(len(key) + 4)
                value[key] = self.sample(props.get(key, {}), key, depth + 1)
            return value
        if kind == "array":
            count = max(1, _bounded(schema.get("minItems", 1), self.left + 1))
            items = schema.get("items", {})
            result = []
            for _ in range(count):  # each item spends at least one: the loop ends in budget
                self.spend(1)
                result.append(self.sample(items, name, depth + 1))
            return result
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
        text = f"{self.label} {name}".strip()
        width = _bounded(schema.get("minLength", 0), self.left + 1)
        self.spend(max(width, len(text)))
        return text.ljust(width, ".")


def _bounded(value: object, most: int) -> int:
    """``value`` as a count no larger than ``most`` (a float or a huge int is not built)."""
    try:
        return int(min(value, most))  # type: ignore[call-overload]
    except (TypeError, ValueError, OverflowError):
        return 0
