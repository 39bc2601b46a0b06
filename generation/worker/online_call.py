"""One ledger miss sent to its provider: a call slot, the run's status and budget, the rate
limiter, the retry policy and the SDK. ``CallContext.call_provider`` prices the call, sends it
here and records the answer in the ledger."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from generation.engine import LlmFailure
from generation.providers import Completion, Provider, ProviderError, on_answer
from generation.ratelimit import limited_call
from generation.retry import call_with_retries
from generation.worker.call_price import CallPrice
from generation.worker.call_slots import CallLease
from generation.worker.ledger import budget_allows

if TYPE_CHECKING:
    from generation.worker.llm_calls import CallContext
    from studio.models import ProviderCredential


class MissToSend(Protocol):
    """A call the ledger could not answer, as ``OnlineCall`` sends it: a completion's
    ``LedgerMiss`` (llm_calls.py) or an embeddings request's (embedding_calls.py)."""

    @property
    def credential(self) -> ProviderCredential: ...

    @property
    def reask(self) -> int: ...

    @property
    def row_index(self) -> int: ...

    @property
    def model(self) -> str: ...

    def worst_cost(self, price: CallPrice, tokens: int) -> Decimal: ...

    async def send(self, provider: Provider) -> Completion: ...


class RunStopped(Exception):
    """The run was paused or cancelled while the row waited: the row stays pending."""


class BudgetReached(Exception):
    """The next call could take the run past its budget. Not a row failure: the row stays
    pending and the run can go on once the budget is raised."""


@dataclass
class OnlineCall:
    """The attempts of one call (``send``), and what the call holds until its ledger entry is
    committed: the budget hold of its worst cost (``hold_id``, taken once per call, given back
    by ``settle`` when nothing is recorded) and its unrecorded place (``CallSlots``, given back
    by ``recorded``)."""

    context: CallContext
    miss: MissToSend
    provider: Provider
    price: CallPrice
    tokens: int  # the request's estimate: for the rate limiter and the worst cost
    hold_id: int | None = field(default=None, init=False)
    _held: bool = field(default=False, init=False)
    _lease: CallLease | None = field(default=None, init=False)

    async def send(self) -> Completion:
        """The answer, through the retry policy. On failure nothing was paid: the budget hold
        is settled, and a provider's error fails the column (``LlmFailure``)."""
        try:
            completion = await call_with_retries(
                self._attempt, max_attempts=self.context.max_attempts
            )
        except BaseException as exc:
            self.settle()
            if isinstance(exc, ProviderError):
                raise LlmFailure(str(exc), attempts=self.miss.reask + 1) from exc
            raise
        if self._lease is not None:
            self._lease.answered()  # given back on arrival already, unless the provider has no hook
        return completion

    def recorded(self) -> None:
        """The call's ledger entry is committed: its unrecorded place goes to the next call."""
        if self._lease is not None:
            self._lease.recorded()

    def settle(self) -> None:
        """No cost will be recorded with the hold: it goes in the chunk's next flush."""
        if self.context.store is not None:
            self.context.store.settle(self.hold_id)

    def worst_cost(self) -> Decimal:
        return self.miss.worst_cost(self.price, self.tokens)

    async def _attempt(self) -> Completion:
        # A slot first (calls in flight are bounded, rows waiting for one are ready to send),
        # then the run's status and budget as they are now, then the limiter. The slot goes to
        # the next call as soon as the answer arrives (the provider's response hook); the
        # call's unrecorded place is held until its ledger entry is committed (``recorded``).
        context, miss = self.context, self.miss
        self._lease = lease = None
        if context.call_slots is not None:
            lease = self._lease = await context.call_slots.lease(
                (context.slot_order, miss.row_index)
            )
        try:
            # Every attempt looks at the run's status; the budget is held once per call.
            taken = await self._may_call()
            self._held, self.hold_id = True, self.hold_id if taken is None else taken
            with on_answer(lease.answered if lease is not None else None):
                return await limited_call(
                    context.limiter,
                    f"{miss.credential.pk}:{miss.model}",
                    lambda: miss.send(self.provider),
                    rpm=miss.credential.requests_per_minute,
                    tpm=miss.credential.tokens_per_minute,
                    tokens=self.tokens,
                )
        except BaseException:
            if lease is not None:
                lease.release()
            raise

    async def _may_call(self) -> int | None:
        """Raise when the run must not make this call: paused or cancelled meanwhile (seen
        through the chunk's store), or its budget would not cover the call's worst cost
        (priced only when the run has a budget). Returns the budget hold taken for the call in
        a chunk (None: no budget, or held already, on a retry)."""
        context = self.context
        if context.run_id is None:
            return None
        if context.store is not None and not (await context.store.state()).running:
            raise RunStopped()
        if not context.check_budget or self._held:
            return None
        if context.store is None:
            if not await context.db.run(budget_allows, context.run_id, self.worst_cost()):
                raise BudgetReached()
            return None
        if (await context.store.state()).budget_usd is None:
            return None
        # Every call in flight, of every worker, holds the worst it can cost in the database
        # until its cost is spent: together they cannot pass the budget (budget_holds).
        answer = await context.store.hold(self.worst_cost())
        if not answer.running:
            raise RunStopped()
        if not answer.granted:
            raise BudgetReached()
        return answer.hold_id
