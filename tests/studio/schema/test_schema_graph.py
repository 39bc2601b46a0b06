"""Generation order and graph errors, on plain mappings (no column models)."""

import pytest

from studio.schema import SchemaError, dependency_levels


def test_diamond_levels_keep_user_order_within_a_level() -> None:
    deps = {
        "topic": set(),
        "style": set(),
        "question": {"topic", "style"},
        "hint": {"topic"},
        "answer": {"question", "hint"},
    }
    assert dependency_levels(deps) == [["topic", "style"], ["question", "hint"], ["answer"]]


def test_level_order_follows_the_mapping_not_the_alphabet() -> None:
    deps = {"zeta": set(), "alpha": set(), "mid": {"zeta"}}
    assert dependency_levels(deps) == [["zeta", "alpha"], ["mid"]]


def test_no_dependencies_is_one_level() -> None:
    assert dependency_levels({"a": set(), "b": set()}) == [["a", "b"]]


def test_empty_graph_has_no_levels() -> None:
    assert dependency_levels({}) == []


def test_unknown_reference_names_both_columns() -> None:
    with pytest.raises(SchemaError) as info:
        dependency_levels({"topic": set(), "answer": {"topc"}})
    assert info.value.messages == ["Column 'answer' refers to unknown column 'topc'"]


def test_unknown_reference_names_the_field_when_given() -> None:
    with pytest.raises(SchemaError) as info:
        dependency_levels({"topic": set(), "answer": {"topc"}}, where={"answer": "prompt"})
    assert str(info.value) == "Column 'answer' refers to unknown column 'topc' in its prompt"


def test_every_unknown_reference_is_reported_sorted() -> None:
    with pytest.raises(SchemaError) as info:
        dependency_levels({"a": {"zz", "yy"}, "b": {"xx"}})
    assert info.value.messages == [
        "Column 'a' refers to unknown column 'yy'",
        "Column 'a' refers to unknown column 'zz'",
        "Column 'b' refers to unknown column 'xx'",
    ]


def test_cycle_is_named_in_order_from_first_column() -> None:
    with pytest.raises(SchemaError) as info:
        dependency_levels({"topic": set(), "question": {"answer", "topic"}, "answer": {"question"}})
    assert info.value.messages == ["Cycle between columns: question → answer → question"]


def test_cycle_start_is_the_first_column_in_user_order() -> None:
    deps = {"answer": {"question"}, "question": {"answer"}}
    with pytest.raises(SchemaError, match="answer → question → answer"):
        dependency_levels(deps)


def test_longer_cycle_and_downstream_column_is_not_blamed() -> None:
    deps = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "after": {"a"}}
    with pytest.raises(SchemaError) as info:
        dependency_levels(deps)
    assert info.value.messages == ["Cycle between columns: a → b → c → a"]


def test_column_depending_on_a_cycle_before_it_is_not_reported() -> None:
    deps = {"before": {"x"}, "x": {"y"}, "y": {"x"}}
    with pytest.raises(SchemaError) as info:
        dependency_levels(deps)
    assert info.value.messages == ["Cycle between columns: x → y → x"]


def test_self_reference_is_a_cycle() -> None:
    with pytest.raises(SchemaError) as info:
        dependency_levels({"a": {"a"}})
    assert info.value.messages == ["Cycle between columns: a → a"]


def test_separate_cycles_are_each_reported() -> None:
    deps = {"a": {"b"}, "b": {"a"}, "c": {"c"}}
    with pytest.raises(SchemaError) as info:
        dependency_levels(deps)
    assert info.value.messages == [
        "Cycle between columns: a → b → a",
        "Cycle between columns: c → c",
    ]


def test_unknown_names_and_cycles_are_reported_together() -> None:
    with pytest.raises(SchemaError) as info:
        dependency_levels({"a": {"b", "nope"}, "b": {"a"}})
    assert info.value.messages == [
        "Column 'a' refers to unknown column 'nope'",
        "Cycle between columns: a → b → a",
    ]


def test_shortest_cycle_first_then_cycles_through_columns_not_yet_named() -> None:
    deps = {"a": {"b", "c"}, "b": {"c"}, "c": {"a"}}
    with pytest.raises(SchemaError) as info:
        dependency_levels(deps)
    assert info.value.messages == [
        "Cycle between columns: a → c → a",
        "Cycle between columns: b → c → a → b",
    ]


def test_schema_error_joins_messages() -> None:
    error = SchemaError(["one", "two"])
    assert str(error) == "one; two"
    assert isinstance(error, ValueError)
    assert SchemaError("single").messages == ["single"]
