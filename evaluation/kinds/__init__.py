"""The evaluation kinds, one entry per kind (docs/architecture.md, "Adding an evaluation kind").
The same pattern as column kinds (studio/kinds/): a module holds the kind's settings model, its
form fields and how it scores."""

from __future__ import annotations

from django.core.exceptions import ImproperlyConfigured

from . import (
    bleu,
    chrf,
    coverage,
    diversity,
    duplicates,
    embedding_similarity,
    exact_match,
    json_schema,
    length,
    llm_judge,
    math_equivalence,
    pairwise_judge,
    refusal,
    regex_check,
    rouge,
    similarity,
)
from .base import EvaluationKind, KindSettings, RowInput, ScoreResult

__all__ = ["KINDS", "EvaluationKind", "KindSettings", "RowInput", "ScoreResult", "kind_choices"]


def register(*kinds: EvaluationKind) -> dict[str, EvaluationKind]:
    registry: dict[str, EvaluationKind] = {}
    for kind in kinds:
        if registry.setdefault(kind.name, kind) is not kind:
            raise ImproperlyConfigured(f"Two evaluation kinds are named '{kind.name}'")
    return registry


# In the order of the kind menu.
KINDS: dict[str, EvaluationKind] = register(
    # Reference metrics: from the strictest comparison to the loosest.
    exact_match.KIND,
    math_equivalence.KIND,
    similarity.KIND,
    bleu.KIND,
    chrf.KIND,
    rouge.KIND,
    embedding_similarity.KIND,
    # Reference-free checks.
    length.KIND,
    regex_check.KIND,
    json_schema.KIND,
    refusal.KIND,
    # LLM judges.
    llm_judge.KIND,
    pairwise_judge.KIND,
    # The whole set.
    duplicates.KIND,
    diversity.KIND,
    coverage.KIND,
)


def kind_choices() -> list[tuple[str, list[tuple[str, str]]]]:
    groups: dict[str, list[tuple[str, str]]] = {}
    for kind in KINDS.values():
        groups.setdefault(kind.group, []).append((kind.name, kind.label))
    return list(groups.items())
