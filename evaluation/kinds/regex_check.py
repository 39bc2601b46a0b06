"""A column must (or must not) contain a match of a regular expression (RE2)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from django import forms
from pydantic import Field, field_validator

from evaluation.metrics.patterns import MAX_PATTERN_CHARS, PatternError, compile_pattern, shown
from studio.kinds.base import KindField

from .base import COLUMN, EvaluationKind, KindSettings, RowInput, ScoreResult, as_text


class RegexCheckSettings(KindSettings):
    pattern: str = Field(min_length=1)
    expect: Literal["match", "no_match"] = "match"
    ignore_case: bool = False

    @field_validator("pattern")
    @classmethod
    def _compiles(cls, pattern: str) -> str:
        try:
            compile_pattern(pattern)
        except PatternError as exc:
            raise ValueError(f"the pattern {exc}") from None
        return pattern


def score(settings: RegexCheckSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    program = compile_pattern(settings.pattern, ignore_case=settings.ignore_case)
    wanted = settings.expect == "match"
    results = []
    for row in rows:
        match = program.search(as_text(row.values.get(settings.column)))
        fine = (match is not None) == wanted
        if match is None:
            detail = {"rule": "no match" + ("" if fine else " (one is required)")}
        else:
            found = shown(match.group(0))
            detail = {
                "match": found,
                "rule": f"matched {found!r} at {match.start()}" + ("" if fine else " (forbidden)"),
            }
        results.append(ScoreResult(1.0 if fine else 0.0, fine, detail))
    return results


PATTERN = KindField(
    "pattern",
    forms.CharField(
        max_length=MAX_PATTERN_CHARS,
        help_text="A regular expression in RE2 syntax (no backreferences or lookaround), "
        "searched anywhere in the column: anchor it with ^ and $ for the whole value",
    ),
)
EXPECT = KindField(
    "expect",
    forms.ChoiceField(
        choices=[("match", "Must match"), ("no_match", "Must not match")], label="Rows pass if"
    ),
    new_value="match",
)
IGNORE_CASE = KindField("ignore_case", forms.BooleanField(required=False, label="Ignore case"))


def to_settings(data: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "column": data.get("column"),
        "pattern": data.get("pattern") or "",
        "expect": data.get("expect") or "match",
        "ignore_case": bool(data.get("ignore_case")),
    }


KIND = EvaluationKind(
    name="regex_check",
    label="Regex must / must not match",
    group="Reference-free checks",
    description="1 when the column contains a match of the pattern (or, for must not match, "
    "none); the detail shows what matched.",
    settings_model=RegexCheckSettings,
    fields=(COLUMN, PATTERN, EXPECT, IGNORE_CASE),
    to_settings=to_settings,
    score=score,
    scale=(0.0, 1.0),
)
