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
_CRITERION = re2.compile(r"^([^(:]+?)\s*(?:\((\d+)\s*-\s*(\d+)\))?\s*:\s*(.+)$")


def parse_criteria(raw: str) -> list[dict[str, Any]]:
    """``accuracy (1-5): the answer is correct`` per line → the spec's criteria."""
    criteria = []
    for number, line in enumerate(lines(raw), 1):
        match = _CRITERION.match(line)
        if match is None:
            raise ValueError(f"Line {number}: write 'name (1-5): what a good answer does'.")
        name, low, high, description = match.groups()
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
        help_text="One per line: 'accuracy (1-5): the answer is correct'",
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


def to_initial(column: Mapping[str, Any]) -> dict[str, Any]:
    criteria = column.get("criteria", [])
    text = "\n".join(
        f"{c['name']} ({c.get('min_score', 1)}-{c.get('max_score', 5)}): {c['description']}"
        for c in criteria
    )
    return {**llm_initial(column), "criteria": text}


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
