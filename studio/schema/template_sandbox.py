"""The Jinja sandbox user templates render in, with a bound on each render's work and size.

Jinja's own sandbox stops escapes to Python internals, not exhaustion: ``range`` loops nest,
``center``, ``format``, ``indent``, ``~`` and list methods build strings and lists of any size,
and macros recurse. Templates render in workers next to other users' runs, so here every render
gets a ``RenderBudget``:

- *steps*: every loop iteration, call, filter, operator, attribute read and output costs at least
  one, and building or measuring large values costs one per ``CHARS_PER_STEP`` characters. The
  count is deterministic (tests use it instead of clocks) and a render stops with a clear message
  when it runs out. ``MAX_RENDER_STEPS`` is a fraction of a second of CPU;
- *size*: no value a template builds (string, list, the text of an output) may exceed
  ``MAX_VALUE_CHARS``, checked *before* building wherever an argument says how large the result
  will be (widths, repeat counts, format specs, replacements, separators), and after otherwise.

Loops and ``~`` are not calls in Jinja's compiled code, so the parsed template is rewritten: each
``for`` iterates through the ``studio_steps`` filter and each ``a ~ b`` becomes ``studio_concat``.

Pure: no Django.
"""

from __future__ import annotations

import collections
import functools
import itertools
from collections.abc import (
    Callable,
    ItemsView,
    Iterator,
    KeysView,
    Mapping,
    Sized,
    ValuesView,
)
from contextvars import ContextVar
from string import Formatter
from typing import Any

import jinja2
import re2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import Namespace, _PassArg, generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

__all__ = [
    "CHARS_PER_STEP",
    "MAX_POWER_BITS",
    "MAX_RENDER_STEPS",
    "MAX_REPEAT_LENGTH",
    "MAX_VALUE_CHARS",
    "RenderBudget",
    "RenderBudgetExceeded",
    "StudioSandbox",
    "budget_for_render",
    "guarded_filter",
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
_CONTAINERS = (list, tuple, set, frozenset, dict, collections.deque, *_DICT_VIEWS)


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
    if isinstance(value, _CONTAINERS) or isinstance(value, Namespace):
        return None
    return 24  # a float, a macro, an undefined: short text


_DEFAULT_BUDGET: ContextVar[RenderBudget | None] = ContextVar("render_budget", default=None)


def _budget() -> RenderBudget:
    budget = _DEFAULT_BUDGET.get()
    if budget is None:  # outside a render (e.g. constant folding at compile time)
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


# --- format specs ----------------------------------------------------------------------------

# RE2: the text is the user's, and with re the overlapping flags and digits backtrack.
_PERCENT_SPEC = re2.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)")
_NUMBER = re2.compile(r"\d+")


def _check_percent_format(text: str, budget: RenderBudget) -> None:
    """Widths and precisions in ``'%10s' % x``: each is text that will be built."""
    for width, precision, _ in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*":
                raise SecurityError("'*' widths are not allowed in % formatting")
            if number:
                budget.check_length(_digits(number), "a formatted value")


def _check_brace_format(text: str, budget: RenderBudget) -> None:
    """Widths and precisions in ``'{:>10}'.format(x)``."""
    for _, _, spec, _ in Formatter().parse(text):
        if not spec:
            continue
        if "{" in spec:
            raise SecurityError("nested fields in a format spec are not allowed")
        for number in _NUMBER.findall(spec):
            budget.check_length(_digits(number), "a formatted value")


def _digits(number: str) -> float:
    return float("inf") if len(number) > 9 else int(number)


# --- filters and calls -----------------------------------------------------------------------


def _materialized(value: object) -> object:
    """A one-shot iterator (from ``map``, ``select``) as a list, so it can be measured; at most
    ``MAX_VALUE_CHARS`` items are taken before refusing."""
    if isinstance(value, Iterator):
        items = list(itertools.islice(value, MAX_VALUE_CHARS + 1))
        if len(items) > MAX_VALUE_CHARS:
            raise SecurityError(f"a sequence would have more than {MAX_VALUE_CHARS:,} items")
        return items
    return value


def _count(text: str, part: str) -> int:
    return len(text) + 1 if part == "" else text.count(part)


def _check_center(
    budget: RenderBudget, value: object, width: object = 80, *_: Any, **__: Any
) -> None:
    if isinstance(width, int):
        budget.check_length(width, "the centred text")


