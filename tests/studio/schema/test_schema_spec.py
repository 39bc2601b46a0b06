"""Whole-schema validation: column models, names, templates and the graph."""

from typing import Any

import pytest

from studio.schema import (
    KINDS,
    CategoryColumn,
    ExpressionColumn,
    IntegerColumn,
    LlmTextColumn,
    SchemaError,
    SchemaSpec,
    UuidColumn,
    parse_spec,
    templating,
)


def llm(name: str, prompt: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "llm_text",
        "credential_id": 1,
        "model": "m",
        "prompt": prompt,
        **extra,
    }


def category(name: str, *values: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "kind": "category", "values": list(values) or ["a"], **extra}


def errors(columns: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(SchemaError) as info:
        parse_spec({"columns": columns})
    return info.value.messages


def test_valid_schema_parses_with_defaults_and_levels() -> None:
    spec = parse_spec(
        {
            "columns": [
                category("topic", "cats", "dogs", weights=[3, 1]),
                {"name": "age", "kind": "integer", "low": 1, "high": 9},
                {"name": "id", "kind": "uuid", "drop": True},
                llm("question", "Ask about {{ topic }} for age {{ age }}"),
                llm("answer", "{{ question }}", system_prompt="You answer {{ topic }}."),
                {
                    "name": "pair",
                    "kind": "expression",
                    "template": "Q: {{ question }}\nA: {{ answer }}",
                },
            ]
        }
    )
    assert spec.levels() == [["topic", "age", "id"], ["question"], ["answer"], ["pair"]]
    assert spec.output_columns() == ["topic", "age", "question", "answer", "pair"]
    assert [c.name for c in spec.llm_columns()] == ["question", "answer"]
    question = spec.column("question")
    assert isinstance(question, LlmTextColumn)
    assert (question.temperature, question.max_tokens, question.system_prompt) == (0.7, 512, "")
    assert isinstance(spec.column("topic"), CategoryColumn)
    assert isinstance(spec.column("age"), IntegerColumn)
    assert isinstance(spec.column("id"), UuidColumn)
    assert isinstance(spec.column("pair"), ExpressionColumn)
    with pytest.raises(KeyError):
        spec.column("missing")


def test_templates_and_dependencies_per_kind() -> None:
    answer = LlmTextColumn(
        name="a", credential_id=1, model="m", prompt="{{ q }}", system_prompt="{{ s }}"
    )
    assert answer.templates() == {"prompt": "{{ q }}", "system_prompt": "{{ s }}"}
    assert answer.dependencies() == {"q", "s"}
    assert ExpressionColumn(name="e", template="{{ x }}-{{ y }}").dependencies() == {"x", "y"}
    assert UuidColumn(name="u").templates() == {}
    assert CategoryColumn(name="c", values=["a"]).dependencies() == set()


def test_schema_round_trips_through_json() -> None:
    spec = parse_spec({"columns": [category("topic", "x"), llm("q", "{{ topic }}")]})
    assert parse_spec(spec.model_dump(mode="json")) == spec


def test_unknown_reference_names_both_columns_and_the_field() -> None:
    assert errors([category("topic"), llm("answer", "About {{ topc }}")]) == [
        "Column 'answer' refers to unknown column 'topc' in its prompt"
    ]
    assert errors(
        [category("topic"), llm("answer", "{{ topic }}", system_prompt="{{ tpic }}")]
    ) == ["Column 'answer' refers to unknown column 'tpic' in its system_prompt"]
    assert errors([{"name": "e", "kind": "expression", "template": "{{ nope }}"}]) == [
        "Column 'e' refers to unknown column 'nope' in its template"
    ]


def test_cycle_is_reported_in_order() -> None:
    assert errors(
        [
            category("topic"),
            llm("question", "{{ answer }} {{ topic }}"),
            llm("answer", "{{ question }}"),
        ]
    ) == ["Cycle between columns: question → answer → question"]


def test_self_reference_is_a_cycle() -> None:
    assert errors([{"name": "e", "kind": "expression", "template": "{{ e }}"}]) == [
        "Cycle between columns: e → e"
    ]


def test_duplicate_names() -> None:
    assert errors([category("x"), category("x"), category("x")]) == ["Two columns are named 'x'"]


@pytest.mark.parametrize("name", ["Topic", "1st", "with space", "dash-ed", "", "a" * 65, "ü"])
def test_invalid_names(name: str) -> None:
    (message,) = errors([category(name)])
    assert message.startswith(f"Column '{name}' has an invalid name: ")
    assert "lowercase letters, digits or underscores" in message
    assert "starting with a letter or underscore" in message


@pytest.mark.parametrize("name", ["_x", "a", "topic_2", "a" * 64])
def test_valid_names(name: str) -> None:
    assert parse_spec({"columns": [category(name)]}).columns[0].name == name


@pytest.mark.parametrize(
    "name", ["row", "index", "loop", "self", "true", "none", "class", "for", "range"]
)
def test_reserved_names(name: str) -> None:
    assert errors([category(name)]) == [f"Column name '{name}' is reserved; choose another name"]


def test_weights_length_mismatch_names_column_and_both_lengths() -> None:
    assert errors([category("topic", "a", "b", "c", weights=[1, 2])]) == [
        "Column 'topic' has 3 values but 2 weights; give exactly one weight per value"
    ]


def test_bad_weights() -> None:
    assert errors([category("t", "a", "b", weights=[1, -1])]) == [
        "Column 't': weights — must not be negative"
    ]
    assert errors([category("t", "a", "b", weights=[0, 0])]) == [
        "Column 't': weights — must add up to more than 0"
    ]
    (message,) = errors([category("t", "a", weights=[float("inf")])])
    assert message.startswith("Column 't': weights.0 — ")


def test_category_values() -> None:
    assert errors([{"name": "topic", "kind": "category", "values": []}]) == [
        "Column 'topic': values — List should have at least 1 item after validation, not 0"
    ]
    assert errors([category("topic", "a", "", "b")]) == [
        "Column 'topic': values — must not be empty (value 2)"
    ]


def test_integer_bounds() -> None:
    assert errors([{"name": "n", "kind": "integer", "low": 5, "high": 1}]) == [
        "Column 'n': low (5) must not be greater than high (1)"
    ]
    assert parse_spec({"columns": [{"name": "n", "kind": "integer", "low": 3, "high": 3}]})


def test_llm_field_limits() -> None:
    messages = errors([llm("q", "", model="", temperature=2.5, max_tokens=0)])
    assert messages == [
        "Column 'q': model — String should have at least 1 character",
        "Column 'q': prompt — String should have at least 1 character",
        "Column 'q': temperature — Input should be less than or equal to 2",
        "Column 'q': max_tokens — Input should be greater than or equal to 1",
    ]
    assert errors([llm("q", "x", max_tokens=32769)]) == [
        "Column 'q': max_tokens — Input should be less than or equal to 32768"
    ]


def test_kind_and_extra_fields() -> None:
    kinds = (
        "category, subcategory, integer, float, boolean, datetime, person, uuid, expression, "
        "llm_text, llm_structured, llm_judge, seed_data, document"
    )
    assert ", ".join(KINDS) == kinds
    assert errors([{"name": "z", "kind": "nope"}]) == [
        f"Column 'z': kind — unknown kind 'nope'; expected one of {kinds}"
    ]
    assert errors([{"name": "z"}]) == [f"Column 'z': kind — missing; expected one of {kinds}"]
    assert errors([{"name": "u", "kind": "uuid", "colour": "red"}]) == [
        "Column 'u': colour — Extra inputs are not permitted"
    ]


def test_column_without_a_usable_name_is_numbered() -> None:
    assert errors([category("ok"), {"kind": "uuid"}]) == ["Column #2: name — Field required"]


def test_schema_level_errors() -> None:
    assert errors([]) == ["A schema needs between 1 and 200 columns"]
    assert errors([{"name": f"c{i}", "kind": "uuid"} for i in range(201)]) == [
        "A schema needs between 1 and 200 columns"
    ]
    with pytest.raises(SchemaError, match="^Schema — "):
        parse_spec(["not", "a", "dict"])
    with pytest.raises(SchemaError, match="^extra — Extra inputs are not permitted$"):
        parse_spec({"columns": [category("a")], "extra": 1})


def test_syntax_error_names_column_and_field() -> None:
    assert errors([llm("q", "{{ oops }")]) == [
        "Column 'q': prompt — Template syntax error on line 1: unexpected '}'"
    ]


@pytest.mark.parametrize(
    "template",
    [
        "{{ ''.__class__.__mro__ }}",
        "{{ x.__globals__ }}",
        "{{ cycler.__init__.__globals__ }}",
        "{% include '/etc/passwd' %}",
        "{{ x['_private'] }}",
    ],
)
def test_hostile_templates_are_refused_and_never_executed(
    template: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("template was compiled")

    monkeypatch.setattr(templating.ENV, "compile", refuse)
    monkeypatch.setattr(templating.ENV, "from_string", refuse)
    (message,) = errors([category("x"), llm("q", template)])
    assert message.startswith("Column 'q': prompt — Template refused on line 1: ")
    assert "not allowed" in message


def test_many_problems_are_reported_at_once() -> None:
    messages = errors(
        [
            category("topic"),
            category("topic"),
            {"name": "Bad", "kind": "uuid"},
            llm("q", "{{ topc }}", system_prompt="{{ ''.__class__ }}"),
            {"name": "e", "kind": "expression", "template": "{{ e }}"},
        ]
    )
    assert messages == [
        "Two columns are named 'topic'",
        "Column 'Bad' has an invalid name: use 1 to 64 lowercase letters, digits or underscores, starting with a letter or underscore",
        "Column 'q' refers to unknown column 'topc' in its prompt",
        "Column 'q': system_prompt — Template refused on line 1: access to '__class__' is not allowed (names starting with '_' are internal)",
    ]


def test_graph_errors_join_name_errors_when_names_are_unique() -> None:
    messages = errors(
        [
            {"name": "row", "kind": "uuid"},
            {"name": "e", "kind": "expression", "template": "{{ e }}"},
        ]
    )
    assert messages == [
        "Column name 'row' is reserved; choose another name",
        "Cycle between columns: e → e",
    ]


def test_direct_construction_also_validates() -> None:
    with pytest.raises(ValueError, match="Two columns are named 'a'"):
        SchemaSpec.model_validate({"columns": [category("a"), category("a")]})
