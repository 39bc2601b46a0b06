"""The checks on a typed edit and how focus mode shows a value (pure, no database)."""

from __future__ import annotations

import pytest

from evaluation.review_values import (
    ColumnInfo,
    EditError,
    as_chat,
    parse_edit,
    shown_values,
)

SCHEMA = {"type": "object", "properties": {"text": {"type": "string"}}, "required": ["text"]}
STRUCTURED = ColumnInfo("answer", "llm_structured", SCHEMA)
TEXT = ColumnInfo("question", "llm_text")


def test_text_is_taken_as_typed():
    assert parse_edit(TEXT, "old", '{"not": "parsed"}') == '{"not": "parsed"}'


def test_structured_text_must_be_json_following_the_schema():
    assert parse_edit(STRUCTURED, {"text": "a"}, '{"text": "b"}') == {"text": "b"}
    with pytest.raises(EditError, match="Not JSON: Expecting .* at line 1 column"):
        parse_edit(STRUCTURED, {"text": "a"}, '{"text": ')
    with pytest.raises(EditError, match="'text' is required"):
        parse_edit(STRUCTURED, {"text": "a"}, "{}")


def test_a_number_column_takes_json():
    assert parse_edit(ColumnInfo("n", "integer"), 3, "4") == 4
    with pytest.raises(EditError, match="Not JSON"):
        parse_edit(ColumnInfo("n", "integer"), 3, "four")


def test_too_large_a_value_is_refused():
    with pytest.raises(EditError, match="the most one value may hold is 100,000"):
        parse_edit(TEXT, "old", "é" * 60_000)


def test_a_messages_list_is_a_chat():
    messages = [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"}]
    assert as_chat(messages) == [("user", "Hi"), ("assistant", "Hello")]
    assert as_chat([{"content": "no role"}]) is None
    assert as_chat("text") is None


def test_shown_values_keep_the_original_beside_an_edit():
    infos = {"question": TEXT, "answer": STRUCTURED}
    values = {"question": "Q?", "answer": {"text": "A"}}
    shown = shown_values(infos, values, {"question": "Better?", "answer": {"text": "A"}})
    question, answer = shown
    assert (question.form, question.text, question.original) == ("text", "Better?", "Q?")
    assert answer.form == "json" and answer.original is None
    assert '"text": "A"' in answer.edit_text and answer.takes_json