def _check_indent(
    budget: RenderBudget, value: object, width: object = 4, *args: Any, **kwargs: Any
) -> None:
    lines = str(value).count("\n") + 1 if isinstance(value, str) else 1
    per_line = width if isinstance(width, int) else len(str(width))
    budget.check_length(lines * per_line + budget.check_size(value, "the text"), "indented text")


def _check_format(budget: RenderBudget, value: object, *args: Any, **kwargs: Any) -> None:
    _check_percent_format(str(value), budget)
    budget.check_size([value, args, kwargs], "the formatted text")


def _check_join(
    budget: RenderBudget, value: object, separator: object = "", *args: Any, **kwargs: Any
) -> None:
    separator = kwargs.get("d", separator)  # the filter's own name for it
    count = len(value) if isinstance(value, Sized) else 1  # a range or a string's characters
    size = budget.check_size(value, "the joined text")
    budget.check_length(size + count * len(str(separator)), "the joined text")


def _check_replace(
    budget: RenderBudget, value: object, old: object = "", new: object = "", *_: Any, **__: Any
) -> None:
    text = str(value)
    grows = max(0, len(str(new)) - len(str(old)))
    budget.check_length(len(text) + _count(text, str(old)) * grows, "the replaced text")


def _check_wordwrap(budget: RenderBudget, value: object, *args: Any, **kwargs: Any) -> None:
    wrap = kwargs.get("wrapstring") or (args[2] if len(args) > 2 else None) or "\n"
    budget.check_length(len(str(value)) * (1 + len(str(wrap))), "the wrapped text")


def _check_count_argument(
    budget: RenderBudget, value: object, count: object = 1, *_: Any, **kwargs: Any
) -> None:
    count = kwargs.get("linecount", kwargs.get("slices", count))
    if isinstance(count, int) and count > MAX_ITEMS_ARGUMENT:
        raise SecurityError(f"a count of more than {MAX_ITEMS_ARGUMENT:,} is not allowed")


def _check_sum(budget: RenderBudget, value: object, *args: Any, **kwargs: Any) -> None:
    start = kwargs.get("start", args[1] if len(args) > 1 else 0)
    if not isinstance(start, int | float):
        # Adding lists or strings one by one copies the total each time: quadratic.
        raise SecurityError("sum adds numbers only; use join for text")


_FILTER_CHECKS: dict[str, Callable[..., None]] = {
    "center": _check_center,
    "indent": _check_indent,
    "format": _check_format,
    "join": _check_join,
    "replace": _check_replace,
    "wordwrap": _check_wordwrap,
    "batch": _check_count_argument,
    "slice": _check_count_argument,
    "sum": _check_sum,
}

_WIDTH_METHODS = frozenset({"center", "ljust", "rjust", "zfill"})


def _check_string_method(
    budget: RenderBudget, text: str, name: str, args: tuple[object, ...]
) -> None:
    """Pre-checks for ``str`` methods that build more than they are given."""
    if name in _WIDTH_METHODS and args and isinstance(args[0], int):
        budget.check_length(args[0], f"str.{name}")
    elif name == "expandtabs":
        size = args[0] if args and isinstance(args[0], int) else 8
        budget.check_length(len(text) + text.count("\t") * size, "str.expandtabs")
    elif name == "replace" and len(args) >= 2:
        _check_replace(budget, text, args[0], args[1])
    elif name == "join" and args:
        _check_join(budget, args[0], text)
    elif name in ("translate", "maketrans", "encode"):
        # A translation table multiplies the text; bytes would escape the checks on strings.
        raise SecurityError(f"str.{name} is not allowed in templates")


def guarded_filter(name: str, func: Callable[..., Any]) -> Callable[..., Any]:
    check = _FILTER_CHECKS.get(name)
    offset = 0 if _PassArg.from_obj(func) is None else 1  # context/environment comes first

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.charge()
        if len(args) > offset:
            value = _materialized(args[offset])
            args = (*args[:offset], value, *args[offset + 1 :])
            # Measured before the checks below turn any argument into text.
            given = args[offset:] if not kwargs else [args[offset:], kwargs]
            budget.check_size(given, f"the value given to the '{name}' filter")
            if check is not None:
                check(budget, *args[offset:], **kwargs)
        result = func(*args, **kwargs)
        budget.check_size(result, f"the '{name}' filter's result")
        return result

    return guarded


