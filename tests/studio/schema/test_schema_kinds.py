"""Validation of the newer column kinds and what the whole schema derives from them."""

from typing import Any

import pytest

from studio.schema import (
    DocumentColumn,
    LlmJudgeColumn,
    LlmStructuredColumn,
    LlmTextColumn,
    SchemaError,
    SeedDataColumn,
    SubcategoryColumn,
    parse_spec,
)


def errors(columns: list[dict[str, Any]]) -> list[str]:
    with pytest.raises(SchemaError) as info:
        parse_spec({"columns": columns})
    return info.value.messages


TOPIC = {"name": "topic", "kind": "category", "values": ["a", "b", "c"]}
LLM = {"credential_id": 1, "model": "m", "prompt": "p"}
REASONING_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["reasoning", "answer"],
}


def sub(**extra: Any) -> dict[str, Any]:
    return {"name": "sub", "kind": "subcategory", "parent": "topic", **extra}


def seed(name: str = "seed", fields: list[str] | None = None, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "seed_data",
        "seed_file_id": 1,
        "fields": ["question", "answer"] if fields is None else fields,
        **extra,
    }


def structured(name: str = "ans", schema: dict[str, Any] | None = None) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "llm_structured",
        **LLM,
        "json_schema": schema or REASONING_SCHEMA,
    }


def judge(**extra: Any) -> dict[str, Any]:
    return {
        "name": "judge",
        "kind": "llm_judge",
        **LLM,
        "criteria": [{"name": "accuracy", "description": "Is it right?"}],
        "pass_threshold": 3,
        **extra,
    }


def expression(template: str, name: str = "e") -> dict[str, Any]:
    return {"name": name, "kind": "expression", "template": template}


# --- Subcategory -----------------------------------------------------------------------


def test_subcategory_is_ordered_after_its_parent() -> None:
    spec = parse_spec({"columns": [sub(values={"a": ["x"], "b": ["y"], "c": ["z"]}), TOPIC]})
    assert spec.levels() == [["topic"], ["sub"]]
    assert spec.depends_on("sub") == {"topic"}


def test_subcategory_may_hang_from_a_subcategory() -> None:
    spec = parse_spec(
        {
            "columns": [
                TOPIC,
                sub(values={"a": ["x"], "b": ["y"], "c": ["x"]}),
                {
                    "name": "leaf",
                    "kind": "subcategory",
                    "parent": "sub",
                    "values": {"x": ["1"], "y": ["2"]},
                },
            ]
        }
    )
    assert spec.levels() == [["topic"], ["sub"], ["leaf"]]


def test_subcategory_parent_must_exist_and_be_a_category() -> None:
    assert errors([sub(values={"a": ["x"]})]) == [
        "Column 'sub' refers to unknown column 'topic' in its parent"
    ]
    assert errors(
        [{"name": "topic", "kind": "integer", "low": 0, "high": 1}, sub(values={"a": ["x"]})]
    ) == [
        "Column 'sub': parent 'topic' must be a category or subcategory column (it is of kind 'integer')"
    ]


def test_subcategory_parent_cannot_be_a_seed_field() -> None:
    assert errors([seed(fields=["topic_name"]), sub(parent="topic_name", values={"a": ["x"]})]) == [
        "Column 'sub': parent 'topic_name' must be a category or subcategory column "
        "(it is a field of seed column 'seed')"
    ]


def test_subcategory_must_cover_exactly_its_parents_values() -> None:
    assert errors([TOPIC, sub(values={"a": ["x"], "z": ["y"]})]) == [
        "Column 'sub' has no values for 'b', 'c' (values of its parent column 'topic')",
        "Column 'sub' has values for 'z', which its parent column 'topic' never takes",
    ]


def test_subcategory_values_and_weights() -> None:
    assert errors(
        [
            TOPIC,
            sub(
                values={"a": ["x"], "b": ["y"], "c": []},
                weights={"a": [1, 2], "q": [1], "b": [-1]},
            ),
        ]
    ) == [
        "Column 'sub': values for 'c' — give at least one value",
        "Column 'sub' (for 'a') has 1 value but 2 weights; give exactly one weight per value",
        "Column 'sub' has weights for 'q', which has no values",
        "Column 'sub' (for 'b'): weights — must not be negative",
    ]


