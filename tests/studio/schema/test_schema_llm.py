"""What the engine asks of LLM columns: response schemas, answer checks, judge verdicts."""

from typing import Any

import jsonschema
import pytest

from studio.schema import (
    LLM_KINDS,
    CategoryColumn,
    Criterion,
    ExpressionColumn,
    LlmJudgeColumn,
    LlmStructuredColumn,
    LlmTextColumn,
    is_llm,
    render_template,
)

LLM: dict[str, Any] = {"credential_id": 1, "model": "m", "prompt": "p"}


def make_judge(**extra: Any) -> LlmJudgeColumn:
    return LlmJudgeColumn(
        name="judge",
        **LLM,
        criteria=[
            Criterion(name="accuracy", description="Is the answer correct?"),
            Criterion(name="style", description="Is it well written?", min_score=0, max_score=10),
        ],
        pass_threshold=extra.pop("pass_threshold", 4),
        **extra,
    )


def test_is_llm_and_kinds() -> None:
    text = LlmTextColumn(name="t", **LLM)
    structured = LlmStructuredColumn(
        name="s", **LLM, json_schema={"type": "object", "properties": {"a": {}}}
    )
    assert all(is_llm(c) for c in (text, structured, make_judge()))
    assert not is_llm(ExpressionColumn(name="e", template="x"))
    assert not is_llm(CategoryColumn(name="c", values=["a"]))
    assert LLM_KINDS == (LlmTextColumn, LlmStructuredColumn, LlmJudgeColumn)
    assert text.response_schema() is None
    assert structured.response_schema() == {"type": "object", "properties": {"a": {}}}


def test_judge_response_schema_is_valid_and_asks_reason_then_score() -> None:
    schema = make_judge().response_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["required"] == ["accuracy", "style"]
    assert schema["additionalProperties"] is False
    accuracy = schema["properties"]["accuracy"]
    assert list(accuracy["properties"]) == ["reason", "score"]
    assert accuracy["properties"]["score"] == {"type": "integer", "minimum": 1, "maximum": 5}
    assert schema["properties"]["style"]["properties"]["score"]["maximum"] == 10
    good = {"accuracy": {"reason": "ok", "score": 5}, "style": {"reason": "fine", "score": 0}}
    jsonschema.validate(good, schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({**good, "style": {"reason": "x", "score": 11}}, schema)


def test_judge_interpret_gives_scores_reasons_mean_and_verdict() -> None:
    judge = make_judge()
    verdict = judge.interpret(
        {"accuracy": {"reason": "right", "score": 5}, "style": {"reason": "dull", "score": 2}}
    )
    assert verdict == {
        "scores": {"accuracy": 5, "style": 2},
        "reasons": {"accuracy": "right", "style": "dull"},
        "score": 3.5,
        "passed": False,
    }
    passed = judge.interpret({"accuracy": {"reason": "", "score": 4.0}, "style": 6})
    assert passed["passed"] is True and passed["score"] == 5
    assert passed["reasons"] == {"accuracy": "", "style": ""}


def test_judge_verdict_is_readable_from_templates() -> None:
    verdict = make_judge().interpret(
        {"accuracy": {"reason": "r", "score": 5}, "style": {"reason": "s", "score": 9}}
    )
    rendered = render_template(
        "{{ judge.passed }} {{ judge.score }} {{ judge.scores.accuracy }} {{ judge.reasons.style }}",
        {"judge": verdict},
    )
    assert rendered == "True 7.0 5 s"


@pytest.mark.parametrize(
    ("parsed", "message"),
    [
        ({"accuracy": {"score": 3}}, "The judge's answer has no score for 'style'"),
        ({}, "The judge's answer has no score for 'accuracy', 'style'"),
        ("5", "The judge's answer is not a JSON object"),
        (
            {"accuracy": {"score": 6}, "style": {"score": 1}},
            "The judge's score for 'accuracy' is 6, outside 1 to 5",
        ),
        (
            {"accuracy": {"score": "high"}, "style": {"score": 1}},
            "The judge's score for 'accuracy' is not an integer: 'high'",
        ),
        (
            {"accuracy": {"score": True}, "style": {"score": 1}},
            "The judge's score for 'accuracy' is not an integer: True",
        ),
        (
            {"accuracy": {"score": 2.5}, "style": {"score": 1}},
            "The judge's score for 'accuracy' is not an integer: 2.5",
        ),
    ],
)
def test_judge_interpret_refuses_unusable_answers(parsed: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        make_judge().interpret(parsed)
    assert str(info.value) == message


def test_judge_instructions_spell_out_the_rubric() -> None:
    assert make_judge().judge_instructions() == (
        "Judge the text above against each criterion below. For each criterion, first give a "
        "short reason, then an integer score.\n"
        "\n"
        "Criteria:\n"
        "- accuracy (score 1 to 5): Is the answer correct?\n"
        "- style (score 0 to 10): Is it well written?\n"
        "\n"
        "Reply with only a JSON object of this form:\n"
        '{"accuracy": {"reason": "...", "score": <integer 1-5>}, '
        '"style": {"reason": "...", "score": <integer 0-10>}}'
    )


def test_structured_fields_are_readable_from_templates() -> None:
    # Jinja falls back from attribute to item access on dicts.
    value = {"reasoning": "because", "answer": 42}
    assert render_template("{{ a.reasoning }}: {{ a.answer + 1 }}", {"a": value}) == "because: 43"
