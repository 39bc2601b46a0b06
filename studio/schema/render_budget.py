"""What one template render may still do: its steps and the size of every value it builds.

- *steps*: every loop iteration, call, filter, operator, attribute read and output costs at least
  one, and building or measuring large values costs one per ``CHARS_PER_STEP`` characters. The
  count is deterministic (tests use it instead of clocks) and a render stops with a clear message
  when it runs out. ``MAX_RENDER_STEPS`` is a fraction of a second of CPU;
- *size*: no value a template builds (string, list, the text of an output) may exceed
  ``MAX_VALUE_CHARS``, checked *before* building wherever an argument says how large the result
  will be (widths, repeat counts, format specs, replacements, separators), and after otherwise.

The sandbox (``template_sandbox``) charges the budget of the current render, set by
``budget_for_render``. Pure: no Django.
"""

from __future__ import annotations

import collections
import itertools
from collections.abc import ItemsView, KeysView, Mapping, ValuesView
from contextvars import ContextVar

from jinja2.exceptions import SecurityError
from jinja2.utils import Namespace

__all__ = [
    "CHARS_PER_STEP",
    "CONTAINERS",
    "MAX_ITEMS_ARGUMENT",
    "MAX_POWER_BITS",
    "MAX_RENDER_STEPS",
    "MAX_REPEAT_LENGTH",
    "MAX_VALUE_CHARS",
    "RenderBudget",
    "RenderBudgetExceeded",
    "budget_for_render",
    "current_budget",
]

MAX_VALUE_CHARS = 1_000_000  # any string or list a template builds, or the text of one output
MAX_REPEAT_LENGTH = MAX_VALUE_CHARS  # ``'x' * n`` and ``[x] * n`` (the name older code imports)
MAX_POWER_BITS = 100_000  # ``a ** b`` and ``a * b`` on integers
# At worst (a macro calling itself, the most expensive step) about half a second of CPU;
# an ordinary prompt takes fewer than 1 000.
MAX_RENDER_STEPS = 100_000
CHARS_PER_STEP = 100  # building or measuring this many characters costs one step
MAX_ITEMS_ARGUMENT = 10_000  # batch/slice counts, lipsum paragraphs: what a prompt could want

_DICT_VIEWS = (KeysView, ValuesView, ItemsView)
CONTAINERS = (list, tuple, set, frozenset, dict, collections.deque, *_DICT_VIEWS)


class RenderBudgetExceeded(SecurityError):
    """The render used up its steps."""


class RenderBudget:
    """What one render may still do. ``charge`` and ``check_size`` raise when it is spent."""

    def __init__(self, steps: int = MAX_RENDER_STEPS) -> None:
        self.steps = steps
        self.left = steps

    def charge(self, steps: int = 1) -> None:
        self.left -= steps
        if self.left < 0:
            raise RenderBudgetExceeded(
                f"the template does more than {self.steps:,} steps of work (loops, calls and "
                "filters, and building large text); simplify it"
            )

    def check_size(self, value: object, what: str) -> int:
        """``value``'s size as text (about ``len(str(value))``), charged; SecurityError above
        ``MAX_VALUE_CHARS``. Shared references are counted each time, as ``str`` writes them."""
        size = len(value) if type(value) is str else self._size(value)  # the common case
        if size > MAX_VALUE_CHARS:
            raise SecurityError(f"{what} would be longer than {MAX_VALUE_CHARS:,} characters")
        self.charge(size // CHARS_PER_STEP)
        return size

    def check_length(self, length: float, what: str) -> None:
        """Refuse before building something of ``length`` characters or items."""
        if length > MAX_VALUE_CHARS:
            raise SecurityError(f"{what} would be longer than {MAX_VALUE_CHARS:,} characters")
        self.charge(int(length) // CHARS_PER_STEP)

    def _size(self, value: object) -> int:
        single = _scalar_size(value)
        if single is not None:
            return single
        total, stack, visited = 0, [value], 0
        while stack and total <= MAX_VALUE_CHARS:
            item = stack.pop()
            visited += 1
            if visited % CHARS_PER_STEP == 0:
                self.charge()
            single = _scalar_size(item)
            if single is not None:
                total += single + 2  # a separator
                continue
            if isinstance(item, Namespace):
                item = item._Namespace__attrs
            if isinstance(item, Mapping):
                item = item.items()
            room = (MAX_VALUE_CHARS - total) // 2 + 1  # each element adds at least two
            stack.extend(itertools.islice(item, room))  # type: ignore[call-overload]
            total += 2
        return total


def _scalar_size(value: object) -> int | None:
    """Size of a value that is not a container, None for a container."""
    if isinstance(value, str):
        return len(value)
    if isinstance(value, bool) or value is None:
        return 5
    if isinstance(value, int):
        return value.bit_length() * 3 // 10 + 1  # its decimal digits
    if isinstance(value, CONTAINERS) or isinstance(value, Namespace):
        return None
    return 24  # a float, a macro, an undefined: short text


_DEFAULT_BUDGET: ContextVar[RenderBudget | None] = ContextVar("render_budget", default=None)


def current_budget() -> RenderBudget:
    """The budget of the render under way (a fresh one outside a render, e.g. constant folding
    at compile time)."""
    budget = _DEFAULT_BUDGET.get()
    if budget is None:
        budget = RenderBudget()
    return budget


class budget_for_render:
    """``with budget_for_render(steps) as budget:`` — the budget the sandbox charges inside."""

    def __init__(self, steps: int = MAX_RENDER_STEPS) -> None:
        self.budget = RenderBudget(steps)

    def __enter__(self) -> RenderBudget:
        self._token = _DEFAULT_BUDGET.set(self.budget)
        return self.budget

    def __exit__(self, *exc: object) -> None:
        _DEFAULT_BUDGET.reset(self._token)
