"""The reference-free checks' maths: RE2 patterns, refusal phrases, JSON against a schema,
lengths in tokens."""

import re

import pytest

from evaluation.metrics.json_check import JsonCheck, schema_problems
from evaluation.metrics.matching import Normalisation, regex_match
from evaluation.metrics.patterns import MAX_PATTERN_CHARS, PatternError, compile_pattern
from evaluation.metrics.refusal import MAX_EXTRA_PHRASES, find_refusal, phrase_problems
from evaluation.metrics.text_length import measure


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [
        ("(ab", "missing )"),
        ("(a)\\1", "invalid escape sequence"),  # backreference
        ("(?=a)", "invalid perl operator"),  # lookahead
        ("a" * (MAX_PATTERN_CHARS + 1), "too long"),
        ("\\pL{1000}" * 4, "too complex"),  # beyond RE2's program budget
    ],
)
def test_patterns_re2_cannot_run_are_refused_with_the_reason(pattern, reason):
    with pytest.raises(PatternError, match=re.escape(reason)):
        compile_pattern(pattern)


def test_a_backtracking_pattern_runs_in_linear_time():
    # With Python's re this takes minutes; RE2 answers at once.
    assert compile_pattern("^(a+)+$").search("a" * 50_000 + "!") is None


def test_regex_match_needs_the_whole_answer_and_follows_the_case_choice():
    loose = Normalisation(case=True, whitespace=True)
    strict = Normalisation(case=False, whitespace=False)
    assert regex_match("42 Apples", r"\d+ apples", loose)
    assert not regex_match("42 Apples", r"\d+ apples", strict)
    assert not regex_match("I have 42 apples", r"\d+ apples", loose)  # not the whole answer
    assert regex_match("  42   apples ", r"\d+ apples", loose)  # whitespace collapsed
    # The pattern is not lower-cased: its classes keep their meaning.
    assert regex_match("abc", "[A-Z]+", loose)
    assert not regex_match("abc", "[A-Z]+", strict)


@pytest.mark.parametrize(
    ("text", "reason", "phrase"),
    [
        ("", "empty", ""),
        ("  \n ", "empty", ""),
        ("As an AI language model, I don't have opinions.", "refusal", "as an ai"),
        ("I’m sorry, but I can’t do that.", "refusal", "i'm sorry, but i can't"),
        ("Sorry. I cannot help with that.", "refusal", "i can't help with that"),
        ("I am unable to browse the web.", "refusal", "i'm unable to"),
    ],
)
def test_empty_answers_and_refusals_are_found_with_their_phrase(text, reason, phrase):
    finding = find_refusal(text)
    assert finding is not None
    assert (finding.reason, finding.phrase) == (reason, phrase)


@pytest.mark.parametrize(
    "text", ["Paris", "As an airline pilot, I land at night.", "Sure, I can help with that!"]
)
def test_real_answers_are_not_refusals(text):
    assert find_refusal(text) is None


def test_extra_phrases_are_words_matched_ignoring_case():
    assert find_refusal("No comment.") is None
    finding = find_refusal("No  Comment.", ("no comment",))
    assert finding is not None and finding.phrase == "no comment"
    assert find_refusal("no commentary", ("no comment",)) is None
    # Regex characters in a phrase are plain text.
    assert find_refusal("it costs $5 (approx.)", ("(approx.)",)).phrase == "(approx.)"
    assert find_refusal("approx", ("(approx.)",)) is None


def test_bad_phrase_lists_say_what_is_wrong():
    assert phrase_problems(["fine"]) == []
    assert "at most" in phrase_problems(["x"] * (MAX_EXTRA_PHRASES + 1))[0]
    assert phrase_problems([" "]) == ["a phrase is empty"]
    assert "too long" in phrase_problems(["x" * 500])[0]


PERSON = {
    "type": "object",
    "required": ["name", "age"],
    "properties": {"name": {"type": "string"}, "age": {"type": "integer", "minimum": 0}},
}


def test_json_values_and_texts_are_validated_and_the_violation_named():
    check = JsonCheck(PERSON)
    assert check.check({"name": "Ada", "age": 36}) is None
    assert check.check(' {"name": "Ada", "age": 36} ') is None
    low = check.check('{"name": "Ada", "age": -1}')
    assert (low.path, low.message) == ("$.age", "-1 is less than the minimum of 0")
    missing = check.check({"name": "Ada"})
    assert (missing.path, missing.message) == ("$", "'age' is a required property")
    assert check.check("Ada, 36").message.startswith("not JSON: Expecting value")
    assert check.check(None).message == "the value is empty"
    assert check.check("[" * 100_000).message == "not JSON: nested too deeply"


def test_schema_patterns_are_matched_with_re2():
    check = JsonCheck({"type": "string", "pattern": "^(a+)+$"})
    violation = check.check('"' + "a" * 50_000 + '!"')
    assert violation is not None and "does not match" in violation.message


@pytest.mark.parametrize(
    ("schema", "problem"),
    [
        ({"type": "nope"}, "not a valid JSON Schema"),
        (
            {"minLength": "x"},
            "not a valid JSON Schema: 'x' is not of type 'integer' (at minLength)",
        ),
        ({"$ref": "https://example.com/schema.json"}, "only references inside the schema"),
        ({"$ref": "#/$defs/missing"}, "not a place in this schema"),
        ({"properties": {"a": {"pattern": "(a)\\1"}}}, "patterns are matched with RE2"),
        ({"minItems": 10**9}, "the most allowed is"),
    ],
)
def test_unusable_schemas_are_refused_with_the_reason(schema, problem):
    assert problem in " ".join(schema_problems(schema))


def test_tokens_are_estimated_as_the_rate_limiter_does():
    assert measure("abcdefgh", "tokens") == 2  # 4 ASCII characters a token
    assert measure("abcdefghi", "tokens") == 3  # rounded up
    assert measure("héllo", "tokens") == 2  # 4 ASCII → 1, plus 1 for é
    assert measure("two words", "words") == 2
    assert measure("héllo", "characters") == 5
