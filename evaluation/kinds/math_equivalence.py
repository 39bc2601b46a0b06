"""Whether a column's answer is mathematically the reference (math-verify): ``1/2``, ``0.5``
and ``\\frac{1}{2}`` are the same answer, a worked solution's ``\\boxed{}`` answer is found.
The comparisons run in a child process with a deadline per row (metrics/math_process.py)."""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import model_validator

from evaluation.metrics.math_process import (
    MAX_REFERENCE_CHARS,
    ROW_DEADLINE_SECONDS,
    MathComparison,
    math_checker,
)

from .base import (
    COLUMN,
    REFERENCE_COLUMN,
    REFERENCE_VALUE,
    EvaluationKind,
    ReferenceSettings,
    RowInput,
    ScoreResult,
    as_text,
    reference_to_settings,
)


class MathEquivalenceSettings(ReferenceSettings):
    @model_validator(mode="after")
    def _short_reference(self) -> MathEquivalenceSettings:
        if self.reference_value is not None and len(self.reference_value) > MAX_REFERENCE_CHARS:
            raise ValueError(
                f"reference_value: a maths answer of at most {MAX_REFERENCE_CHARS} characters "
                f"({len(self.reference_value):,} given)"
            )
        return self


def _result(comparison: MathComparison) -> ScoreResult:
    if comparison.equal is None:
        return ScoreResult(None, None, error=f"Not compared: {comparison.problem}")
    if comparison.problem:
        rule = f"{comparison.problem} (the reference reads {comparison.reference})"
    else:
        sign = "=" if comparison.equal else "≠"
        rule = f"{comparison.answer} {sign} {comparison.reference}"
    detail = {"answer": comparison.answer, "reference": comparison.reference, "rule": rule}
    return ScoreResult(1.0 if comparison.equal else 0.0, comparison.equal, detail)


def score(settings: MathEquivalenceSettings, rows: Sequence[RowInput]) -> list[ScoreResult]:
    with math_checker() as checker:
        return [
            _result(
                checker.compare(
                    as_text(row.values.get(settings.column)), settings.reference(row.values)
                )
            )
            for row in rows
        ]


KIND = EvaluationKind(
    name="math_equivalence",
    label="Maths answer equivalence",
    group="Reference metrics",
    description="1 when the answer is mathematically the reference (math-verify): 1/2, 0.5 "
    "and \\frac{1}{2} match, a \\boxed{} answer is found in a worked solution. Write "
    f"expressions in LaTeX; a row taking over {ROW_DEADLINE_SECONDS:g} s to compare is left "
    "unscored.",
    settings_model=MathEquivalenceSettings,
    fields=(COLUMN, REFERENCE_COLUMN, REFERENCE_VALUE),
    to_settings=reference_to_settings,
    score=score,
    scale=(0.0, 1.0),
    # A chunk of rows that all run to the deadline stays well inside the actor's time limit.
    chunk_rows=200,
)