def _concat(values: list[Any]) -> str:
    budget = _budget()
    budget.charge()
    budget.check_length(sum(budget.check_size(v, "a joined value") for v in values), "'~'")
    return "".join(map(str, values))


def _steps(iterable: Any) -> Iterator[Any]:
    budget = _budget()
    for item in iterable:
        budget.charge()
        yield item


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    _budget().charge()
    if n > 100 or max > 1000:
        raise SecurityError("lipsum is limited to 100 paragraphs of 1 000 words")
    return generate_lorem_ipsum(n=n, html=html, min=min, max=max)


class _BudgetRewriter(NodeTransformer):
    """Each ``for`` iterates through ``studio_steps``; each ``~`` is ``studio_concat``."""

    def visit_For(self, node: nodes.For) -> nodes.Node:
        self.generic_visit(node)
        node.iter = nodes.Filter(node.iter, "studio_steps", [], [], None, None, lineno=node.lineno)
        return node

    def visit_Concat(self, node: nodes.Concat) -> nodes.Node:
        self.generic_visit(node)
        items = nodes.List(node.nodes, lineno=node.lineno)
        return nodes.Filter(items, "studio_concat", [], [], None, None, lineno=node.lineno)


class StudioSandbox(SandboxedEnvironment):
    """Jinja's sandbox plus the budget of the current render (see the module's docstring).

    Intercepting the operators also stops Jinja from constant-folding them at compile time,
    so the limits apply to literals as well.
    """

    intercepted_binops = frozenset({"*", "**", "+", "%"})

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(finalize=self._finalize, **kwargs)
        self.filters = {name: guarded_filter(name, f) for name, f in self.filters.items()}
        self.filters["studio_steps"] = _steps
        self.filters["studio_concat"] = _concat
        self.globals["lipsum"] = _lipsum

    def _parse(self, source: str, name: str | None, filename: str | None) -> nodes.Template:
        tree: nodes.Template = _BudgetRewriter().visit(super()._parse(source, name, filename))
        tree.set_environment(self)
        return tree

    @staticmethod
    def _finalize(value: Any) -> Any:
        budget = _budget()
        budget.charge()
        budget.check_size(value, "an output")
        return value

    def getattr(self, obj: Any, attribute: str) -> Any:
        _budget().charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        _budget().charge()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text = value.__self__

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            budget = _budget()
            _check_brace_format(text, budget)
            budget.check_size([text, args, kwargs], "the formatted text")
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = _budget()
        budget.charge()
        budget.check_size(args if not kwargs else [args, kwargs], "a call's arguments")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            _check_string_method(budget, owner, getattr(__obj, "__name__", ""), args)
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (_steps(args[0]), *args[1:])
        result = super().call(__context, __obj, *args, **kwargs)
        budget.check_size(result, "a call's result")
        if isinstance(owner, _CONTAINERS):  # list.extend(list) doubles it
            budget.check_size(owner, "a list or dict")
        return result

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = _budget()
        budget.charge()
        if operator == "**":
            # Float overflow raises by itself; integer powers grow without bound.
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if abs(left) > 1 and left.bit_length() * right > MAX_POWER_BITS:
                    raise SecurityError(f"the power would have more than {MAX_POWER_BITS} bits")
        elif operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > MAX_REPEAT_LENGTH:
                        raise SecurityError(
                            f"repeating a sequence would make more than {MAX_REPEAT_LENGTH} items"
                        )
                    budget.check_length(len(seq) * times, "a repeated sequence")
            if isinstance(left, int) and isinstance(right, int):
                if left.bit_length() + right.bit_length() > MAX_POWER_BITS:
                    raise SecurityError(f"the product would have more than {MAX_POWER_BITS} bits")
        elif operator == "+":
            if isinstance(left, str | list | tuple) and isinstance(right, str | list | tuple):
                budget.check_length(len(left) + len(right), "the sum")
        elif operator == "%" and isinstance(left, str):
            _check_percent_format(left, budget)
            budget.check_size([left, right], "the formatted text")
        return super().call_binop(context, operator, left, right)


ENV_OPTIONS: dict[str, Any] = {
    # Prompts are plain text sent to a model, never HTML, so autoescaping would only corrupt
    # them; trailing newlines are kept because they can matter to a model.
    "undefined": jinja2.StrictUndefined,
    "autoescape": False,
    "keep_trailing_newline": True,
}