def test_subcategory_cycle_is_reported() -> None:
    assert errors(
        [
            {"name": "s1", "kind": "subcategory", "parent": "s2", "values": {"a": ["x"]}},
            {"name": "s2", "kind": "subcategory", "parent": "s1", "values": {"x": ["a"]}},
        ]
    ) == ["Cycle between columns: s1 → s2 → s1"]


# --- Numbers, booleans, dates, fakes -------------------------------------------------


def test_number_settings() -> None:
    assert errors(
        [{"name": "n", "kind": "integer", "low": 0, "high": 10, "mean": 20, "stddev": 0}]
    ) == ["Column 'n': stddev — Input should be greater than 0"]
    assert errors(
        [
            {
                "name": "n",
                "kind": "integer",
                "low": 0,
                "high": 10,
                "distribution": "gaussian",
                "mean": 20,
            }
        ]
    ) == ["Column 'n': mean (20.0) must be between low (0) and high (10)"]
    assert errors([{"name": "n", "kind": "integer", "low": 0, "high": 10, "mean": 5}]) == [
        "Column 'n': mean and stddev apply only to distribution 'gaussian'"
    ]
    assert errors([{"name": "f", "kind": "float", "low": 1, "high": 0}]) == [
        "Column 'f': low (1.0) must not be greater than high (0.0)"
    ]
    assert errors([{"name": "f", "kind": "float", "low": 0, "high": 1, "decimals": 16}]) == [
        "Column 'f': decimals — Input should be less than or equal to 15"
    ]
    assert errors(
        [{"name": "f", "kind": "float", "low": 0, "high": 1, "distribution": "zipf"}]
    ) == ["Column 'f': distribution — Input should be 'uniform' or 'gaussian'"]
    assert errors([{"name": "b", "kind": "boolean", "probability": 1.5}]) == [
        "Column 'b': probability — Input should be less than or equal to 1"
    ]


def test_datetime_range_and_format() -> None:
    assert errors(
        [{"name": "d", "kind": "datetime", "start": "2024-05-01", "end": "2024-01-01"}]
    ) == ["Column 'd': start (2024-05-01) must not be after end (2024-01-01)"]
    assert errors(
        [
            {
                "name": "d",
                "kind": "datetime",
                "start": "2024-13-01",
                "end": "yesterday",
                "format": "plain",
            }
        ]
    ) == [
        "Column 'd': start — '2024-13-01' is not an ISO 8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T09:30:00)",
        "Column 'd': end — 'yesterday' is not an ISO 8601 date or date-time (e.g. 2024-01-31 or 2024-01-31T09:30:00)",
        "Column 'd': format — 'plain' has no % directive (e.g. %Y-%m-%d %H:%M)",
    ]
    assert errors(
        [{"name": "d", "kind": "datetime", "start": "2024-01-01T00:00+02:00", "end": "2024-01-02"}]
    ) == ["Column 'd': start and end must both have a time zone, or neither"]
    assert parse_spec(
        {"columns": [{"name": "d", "kind": "datetime", "start": "2024-01-01", "end": "2024-01-01"}]}
    )


def test_person_field_and_locale() -> None:
    assert errors([{"name": "p", "kind": "person", "locale": "fr-fr"}]) == [
        "Column 'p': locale 'fr-fr' is not a Faker locale; did you mean 'fr_FR'?"
    ]
    assert errors([{"name": "p", "kind": "person", "locale": "xx"}]) == [
        "Column 'p': locale 'xx' is not a Faker locale; e.g. en_US, fr_FR or ja_JP"
    ]
    (message,) = errors([{"name": "p", "kind": "person", "field": "ssn"}])
    assert message.startswith("Column 'p': field — Input should be 'first_name', 'last_name'")
    spec = parse_spec({"columns": [{"name": "p", "kind": "person", "locale": "ja_JP"}]})
    assert spec.column("p").field == "name"  # type: ignore[union-attr]


# --- Seed tables and documents -------------------------------------------------------


