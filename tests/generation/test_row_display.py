"""The row card's values: columns in the page's order, edits shown, long text shortened."""

from types import SimpleNamespace

from generation.templatetags.row_display import LONG_VALUE_CHARS, shown_values


def test_values_follow_the_columns_and_skip_the_missing_ones():
    row = SimpleNamespace(final_values={"b": 2, "a": "one", "hidden": "x"})
    shown = shown_values(row, ["a", "b", "c"])
    assert [(s.name, s.value, s.short) for s in shown] == [("a", "one", None), ("b", 2, None)]


def test_a_long_value_is_shortened_and_kept_whole():
    text = "word " * 100
    (shown,) = shown_values(SimpleNamespace(final_values={"q": text}), ["q"])
    assert shown.value == text
    assert shown.short is not None and len(shown.short) == LONG_VALUE_CHARS
    assert shown.short.endswith("…")


def test_a_long_structured_value_is_measured_as_text():
    value = {"items": list(range(200))}
    (shown,) = shown_values(SimpleNamespace(final_values={"s": value}), ["s"])
    assert shown.value is value and shown.short is not None
