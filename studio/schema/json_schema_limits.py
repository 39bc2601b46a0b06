"""Limits on a structured column's JSON schema, and a validator no schema can stall.

jsonschema matches ``pattern`` and ``patternProperties`` with Python's ``re``, which backtracks:
``^(a+)+$`` against a few dozen a's and a '!' holds the process for minutes, and with it every
request or every chunk of that process. So patterns are compiled with RE2 (linear time in the
text), a pattern RE2 cannot run (backreferences, lookaround) is refused when the schema is saved,
and answers are validated by ``SafeValidator``, which matches with RE2.

The size keywords say how large an answer must be; the offline simulator builds exactly that,
and no model can write more than its ``max_tokens``. So ``minLength``/``minItems``/... are capped,
as are the nesting depth and the smallest answer the whole schema accepts.

Pure: no Django. The size of the schema's text is checked by the column (``MAX_JSON_SCHEMA_CHARS``).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Iterator, Mapping
from typing import Any

import re2
from jsonschema import Draft202012Validator, ValidationError, validators

__all__ = [
    "MAX_BOUND",
    "MAX_MIN_ANSWER_CHARS",
    "MAX_MIN_COUNT",
    "MAX_MIN_LENGTH",
    "MAX_PATTERN_CHARS",
    "MAX_PATTERN_GROUP_DEPTH",
    "MAX_SCHEMA_DEPTH",
    "SafeValidator",
    "PatternProblem",
    "compile_pattern",
    "json_schema_limit_problems",
]

MAX_SCHEMA_DEPTH = 16  # nested subschemas; real answer shapes are a few levels deep
MAX_MIN_LENGTH = 10_000  # minLength: characters one string must have
MAX_MIN_COUNT = 1_000  # minItems, minProperties, minContains
MAX_BOUND = 1_000_000  # maxLength, maxItems, maxProperties, maxContains
MAX_PATTERN_CHARS = 1_000
MAX_PATTERN_GROUP_DEPTH = 50
# The smallest answer the schema accepts, as JSON text: 32 768 tokens (the most max_tokens
# allows) are about 130 000 characters, so a larger minimum can never be answered.
MAX_MIN_ANSWER_CHARS = 100_000

_MIN_KEYWORDS = {
    "minLength": MAX_MIN_LENGTH,
    "minItems": MAX_MIN_COUNT,
    "minProperties": MAX_MIN_COUNT,
    "minContains": MAX_MIN_COUNT,
}
_MAX_KEYWORDS = ("maxLength", "maxItems", "maxProperties", "maxContains")
# Where a schema holds subschemas (Draft 2020-12, plus the older names jsonschema still reads).
_SCHEMA_MAPS = ("properties", "patternProperties", "$defs", "definitions", "dependentSchemas")
_SCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SCHEMA_VALUES = (
    "items",
    "additionalItems",
    "additionalProperties",
    "unevaluatedProperties",
    "unevaluatedItems",
    "contains",
    "propertyNames",
    "not",
    "if",
    "then",
    "else",
)

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.log_errors = False  # a refused pattern is the user's input, not a server error


class PatternProblem(ValueError):
    """A pattern RE2 cannot compile."""


@functools.lru_cache(maxsize=512)
def compile_pattern(pattern: str) -> Any:
    """The RE2 program for a JSON-schema pattern (searched, unanchored, as the spec says)."""
    try:
        return re2.compile(pattern, options=_RE2_OPTIONS)
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        raise PatternProblem(str(reason)) from None


def _subschemas(schema: object) -> Iterator[tuple[str, Mapping[str, Any], int]]:
    """(path, subschema, depth) for every schema in the tree, without recursion; a level
    past ``MAX_SCHEMA_DEPTH`` is yielded but not entered."""
    stack: list[tuple[str, object, int]] = [("", schema, 0)]
    while stack:
        path, node, depth = stack.pop()
        if not isinstance(node, Mapping):
            continue
        yield path, node, depth
        if depth > MAX_SCHEMA_DEPTH:
            continue
        children: list[tuple[str, object]] = []
        for key in _SCHEMA_MAPS:
            if isinstance(node.get(key), Mapping):
                children += [(f"{key}.{name}", sub) for name, sub in node[key].items()]
        for key in _SCHEMA_LISTS + _SCHEMA_VALUES:
            value = node.get(key)
            if isinstance(value, list):
                children += [(f"{key}.{i}", sub) for i, sub in enumerate(value)]
            elif isinstance(value, Mapping):
                children.append((key, value))
        for where, sub in reversed(children):
            stack.append((f"{path}.{where}" if path else where, sub, depth + 1))


def _pattern_problems(path: str, node: Mapping[str, Any]) -> Iterator[str]:
    at = f" at {path}" if path else ""
    patterns = [node["pattern"]] if isinstance(node.get("pattern"), str) else []
    if isinstance(node.get("patternProperties"), Mapping):
        patterns += list(node["patternProperties"])
    for pattern in patterns:
        shown = pattern if len(pattern) <= 60 else pattern[:59] + "…"
        if len(pattern) > MAX_PATTERN_CHARS or _group_depth(pattern) > MAX_PATTERN_GROUP_DEPTH:
            # Python's re (the metaschema checks patterns with it) recurses per group.
            yield (
                f"pattern {shown!r}{at} is too complex (at most {MAX_PATTERN_CHARS:,} "
                f"characters and {MAX_PATTERN_GROUP_DEPTH} nested groups)"
            )
            continue
        try:
            compile_pattern(pattern)
        except PatternProblem as exc:
            yield (
                f"pattern {shown!r}{at} cannot be used ({exc}): patterns are matched with RE2, "
                "which has no backreferences or lookaround"
            )


def _group_depth(pattern: str) -> int:
    """How deeply parentheses nest (escaped ones skipped; an over-estimate inside [...])."""
    depth = deepest = 0
    escaped = False
    for char in pattern:
        if escaped:
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif char == ")":
            depth = max(0, depth - 1)
    return deepest


def _size_problems(path: str, node: Mapping[str, Any]) -> Iterator[str]:
    at = f" at {path}" if path else ""
    for keyword, limit in _MIN_KEYWORDS.items():
        value = node.get(keyword)
        if isinstance(value, int | float) and value > limit:
            yield f"{keyword}{at} is {_shown(value)}; the most allowed is {limit:,}"
    for keyword in _MAX_KEYWORDS:
        value = node.get(keyword)
        if isinstance(value, int | float) and value > MAX_BOUND:
            yield f"{keyword}{at} is {_shown(value)}; the most allowed is {MAX_BOUND:,}"


def _shown(value: float) -> str:
    text = f"{value:,}" if isinstance(value, int) and value < 10**30 else f"{value:.3g}"
    return text


def json_schema_limit_problems(schema: Mapping[str, Any]) -> list[str]:
    """Why ``schema`` could stall or exhaust a process (empty when it cannot). Run after the
    schema passed ``check_schema``: keywords have the types the metaschema gives them."""
    problems: list[str] = []
    uses_pattern_properties = unevaluated = False
    for path, node, depth in _subschemas(schema):
        if depth > MAX_SCHEMA_DEPTH:
            problems.append(
                f"is nested more than {MAX_SCHEMA_DEPTH} levels deep (at {path}); "
                "flatten the answer's structure"
            )
            break
        problems += _pattern_problems(path, node)
        problems += _size_problems(path, node)
        uses_pattern_properties |= "patternProperties" in node
        unevaluated |= "unevaluatedProperties" in node
    if uses_pattern_properties and unevaluated:
        # jsonschema would match these patterns with Python's re, out of SafeValidator's reach.
        problems.append("cannot combine patternProperties with unevaluatedProperties")
    if not problems:
        try:
            smallest = minimum_answer_chars(schema)
        except _TooComplex:
            return [
                f"is too complex to check (more than {_MAX_VISITS:,} subschemas once its "
                "references are followed)"
            ]
        if smallest > MAX_MIN_ANSWER_CHARS:
            problems.append(
                f"accepts no answer shorter than {MAX_MIN_ANSWER_CHARS:,} characters (its "
                "minLength/minItems/minProperties multiply up); no model answer is that long"
            )
    return problems


def minimum_answer_chars(schema: Mapping[str, Any]) -> int:
    """About how many characters of JSON the smallest answer has, at most
    ``MAX_MIN_ANSWER_CHARS + 1`` (it stops counting there). References are followed to
    ``MAX_SCHEMA_DEPTH`` levels; a schema that refers to itself counts as one level more."""
    return _minimum(schema, schema, 0, [_MAX_VISITS])


_MAX_VISITS = 20_000  # references can branch: {"required": [a, b], a and b -> "#"} doubles a level


class _TooComplex(Exception):
    pass


def _minimum(node: object, root: Mapping[str, Any], depth: int, visits: list[int]) -> int:
    cap = MAX_MIN_ANSWER_CHARS + 1
    if not isinstance(node, Mapping) or depth > MAX_SCHEMA_DEPTH:
        return 0
    visits[0] -= 1
    if visits[0] < 0:
        raise _TooComplex
    ref = node.get("$ref")
    if isinstance(ref, str) and ref.startswith("#"):
        target: object = root
        for part in ref.lstrip("#/").split("/"):
            target = target.get(part) if isinstance(target, Mapping) and part else target
        return _minimum(target, root, depth + 1, visits)
    if "const" in node or node.get("enum"):
        first = node["const"] if "const" in node else node["enum"][0]
        return min(len(json.dumps(first, default=str)), cap)
    sizes = [
        min((_minimum(sub, root, depth + 1, visits) for sub in node[key]), default=0)
        for key in ("anyOf", "oneOf")
        if isinstance(node.get(key), list)
    ]
    if isinstance(node.get("allOf"), list):
        sizes += [_minimum(sub, root, depth + 1, visits) for sub in node["allOf"]]
    own = 2
    declared = node.get("properties")
    properties = declared if isinstance(declared, Mapping) else {}
    for name in node.get("required", []) if isinstance(node.get("required"), list) else []:
        own += len(str(name)) + 4 + _minimum(properties.get(name, {}), root, depth + 1, visits)
        if own > cap:
            return cap
    items = _int(node.get("minItems"))
    if items:
        own += items * (1 + _minimum(node.get("items", {}), root, depth + 1, visits))
    own += _int(node.get("minLength")) + 4 * _int(node.get("minProperties"))
    return min(max([own, *sizes]), cap)


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return 0
    return int(min(value, MAX_MIN_ANSWER_CHARS + 1))


# --- validation with RE2 ---------------------------------------------------------------------


def _pattern(validator: Any, pattern: str, instance: object, schema: Any) -> Iterator[Any]:
    if validator.is_type(instance, "string") and not compile_pattern(pattern).search(instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Any, patterns: Mapping[str, Any], instance: object, schema: Any
) -> Iterator[Any]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        compiled = compile_pattern(pattern)
        for key, value in instance.items():  # type: ignore[attr-defined]
            if compiled.search(key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional(instance: Mapping[str, Any], schema: Mapping[str, Any]) -> list[str]:
    properties = schema.get("properties", {})
    patterns = [compile_pattern(p) for p in schema.get("patternProperties", {})]
    return [
        key
        for key in instance
        if key not in properties and not any(p.search(key) for p in patterns)
    ]


def _additional_properties(
    validator: Any, additional: object, instance: object, schema: Any
) -> Iterator[Any]:
    # jsonschema's own version joins the patternProperties into one Python regex.
    if not validator.is_type(instance, "object"):
        return
    extras = _additional(instance, schema)  # type: ignore[arg-type]
    if validator.is_type(additional, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], additional, path=extra)  # type: ignore[index]
    elif not additional and extras:
        joined = ", ".join(repr(extra) for extra in sorted(extras))
        if "patternProperties" in schema:
            patterns = ", ".join(repr(p) for p in sorted(schema["patternProperties"]))
            yield ValidationError(f"{joined} do not match any of the regexes: {patterns}")
        else:
            yield ValidationError(f"Additional properties are not allowed ({joined} unexpected)")


SafeValidator = validators.extend(
    Draft202012Validator,
    {
        "pattern": _pattern,
        "patternProperties": _pattern_properties,
        "additionalProperties": _additional_properties,
    },
)
