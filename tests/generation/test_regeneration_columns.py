"""Which columns a regeneration asks again: those named and every column depending on them, in
the schema's order; a quality gate's are the model columns an evaluation's column comes from."""

import pytest

from evaluation.gate.rules import attempts_problem, threshold_text
from generation.regeneration import gate_columns, regeneration_columns
from generation.services import RunError
from studio.schema import parse_spec


def _llm(name: str, prompt: str) -> dict:
    return {
        "name": name,
        "kind": "llm_text",
        "credential_id": 1,
        "model": "gpt-4o-mini",
        "prompt": prompt,
    }


SPEC = parse_spec(
    {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space", "oceans"]},
            _llm("question", "A question about {{ topic }}"),
            _llm("answer", "Answer: {{ question }}"),
            {"name": "shout", "kind": "expression", "template": "{{ answer|upper }}"},
            _llm("title", "A title about {{ topic }}"),
        ]
    }
)


def test_the_dependants_are_regenerated_too_in_the_schemas_order():
    assert regeneration_columns(SPEC, ["question"]) == ["question", "answer", "shout"]
    assert regeneration_columns(SPEC, ["answer"]) == ["answer", "shout"]
    assert regeneration_columns(SPEC, ["title", "answer"]) == ["answer", "shout", "title"]
    with pytest.raises(KeyError):
        regeneration_columns(SPEC, ["nope"])


def test_a_gate_regenerates_the_model_columns_its_column_comes_from():
    # "shout" is written by no model: the answer it shows is asked again, not its question.
    assert gate_columns(SPEC, ["shout"]) == ["answer", "shout"]
    assert gate_columns(SPEC, ["question"]) == ["question", "answer", "shout"]
    assert gate_columns(SPEC, ["title"]) == ["title"]
    with pytest.raises(RunError, match="no model writes topic"):
        gate_columns(SPEC, ["topic"])


@pytest.mark.parametrize(
    ("settings", "text"),
    [
        ({"threshold": 0.8}, "0.8"),
        ({"pass_threshold": 4}, "4"),
        ({"min_length": 20}, "20 characters"),
        ({"min_length": 2, "max_length": 9, "unit": "words"}, "the range 2–9 words"),
        ({"column": "a"}, None),
        ({"threshold": None}, None),
    ],
)
def test_the_threshold_as_people_read_it(settings, text):
    assert threshold_text(settings) == text


@pytest.mark.parametrize("value", [0, 6, "2", 2.0, True, None])
def test_attempts_out_of_range(value):
    assert attempts_problem(value) is not None
    assert attempts_problem(3) is None
