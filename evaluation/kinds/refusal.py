"""Empty answers and refusals ("As an AI…", "I can't help with that"), with extra phrases."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from django import forms
from pydantic import Field, field_validator

from evaluation.metrics.refusal import EMPTY, find_refusal, phrase_problems
from studio.kinds.base import KindField, ParsedTextField, lines

from .base import COLUMN, EvaluationKind, KindSettings, RowInput, ScoreResult, as_text


class RefusalSettings(KindSettings):
    extra_phrases: list[str] = Field(default_factory=list)

    @field_validator("extra_phrases")
    @classmethod
    def _usable(cls, phrases: list[str]) -> list[str]:
        problems = phrase_problems(phrases)
        if problems:
            raise ValueError("; ".join(problems))
        return phrases


def score(settings: RefusalSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    extra = tuple(settings.extra_phrases)
    results = []
    for row in rows:
        finding = find_refusal(as_text(row.values.get(settings.column)), extra)
        if finding is None:
            results.append(ScoreResult(1.0, True))
        elif finding.reason == EMPTY:
            results.append(ScoreResult(0.0, False, {"reason": EMPTY, "rule": "empty answer"}))
        else:
            detail = {
                "reason": finding.reason,
                "phrase": finding.phrase,
                "rule": f"refusal: matched “{finding.phrase}”",
            }
            results.append(ScoreResult(0.0, False, detail))
    return results


PHRASES = KindField(
    "extra_phrases",
    ParsedTextField(
        lines,
        widget=forms.Textarea(attrs={"rows": 4}),
        label="More refusal phrases",
        help_text="One a line, matched as words, ignoring case (besides the built-in ones: "
        "“As an AI”, “I can't help with that”, …)",
    ),
    full=True,
)


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {"column": data.get("column"), "extra_phrases": data.get("extra_phrases") or []}


def to_initial(settings: Mapping[str, Any]) -> dict[str, Any]:
    return {"extra_phrases": "\n".join(settings.get("extra_phrases") or [])}


KIND = EvaluationKind(
    name="refusal",
    label="Empty or refusal",
    group="Reference-free checks",
    description="1 for a real answer, 0 for an empty one or a refusal (“As an AI…”, “I can't "
    "help with that”, and your phrases); the detail says which phrase matched.",
    settings_model=RefusalSettings,
    fields=(COLUMN, PHRASES),
    to_settings=to_settings,
    to_initial=to_initial,
    score=score,
    scale=(0.0, 1.0),
)
