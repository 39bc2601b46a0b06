"""Pairwise judge: which of two columns answers a row's prompt better. Each row is asked twice,
the second time with the two texts in swapped positions, to expose position bias: the score is
1 when column A wins both times, 0 when column B does, 0.5 for a tie or verdicts that contradict
each other (evaluation/metrics/judging.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, cast

from django import forms
from pydantic import Field, model_validator

from evaluation.metrics.judging import Position, pairwise_outcome, pairwise_rates
from generation.engine import CallLlm
from studio.kinds.base import KindField
from studio.schema.llm_kinds import LlmStructuredColumn

from .base import COLUMN, EvaluationKind, RowInput, ScoreResult, as_text, column_choices
from .judging import (
    CREDENTIAL,
    MAX_REASKS,
    MODEL,
    PROMPT,
    SYSTEM_PROMPT,
    TEMPERATURE,
    JudgeFailed,
    JudgeSettings,
    ask,
    judge_to_settings,
)

PAIRWISE_COLUMN = "pairwise_judge"
VERDICT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        # The reason first: a verdict written after its justification is better calibrated.
        "reason": {"type": "string"},
        "winner": {"type": "string", "enum": ["A", "B", "tie"]},
    },
    "required": ["reason", "winner"],
    "additionalProperties": False,
}
INSTRUCTIONS = (
    "Which response is better? First give a short reason, then your verdict: "
    '"A", "B", or "tie" when neither is better. Do not let the order of the responses or '
    "their length decide.\n\n"
    "Reply with only a JSON object of this form:\n"
    '{"reason": "...", "winner": "A" | "B" | "tie"}'
)
MSG_IDENTICAL = "The two texts are identical: a tie, without asking the judge."
MSG_SAME_COLUMNS = "column_b: compare two different columns"
MSG_ORDER_FAILED = "With {first} shown first: {error}"


class PairwiseSettings(JudgeSettings):
    column_b: str = Field(min_length=1, max_length=64)

    def columns_used(self) -> list[str]:
        return [self.column, self.column_b]

    @model_validator(mode="after")
    def _two_columns(self) -> PairwiseSettings:
        if self.column == self.column_b:
            raise ValueError(MSG_SAME_COLUMNS)
        return self

    def judge_column(self) -> LlmStructuredColumn:
        return LlmStructuredColumn(
            name=PAIRWISE_COLUMN, json_schema=VERDICT_SCHEMA, **self.llm_fields()
        )


def responses(first: str, second: str) -> str:
    """The two texts and the instructions, after the rendered prompt. Plain concatenation: the
    texts are data (a model's output), never a template."""
    return (
        "\n\n[The start of response A]\n"
        + first
        + "\n[The end of response A]\n\n[The start of response B]\n"
        + second
        + "\n[The end of response B]\n\n"
        + INSTRUCTIONS
    )


async def _judge_row(
    settings: PairwiseSettings, column: LlmStructuredColumn, row: RowInput, call_llm: CallLlm
) -> ScoreResult:
    a = as_text(row.values.get(settings.column))
    b = as_text(row.values.get(settings.column_b))
    if a == b:  # neither can be better, and both orders would ask the same question
        return ScoreResult(
            0.5,
            None,
            detail={
                "winner": "tie",
                "position_flip": False,
                "identical": True,
                "rule": MSG_IDENTICAL,
            },
        )
    orders = ((settings.column, settings.column_b), (settings.column_b, settings.column))
    answers = await asyncio.gather(
        ask(column, row, call_llm, suffix=responses(a, b)),
        ask(column, row, call_llm, suffix=responses(b, a)),
        return_exceptions=True,
    )
    for (first, _), answer in zip(orders, answers, strict=True):
        if isinstance(answer, JudgeFailed):
            failed = JudgeFailed(
                MSG_ORDER_FAILED.replace("{first}", first).replace("{error}", str(answer)),
                answer.raw,
            )
            return failed.score()
        if isinstance(answer, BaseException):
            raise answer
    in_order, swapped = (cast(Mapping[str, Any], answer) for answer in answers)
    outcome = pairwise_outcome(
        cast(Position, in_order["winner"]), cast(Position, swapped["winner"])
    )
    verdicts = []
    for (first, second), answer in zip(orders, (in_order, swapped), strict=True):
        said = answer["winner"]
        preferred = {"A": first, "B": second}.get(said, "tie")
        verdicts.append(
            {
                "first": first,
                "second": second,
                "said": said,
                "preferred": preferred,
                "reason": answer["reason"],
            }
        )
    return ScoreResult(
        outcome.score,
        None,
        detail={
            "winner": outcome.winner,
            "position_flip": outcome.position_flip,
            "verdicts": verdicts,
        },
    )


async def score_with_calls(
    settings: PairwiseSettings, rows: Sequence[RowInput], call_llm: CallLlm
) -> list[ScoreResult]:
    """Both orders of every row of the chunk are asked at once (the limiter paces them); an
    unexpected error is raised once every call has ended, so each paid answer is recorded."""
    column = settings.judge_column()
    results = await asyncio.gather(
        *(_judge_row(settings, column, row, call_llm) for row in rows), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if isinstance(result, ScoreResult)]


def _share(count: int, total: int) -> str:
    if not total:
        return "—"
    return f"{round(100 * count / total)}% ({count} of {total})"


def extra_summary(settings: PairwiseSettings, details: Iterable[Mapping[str, Any]]) -> dict:
    """A's win rate and how often the verdict flipped with the order, for the summary."""
    rates = pairwise_rates(details)
    if not rates.judged:
        return {"pairwise": rates.as_dict()}
    total = rates.judged
    return {
        "pairwise": rates.as_dict(),
        "figures": {
            f"A ({settings.column}) wins": _share(rates.a_wins, total),
            f"B ({settings.column_b}) wins": _share(rates.b_wins, total),
            "Tie or inconsistent": _share(rates.ties, total),
            "Position flips": _share(rates.position_flips, rates.compared),
        },
    }


COLUMN_B = KindField(
    "column_b",
    forms.ChoiceField(
        choices=[],
        label="Against column (B)",
        help_text="The judge compares the column with this one",
    ),
    bind=column_choices,
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {**judge_to_settings(data), "column_b": data.get("column_b")}


KIND = EvaluationKind(
    name="pairwise_judge",
    label="Pairwise judge (A vs B)",
    group="LLM judges",
    description="A model says which of two columns answers better, asked twice with the "
    "positions swapped: 1 when the column (A) wins both times, 0 when B does, 0.5 for a tie "
    "or a verdict that flips with the order.",
    settings_model=PairwiseSettings,
    fields=(COLUMN, COLUMN_B, CREDENTIAL, MODEL, TEMPERATURE, PROMPT, SYSTEM_PROMPT, MAX_REASKS),
    to_settings=to_settings,
    score_with_calls=score_with_calls,
    scale=(0.0, 1.0),
    chunk_rows=25,
    extra_summary=extra_summary,
)
