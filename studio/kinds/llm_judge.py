"""LLM judge: a model scores other columns against a rubric."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import re2
from django import forms

from studio.schema import LlmJudgeColumn

from .base import ColumnKind, KindField, ParsedTextField, lines
from .llm import HEAD, MAX_REASKS, TAIL, llm_initial, llm_spec, max_reasks

# RE2: with re this pattern backtracks cubically (4 000 spaces in a line took 22 s).
_CRITERION = re2.compile(
    r"^([^(:]+?)\s*(?:\((?:(\d+)\s*-\s*(\d+)|((?i)pass\s*/\s*fail))\))?\s*:\s*(.+)$"
)
MSG_CRITERION_LINE = (
    "Line {number}: write 'name (1-5): what a good answer does'. "
    "For a yes/no criterion write '(pass/fail)': it scores 0 or 1."
)


def parse_criteria(raw: str) -> list[dict[str, Any]]:
    """``accuracy (1-5): the answer is correct`` per line → the spec's criteria;
    ``(pass/fail)`` is the scale 0 to 1, and no scale means 1 to 5."""
    criteria = []
    for number, line in enumerate(lines(raw), 1):
        match = _CRITERION.match(line)
        if match is None:
            raise ValueError(MSG_CRITERION_LINE.replace("{number}", str(number)))
        name, low, high, pass_fail, description = match.groups()
        if pass_fail:
            low, high = "0", "1"
        criteria.append(
            {
                "name": name.strip(),
                "description": description.strip(),
                "min_score": int(low) if low else 1,
                "max_score": int(high) if high else 5,
            }
        )
    return criteria


CRITERIA = KindField(
    "criteria",
    ParsedTextField(
        parse_criteria,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text="One per line: 'accuracy (1-5): the answer is correct' or "
        "'cites_source (pass/fail): it names its source'",
    ),
    full=True,
)
PASS_THRESHOLD = KindField(
    "pass_threshold",
    forms.FloatField(required=False, initial=3.5, label="Pass at mean score"),
    new_value="3.5",
)


def to_spec(data: Mapping[str, Any]) -> dict[str, Any]:
    spec = llm_spec(data, 0.0)
    threshold = data.get("pass_threshold")
    spec.update(
        criteria=data["criteria"],
        pass_threshold=threshold if threshold is not None else 3.5,
        max_reasks=max_reasks(data),
    )
    return spec


def criteria_text(criteria: list[Mapping[str, Any]]) -> str:
    """The inverse of ``parse_criteria``: the rubric as the lines the field shows."""

    def scale(c: Mapping[str, Any]) -> str:
        low, high = c.get("min_score", 1), c.get("max_score", 5)
        return "pass/fail" if (low, high) == (0, 1) else f"{low}-{high}"

    return "\n".join(f"{c['name']} ({scale(c)}): {c['description']}" for c in criteria)


def to_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    return {**llm_initial(column), "criteria": criteria_text(column.get("criteria", []))}


KIND = ColumnKind(
    name="llm_judge",
    label="LLM judge (rubric)",
    group="Language model",
    spec_model=LlmJudgeColumn,
    fields=(*HEAD, CRITERIA, PASS_THRESHOLD, MAX_REASKS, *TAIL),
    to_spec=to_spec,
    to_initial=to_initial,
    new_values={"temperature": "0"},  # judging should be as repeatable as the model allows
)
