"""Fill one row of a schema: columns in dependency order, the columns of one level concurrently.

Pure: no Django. The caller passes ``call_llm``, which owns the ledger, the rate limiter and the
retries, so the same engine serves previews, runs and tests.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from decimal import Decimal

from generation.kinds import filler_for
from generation.seeds.data import SeedData, SeedDataMissing
from studio.schema import SchemaSpec
from studio.schema.llm_kinds import LlmColumn
from studio.schema.samplers import rng_for
from studio.schema.templating import TemplateBudgetExceeded, TemplateProblem, render_template

MSG_ENDLESS = "Cannot fill column '{column}': its value nests without end"
MSG_SKIPPED = "Skipped: it depends on '{column}', which failed"
# Steps a template may take in the event loop (a few milliseconds at worst); ordinary prompts
# take a few hundred. A template needing more is rendered again in a thread (see render_off_loop).
INLINE_RENDER_STEPS = 2_000


async def render_off_loop(template: str, values: dict[str, object]) -> str:
    """Render ``template`` without holding the event loop that every chunk of this process
    shares: first inline with a small budget, and when that is not enough again in a thread
    with the full budget (``MAX_RENDER_STEPS``, well under a second). The thread still shares
    the GIL, but the loop gets it back every switch interval, so other runs go on meanwhile."""
    try:
        return render_template(template, values, steps=INLINE_RENDER_STEPS)
    except TemplateBudgetExceeded:
        snapshot = dict(values)  # the row's other columns may fill in while the thread runs
        return await asyncio.to_thread(render_template, template, snapshot)


@dataclass
class LlmAnswer:
    text: str
    # The validated JSON of a structured or judge column (the judge's interpreted verdict).
    parsed: object | None = None
    attempts: int = 1
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_ms: int = 0
    from_ledger: bool = False


@dataclass
class LlmAsk:
    """What one LLM column asks for one row, after rendering its templates."""

    column: LlmColumn
    row_index: int
    system: str
    prompt: str


CallLlm = Callable[[LlmAsk], Awaitable[LlmAnswer]]


class LlmFailure(Exception):
    """Raised by ``call_llm`` when a call failed for good; the message is shown on the row.
    ``raw_text`` keeps the last answer when it was received but unusable (invalid JSON)."""

    def __init__(self, message: str, *, raw_text: str | None = None, attempts: int = 0) -> None:
        super().__init__(message)
        self.raw_text = raw_text
        self.attempts = attempts


@dataclass
class RowOutcome:
    values: dict[str, object] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, str] = field(default_factory=dict)
    # Per LLM column: the raw answer, attempts (re-asks included), cost, whether from the ledger.
    calls: dict[str, dict[str, object]] = field(default_factory=dict)
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: Decimal = Decimal(0)
    latency_ms: int = 0

    @property
    def failed(self) -> bool:
        return bool(self.errors)


async def fill_row(
    spec: SchemaSpec,
    *,
    seed: int | str,
    row_index: int,
    call_llm: CallLlm,
    seeds: SeedData | None = None,
) -> RowOutcome:
    outcome = RowOutcome()
    failed: set[str] = set()
    seeds = seeds or SeedData()
    for level in spec.levels():
        tasks = []
        for name in level:
            column = spec.column(name)
            broken = sorted(spec.depends_on(name) & failed)
            if broken:
                outcome.errors[name] = MSG_SKIPPED.replace("{column}", broken[0])
                failed.add(name)
                continue
            tasks.append(_fill_column(column, seed, row_index, outcome, call_llm, seeds))
        results = await asyncio.gather(*tasks, return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
            name, error = result
            if error is not None:
                outcome.errors[name] = error
                failed.add(name)
    return outcome


@dataclass
class FillContext:
    """What a kind's filler (``generation.kinds``) gets for one row: the row's values so far, its
    seed data, and the engine's ways to render a template and to ask a model."""

    seed: int | str
    row_index: int
    outcome: RowOutcome
    call_llm: CallLlm
    seeds: SeedData

    def rng(self, name: str) -> random.Random:
        return rng_for(self.seed, self.row_index, name)

    async def render(self, template: str) -> str:
        return await render_off_loop(template, self.outcome.values)

    async def ask(self, column: LlmColumn, system: str, prompt: str) -> LlmAnswer:
        """Call the model and account for the call on the row (its failures too)."""
        name, outcome = column.name, self.outcome
        try:
            answer = await self.call_llm(LlmAsk(column, self.row_index, system, prompt))
        except LlmFailure as exc:
            outcome.calls[name] = {"raw": exc.raw_text, "attempts": exc.attempts}
            raise
        outcome.calls[name] = {
            "raw": answer.text,
            "attempts": answer.attempts,
            "cost_usd": str(answer.cost_usd),
            "from_ledger": answer.from_ledger,
        }
        outcome.input_tokens += answer.input_tokens
        outcome.output_tokens += answer.output_tokens
        outcome.cost_usd += answer.cost_usd
        outcome.latency_ms += answer.latency_ms
        return answer


async def _fill_column(
    column: object,
    seed: int | str,
    row_index: int,
    outcome: RowOutcome,
    call_llm: CallLlm,
    seeds: SeedData,
) -> tuple[str, str | None]:
    name: str = column.name  # type: ignore[attr-defined]
    fill = filler_for(column)
    try:
        await fill(column, FillContext(seed, row_index, outcome, call_llm, seeds))
    except (TemplateProblem, LlmFailure, SeedDataMissing) as exc:
        return name, str(exc)
    except ValueError as exc:  # e.g. a chunk overlap that would repeat the text too often
        return name, f"Cannot fill column '{name}': {exc}"
    except RecursionError:
        # A value nested without end (a recursive JSON schema saved before they were refused):
        # the same on every try, so the row fails rather than the chunk being retried forever.
        return name, MSG_ENDLESS.replace("{column}", name)
    return name, None
