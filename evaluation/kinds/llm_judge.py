"""LLM judge: a model scores each row against a rubric, one call per row through the generation
engine (the judge column's prompt and rubric instructions, structured output, re-asks). The
score is the mean of the criteria's scores; a row passes when it reaches the threshold."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from pydantic import Field, FiniteFloat, field_validator, model_validator

from generation.engine import CallLlm
from studio.kinds.base import KindField, ParsedTextField
from studio.kinds.llm_judge import criteria_text, parse_criteria
from studio.schema.base import NAME_PATTERN, NAME_RULE
from studio.schema.errors import SchemaError
from studio.schema.llm_kinds import Criterion, LlmJudgeColumn
from studio.schema.templating import template_variables

from .base import COLUMN, EvaluationKind, RowInput, ScoreResult
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

# The judge's calls are asked under this column name (the ledger's column, the structured
# output's schema name).
JUDGE_COLUMN = "judge"
MAX_CRITERIA = 20
MSG_EMPTY_RUBRIC = (
    "the rubric is empty: give at least one criterion, e.g. 'accuracy (1-5): the answer is correct'"
)
MSG_NO_THRESHOLD = (
    "pass_threshold: give the mean score a row needs to pass (between {low:g} and {high:g})"
)
MSG_THRESHOLD_RANGE = (
    "pass_threshold: {threshold:g} is outside the criteria's scores ({low:g} to {high:g}): "
    "a row passes when the mean of its scores reaches the threshold"
)
MSG_COLUMN_NOT_SHOWN = (
    "prompt: the judge never sees the column it scores: add {{{{ {column} }}}} to the prompt"
)


class LlmJudgeSettings(JudgeSettings):
    criteria: list[Criterion] = Field(default_factory=list, max_length=MAX_CRITERIA)
    pass_threshold: FiniteFloat | None = None

    @field_validator("criteria")
    @classmethod
    def _rubric(cls, criteria: list[Criterion]) -> list[Criterion]:
        if not criteria:
            raise ValueError(MSG_EMPTY_RUBRIC)
        problems: list[str] = []
        seen: set[str] = set()
        for c in criteria:
            if not NAME_PATTERN.fullmatch(c.name):
                problems.append(f"criterion '{c.name}' has an invalid name: {NAME_RULE}")
            if c.name in seen:
                problems.append(f"two criteria are named '{c.name}'")
            seen.add(c.name)
            if c.min_score >= c.max_score:
                problems.append(
                    f"criterion '{c.name}': its lowest score ({c.min_score}) must be below its "
                    f"highest ({c.max_score})"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return criteria

    @model_validator(mode="after")
    def _judge(self) -> LlmJudgeSettings:
        low, high = self.score_range()
        if self.pass_threshold is None:
            raise ValueError(MSG_NO_THRESHOLD.format(low=low, high=high))
        if not low <= self.pass_threshold <= high:
            raise ValueError(
                MSG_THRESHOLD_RANGE.format(threshold=self.pass_threshold, low=low, high=high)
            )
        if self.column not in template_variables(self.prompt):
            raise ValueError(MSG_COLUMN_NOT_SHOWN.format(column=self.column))
        try:
            self.judge_column()
        except SchemaError as exc:  # what the checks above missed (a name judges reserve)
            message = str(exc).replace(f"Column '{JUDGE_COLUMN}': ", "")
            raise ValueError(f"criteria: {message}") from None
        return self

    def score_range(self) -> tuple[float, float]:
        return (
            float(min(c.min_score for c in self.criteria)),
            float(max(c.max_score for c in self.criteria)),
        )

    def judge_column(self) -> LlmJudgeColumn:
        """The generation column the judge is asked through, as a run asks a judge column."""
        assert self.pass_threshold is not None
        return LlmJudgeColumn(
            name=JUDGE_COLUMN,
            criteria=self.criteria,
            pass_threshold=self.pass_threshold,
            **self.llm_fields(),
        )


async def _judge_row(column: LlmJudgeColumn, row: RowInput, call_llm: CallLlm) -> ScoreResult:
    try:
        verdict = await ask(column, row, call_llm)
    except JudgeFailed as exc:
        return exc.score()
    return ScoreResult(
        float(verdict["score"]),
        bool(verdict["passed"]),
        detail={"scores": verdict["scores"], "reasons": verdict["reasons"]},
    )


async def score_with_calls(
    settings: LlmJudgeSettings, rows: Sequence[RowInput], call_llm: CallLlm
) -> list[ScoreResult]:
    """The chunk's rows are judged at once (the rate limiter paces the calls). An unexpected
    error is raised only once every row's calls have ended, so each paid answer is in the
    ledger when the chunk is scored again."""
    column = settings.judge_column()
    results = await asyncio.gather(
        *(_judge_row(column, row, call_llm) for row in rows), return_exceptions=True
    )
    for result in results:
        if isinstance(result, BaseException):
            raise result
    return [result for result in results if isinstance(result, ScoreResult)]


CRITERIA = KindField(
    "criteria",
    ParsedTextField(
        parse_criteria,
        label="Rubric",
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text="One criterion per line: 'accuracy (1-5): the answer is correct', or "
        "'cites_source (pass/fail): it names its source'",
    ),
    full=True,
)
PASS_THRESHOLD = KindField(
    "pass_threshold",
    forms.FloatField(
        initial=3.5,
        label="Pass at mean score",
        help_text="A row passes when the mean of its criteria's scores reaches this",
    ),
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        **judge_to_settings(data),
        "criteria": data.get("criteria") or [],
        "pass_threshold": data.get("pass_threshold"),
    }


def to_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"criteria": criteria_text(settings.get("criteria") or [])}


KIND = EvaluationKind(
    name="llm_judge",
    label="LLM judge (rubric)",
    group="LLM judges",
    description="A model scores each row against your rubric, criterion by criterion, with "
    "its reasons; the score is the mean, and rows reaching the threshold pass.",
    settings_model=LlmJudgeSettings,
    fields=(
        COLUMN,
        CREDENTIAL,
        MODEL,
        TEMPERATURE,
        PROMPT,
        SYSTEM_PROMPT,
        CRITERIA,
        PASS_THRESHOLD,
        MAX_REASKS,
    ),
    to_settings=to_settings,
    to_initial=to_initial,
    score_with_calls=score_with_calls,
    chunk_rows=25,
)
