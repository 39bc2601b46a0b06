"""The designer's add / duplicate / delete / move keep what the user typed."""

import pytest
from django.http import QueryDict

from studio.designer import (
    DesignerError,
    apply_operation,
    columns_from_data,
    data_from_columns,
)


def form_data(*columns):
    data = QueryDict(mutable=True)
    data["name"] = "QA"
    data["columns-TOTAL_FORMS"] = str(len(columns))
    data["columns-INITIAL_FORMS"] = "0"
    for i, column in enumerate(columns):
        for key, value in column.items():
            data[f"columns-{i}-{key}"] = value
    return data


def names(data):
    return [c["name"][0] for c in columns_from_data(data)]


def run(data, operation, index=None):
    columns = apply_operation(columns_from_data(data), operation, index, new_kind="llm_text")
    rebuilt = QueryDict(mutable=True)
    for key, values in data_from_columns(data, columns).items():
        rebuilt.setlist(key, values)
    return rebuilt


def test_move_duplicate_delete_and_add_keep_every_typed_field():
    data = form_data(
        {"name": "topic", "kind": "category", "values": "a, b"},
        {"name": "question", "kind": "llm_text", "template": "Ask {{ topic"},  # unfinished edit
    )
    moved = run(data, "up", 1)
    assert names(moved) == ["question", "topic"]
    assert moved["columns-0-template"] == "Ask {{ topic"
    assert moved["name"] == "QA"
    duplicated = run(moved, "duplicate", 0)
    assert names(duplicated) == ["question", "question_copy", "topic"]
    assert duplicated["columns-1-template"] == "Ask {{ topic"
    assert duplicated["columns-TOTAL_FORMS"] == "3"
    again = run(duplicated, "duplicate", 0)
    assert names(again)[1] == "question_copy_2"
    deleted = run(duplicated, "delete", 1)
    assert names(deleted) == ["question", "topic"]
    added = run(deleted, "add")
    assert names(added) == ["question", "topic", ""]
    assert added["columns-2-kind"] == "llm_text"


def test_moving_past_either_end_changes_nothing():
    data = form_data({"name": "a", "kind": "uuid"}, {"name": "b", "kind": "uuid"})
    assert names(run(data, "up", 0)) == ["a", "b"]
    assert names(run(data, "down", 1)) == ["a", "b"]


@pytest.mark.parametrize("operation,index", [("delete", 5), ("explode", 0), ("up", None)])
def test_bad_operations_are_refused(operation, index):
    with pytest.raises(DesignerError):
        apply_operation([{"name": ["a"]}], operation, index, new_kind="uuid")
