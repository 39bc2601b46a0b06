"""Property: whatever a user sends as a schema spec, parsing it either succeeds or raises
SchemaError with readable messages; never another exception (which an edge would answer with
a 500). Pure, no database. Bounded and derandomized, so a run is repeatable."""

from __future__ import annotations

import copy
import typing
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from studio.schema import KINDS, SchemaError, SchemaSpec, parse_spec
from studio.schema.recipes import RECIPES
from studio.schema.serialization import document_from_text, spec_to_json
from studio.schema.spec import Column

PROPERTY_SETTINGS = settings(
    max_examples=400,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# Every field any column kind has, so generated columns reach each kind's own validators.
_KIND_MODELS = typing.get_args(typing.get_args(Column)[0])
FIELDS = sorted({name for model in _KIND_MODELS for name in model.model_fields})

names = st.sampled_from(["topic", "question", "answer", "n", "x", "", "1bad", "a b", "row"])
texts = st.one_of(
    names,
    st.sampled_from(
        [
            "{{ topic }}",
            "{{ answer.reasoning }}",
            "{{ missing }}",
            "{% for i in range(3) %}{{ i }}{% endfor %}",
            "{{ ''.__class__ }}",
            "{{",
            "#/$defs/x",
            "#",
            "\x00",
        ]
    ),
    st.text(max_size=20),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda children: st.one_of(
        st.lists(children, max_size=4),
        st.dictionaries(
            st.one_of(texts, st.sampled_from(FIELDS + ["$ref", "type"])), children, max_size=4
        ),
    ),
    max_leaves=20,
)
json_schemas = st.recursive(
    st.fixed_dictionaries(
        {"type": st.sampled_from(["object", "string", "integer", "array", "null", "nope"])},
        optional={"$ref": texts, "minItems": scalars, "enum": json_values},
    ),
    lambda children: st.fixed_dictionaries(
        {"type": st.just("object"), "properties": st.dictionaries(names, children, max_size=3)},
        optional={"$defs": st.dictionaries(names, children, max_size=2), "items": children},
    ),
    max_leaves=8,
)


@st.composite
def columns(draw: st.DrawFn) -> dict[str, Any]:
    column: dict[str, Any] = {"name": draw(names), "kind": draw(st.sampled_from([*KINDS, "x"]))}
    for field in draw(st.lists(st.sampled_from(FIELDS), max_size=6, unique=True)):
        if field == "json_schema":
            column[field] = draw(json_schemas)
        elif field in ("prompt", "template", "system_prompt"):
            column[field] = draw(texts)
        else:
            column[field] = draw(json_values)
    return column


# Sound schemas (every recipe), then a few edits: reaches the validators that only run once
# the basics are right (templates, references, structured fields, the dependency graph).
SOUND = [{"columns": r.build(1, seed_file_id=1)["columns"]} for r in RECIPES.values()]


@st.composite
def edited_recipes(draw: st.DrawFn) -> dict[str, Any]:
    spec = copy.deepcopy(draw(st.sampled_from(SOUND)))
    for _ in range(draw(st.integers(min_value=0, max_value=3))):
        column = draw(st.sampled_from(spec["columns"]))
        action = draw(st.sampled_from(["set", "drop", "text", "schema", "add"]))
        field = draw(st.sampled_from(sorted(column) if action == "drop" else FIELDS))
        if action == "drop":
            column.pop(field, None)
        elif action == "set":
            column[field] = draw(json_values)
        elif action == "text":
            column[draw(st.sampled_from(["prompt", "template", "name"]))] = draw(texts)
        elif action == "schema":
            column["json_schema"] = draw(json_schemas)
        else:
            spec["columns"].append(draw(columns()))
    return spec


specs = st.one_of(
    edited_recipes(),
    json_values,
    st.fixed_dictionaries({"columns": st.lists(columns(), max_size=4)}),
    st.fixed_dictionaries(
        {"columns": st.lists(st.one_of(columns(), json_values), max_size=3)},
        optional={"name": json_values, "extra": json_values},
    ),
)


def _parse_or_refuse(data: object) -> SchemaSpec | None:
    try:
        return parse_spec(data)
    except SchemaError as exc:
        assert exc.messages
        assert all(isinstance(m, str) and m for m in exc.messages)
        assert not any("\x00" in m for m in exc.messages)
        return None


@PROPERTY_SETTINGS
@given(specs)
def test_any_spec_is_parsed_or_refused_with_messages(data: object) -> None:
    spec = _parse_or_refuse(data)
    if spec is not None:  # a spec that parses survives its own export and import
        assert document_from_text(spec_to_json(spec)).spec == spec


@PROPERTY_SETTINGS
@given(st.text(max_size=200))
def test_any_schema_file_text_is_imported_or_refused_with_messages(text: str) -> None:
    try:
        document_from_text(text)
    except SchemaError as exc:
        assert exc.messages