def test_seed_fields_are_variables_and_output_columns() -> None:
    spec = parse_spec(
        {
            "columns": [
                TOPIC,
                seed(fields=["question", "answer"]),
                expression("{{ question }} / {{ topic }}", "pair"),
                {"name": "doc", "kind": "document", "seed_file_id": 5, "drop": True},
            ]
        }
    )
    assert spec.output_columns() == ["topic", "question", "answer", "pair"]
    assert spec.levels() == [["topic", "seed", "doc"], ["pair"]]
    assert spec.depends_on("pair") == {"seed", "topic"}
    # dependencies() stays in variable names; depends_on() in column names.
    assert spec.column("pair").dependencies() == {"question", "topic"}
    assert spec.providers() == {
        "topic": "topic",
        "question": "seed",
        "answer": "seed",
        "pair": "pair",
        "doc": "doc",
    }
    assert spec.seed_file_ids() == {1, 5}
    column = spec.column("seed")
    assert isinstance(column, SeedDataColumn)
    assert column.sampling == "shuffle"
    assert column.provides() == ["question", "answer"]


def test_seed_field_clashes_name_both_columns() -> None:
    assert errors([TOPIC, seed(fields=["topic", "q"]), seed("seed2", ["q", "seed"])]) == [
        "Column 'seed' provides field 'topic', which is also the name of column 'topic'; rename one of them",
        "Columns 'seed' and 'seed2' both provide field 'q'; remove it from one of them",
        "Column 'seed2' provides field 'seed', which is also the name of column 'seed'; rename one of them",
    ]


def test_seed_field_may_share_its_own_columns_name() -> None:
    spec = parse_spec({"columns": [seed("question", ["question", "answer"])]})
    assert spec.output_columns() == ["question", "answer"]


def test_seed_fields_must_be_valid_and_unique() -> None:
    assert errors([seed(fields=["q", "q", "Bad", "row"])]) == [
        "Column 'seed' lists field 'q' twice",
        "Column 'seed': field 'Bad' has an invalid name: use 1 to 64 lowercase letters, digits or underscores, starting with a letter or underscore",
        "Column 'seed': field 'row' is reserved; choose another name",
    ]
    assert errors([seed(fields=[])]) == [
        "Column 'seed': fields — List should have at least 1 item after validation, not 0"
    ]


def test_a_seed_column_is_read_through_its_fields() -> None:
    assert errors([seed(fields=["q", "a"]), expression("{{ seed }} {{ q }}")]) == [
        "Column 'e' refers to 'seed' in its template, which is a seed column: use its fields instead (q, a)"
    ]
    assert errors([seed(fields=["q"]), expression("{{ a }}")]) == [
        "Column 'e' refers to unknown column 'a' in its template"
    ]


def test_document_settings() -> None:
    assert errors(
        [
            {
                "name": "doc",
                "kind": "document",
                "seed_file_id": 1,
                "chunk_size": 1000,
                "chunk_overlap": 1000,
            }
        ]
    ) == ["Column 'doc': chunk_overlap (1000) must be smaller than chunk_size (1000)"]
    assert errors(
        [{"name": "doc", "kind": "document", "seed_file_id": 1, "chunk_size": 50, "sampling": "x"}]
    ) == [
        "Column 'doc': chunk_size — Input should be greater than or equal to 100",
        "Column 'doc': sampling — Input should be 'random', 'shuffle' or 'ordered'",
    ]
    column = DocumentColumn(name="doc", seed_file_id=1)
    assert (column.chunk_size, column.chunk_overlap, column.provides()) == (1500, 150, ["doc"])


# --- Structured and judge columns ----------------------------------------------------


def test_invalid_json_schemas_name_the_column() -> None:
    bad_type = {"type": "object", "properties": {"x": {"type": "strin"}}}
    assert errors([structured(schema=bad_type)]) == [
        "Column 'ans': json_schema is not a valid JSON Schema: 'strin' is not valid under any of the given schemas (at properties.x.type)"
    ]
    assert errors([structured(schema={"type": "array"})]) == [
        'Column \'ans\': json_schema must describe an object: set "type": "object"',
        "Column 'ans': json_schema must list the object's fields under \"properties\"",
    ]
    remote = {"type": "object", "properties": {"x": {"$ref": "http://example.com/x.json"}}}
    assert errors([structured(schema=remote)]) == [
        "Column 'ans': json_schema: properties.x.$ref — only references inside the schema (#/...) are allowed"
    ]
    huge = {"type": "object", "properties": {f"f{i}": {"type": "string"} for i in range(2000)}}
    (message,) = errors([structured(schema=huge)])
    assert message.startswith("Column 'ans': json_schema is too large (")
    assert errors([{**structured(), "max_reasks": 6}]) == [
        "Column 'ans': max_reasks — Input should be less than or equal to 5"
    ]


