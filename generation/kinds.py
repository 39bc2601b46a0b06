"""How the engine fills each column kind: kind name → filler. The designer's side of a kind
(spec, form, partial) is in ``studio.kinds``; a test checks that both know the same kinds."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from studio.schema import (
    SAMPLER_KINDS,
    DocumentColumn,
    ExpressionColumn,
    LlmJudgeColumn,
    SeedDataColumn,
    sample_value,
)
from studio.schema.llm_kinds import LlmColumn

if TYPE_CHECKING:
    from generation.engine import FillContext

Filler = Callable[[Any, "FillContext"], Awaitable[None]]


async def fill_sampled(column: Any, ctx: FillContext) -> None:
    rng = ctx.rng(column.name)
    ctx.outcome.values[column.name] = sample_value(column, rng, ctx.outcome.values)


async def fill_seed_row(column: SeedDataColumn, ctx: FillContext) -> None:
    record = ctx.seeds.table_row(column, ctx.seed, ctx.row_index)
    for field in column.fields:  # each field is a variable; the column's name is not
        ctx.outcome.values[field] = record.get(field)


async def fill_document_chunk(column: DocumentColumn, ctx: FillContext) -> None:
    ctx.outcome.values[column.name] = ctx.seeds.chunk(column, ctx.seed, ctx.row_index)


async def fill_expression(column: ExpressionColumn, ctx: FillContext) -> None:
    ctx.outcome.values[column.name] = await ctx.render(column.template)


async def fill_llm(column: LlmColumn, ctx: FillContext, *, suffix: str = "") -> None:
    system = await ctx.render(column.system_prompt)
    prompt = await ctx.render(column.prompt) + suffix
    ctx.outcome.prompts[column.name] = prompt
    answer = await ctx.ask(column, system, prompt)
    ctx.outcome.values[column.name] = answer.parsed if answer.parsed is not None else answer.text


async def fill_llm_judge(column: LlmJudgeColumn, ctx: FillContext) -> None:
    await fill_llm(column, ctx, suffix="\n\n" + column.judge_instructions())  # the rubric


def _kind(model: type) -> str:
    return model.model_fields["kind"].default  # type: ignore[attr-defined]


FILLERS: dict[str, Filler] = {
    **{_kind(model): fill_sampled for model in SAMPLER_KINDS},
    "seed_data": fill_seed_row,
    "document": fill_document_chunk,
    "expression": fill_expression,
    "llm_text": fill_llm,
    "llm_structured": fill_llm,
    "llm_judge": fill_llm_judge,
}


def filler_for(column: Any) -> Filler:
    """The filler of the column's kind; TypeError for a kind nothing fills."""
    filler = FILLERS.get(getattr(column, "kind", ""))
    if filler is None:
        raise TypeError(f"Column kind {type(column).__name__} has no generator")
    return filler