def test_templates_may_read_structured_fields() -> None:
    spec = parse_spec(
        {
            "columns": [
                structured(),
                expression("{{ ans.reasoning }} {{ ans['answer'] }} {{ ans.answer.upper() }}"),
                judge(prompt="{{ ans.answer }}"),
                expression("{% if judge.passed %}{{ judge.score }}{% endif %}", "kept"),
            ]
        }
    )
    assert spec.levels() == [["ans"], ["e", "judge"], ["kept"]]


def test_unknown_structured_fields_are_refused_naming_column_field_and_template() -> None:
    schema = {**REASONING_SCHEMA, "properties": {**REASONING_SCHEMA["properties"], "items": {}}}
    assert errors(
        [
            structured(schema=schema),
            expression("{{ ans.reasonin }} {{ ans['nope'] }} {{ ans.items }}"),
            {"name": "q", "kind": "llm_text", **LLM, "system_prompt": "{{ ans.why }}"},
            expression("{{ judge.verdict }}", "v"),
            judge(),
        ]
    ) == [
        "Column 'e' reads 'ans.reasonin' in its template, but column 'ans' has no field 'reasonin' (its fields: reasoning, answer, items)",
        "Column 'e' reads \"ans['nope']\" in its template, but column 'ans' has no field 'nope' (its fields: reasoning, answer, items)",
        "Column 'e' reads 'ans.items' in its template, which gives a built-in method, not the field 'items'; write ans['items']",
        "Column 'q' reads 'ans.why' in its system_prompt, but column 'ans' has no field 'why' (its fields: reasoning, answer, items)",
        "Column 'v' reads 'judge.verdict' in its template, but column 'judge' has no field 'verdict' (its fields: scores, reasons, score, passed)",
    ]


def test_a_template_variable_shadowing_a_structured_column_is_not_checked() -> None:
    assert parse_spec(
        {"columns": [structured(), expression("{% for ans in [1] %}{{ ans.zzz }}{% endfor %}")]}
    )


def test_text_columns_are_not_checked_for_fields() -> None:
    # ``question.upper()`` is a string method; only structured values have known fields.
    assert parse_spec(
        {
            "columns": [
                {"name": "question", "kind": "llm_text", **LLM},
                expression("{{ question.upper() }}"),
            ]
        }
    )


def test_judge_settings() -> None:
    assert errors(
        [
            judge(
                criteria=[
                    {"name": "acc", "description": "d", "min_score": 5, "max_score": 1},
                    {"name": "acc", "description": "d"},
                    {"name": "Bad", "description": "d"},
                    {"name": "items", "description": "d"},
                ]
            )
        ]
    ) == [
        "Column 'judge': criterion 'acc' — min_score (5) must be less than max_score (1)",
        "Column 'judge' has two criteria named 'acc'",
        "Column 'judge': criterion 'Bad' has an invalid name: use 1 to 64 lowercase letters, digits or underscores, starting with a letter or underscore",
        "Column 'judge': criterion 'items' clashes with a built-in name of the judge's value in templates; choose another name",
    ]
    assert errors([judge(pass_threshold=7)]) == [
        "Column 'judge': pass_threshold (7) must be between 1 and 5, the range of the criteria's scores"
    ]
    assert errors([judge(criteria=[])]) == [
        "Column 'judge': criteria — List should have at least 1 item after validation, not 0"
    ]
    assert errors([judge(criteria=[{"name": "a", "description": "d", "weight": 2}])]) == [
        "Column 'judge': criteria.0.weight — Extra inputs are not permitted"
    ]


def test_llm_columns_lists_every_llm_kind() -> None:
    spec = parse_spec(
        {
            "columns": [
                TOPIC,
                {"name": "q", "kind": "llm_text", **LLM},
                structured(),
                judge(),
            ]
        }
    )
    assert [type(c) for c in spec.llm_columns()] == [
        LlmTextColumn,
        LlmStructuredColumn,
        LlmJudgeColumn,
    ]
    judge_column = spec.column("judge")
    assert isinstance(judge_column, LlmJudgeColumn)
    assert judge_column.temperature == 0
    assert judge_column.max_reasks == 2


def test_subcategory_model_alone_has_no_parent_check() -> None:
    # The parent can only be checked against the whole schema.
    column = SubcategoryColumn(name="s", parent="anything", values={"x": ["y"]})
    assert column.dependencies() == {"anything"}
