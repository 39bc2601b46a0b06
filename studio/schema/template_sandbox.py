"""The Jinja sandbox user templates render in, with a bound on each render's work and size.

Jinja's own sandbox stops escapes to Python internals, not exhaustion: ``range`` loops nest,
``center``, ``format``, ``indent``, ``~`` and list methods build strings and lists of any size,
and macros recurse. Templates render in workers next to other users' runs, so here every render
is charged to a ``RenderBudget`` of steps and value sizes (``render_budget``), with the sizes an
argument announces checked before building (``template_checks``).

Loops and ``~`` are not calls in Jinja's compiled code, so the parsed template is rewritten: each
``for`` iterates through the ``studio_steps`` filter and each ``a ~ b`` becomes ``studio_concat``.

Pure: no Django.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from typing import Any

import jinja2
from jinja2 import nodes
from jinja2.exceptions import SecurityError
from jinja2.runtime import Context, LoopContext
from jinja2.sandbox import SandboxedEnvironment
from jinja2.utils import generate_lorem_ipsum
from jinja2.visitor import NodeTransformer

from .render_budget import CONTAINERS, MAX_POWER_BITS, MAX_REPEAT_LENGTH, current_budget
from .template_checks import (
    check_brace_format,
    check_percent_format,
    check_string_method,
    guarded_filter,
)

__all__ = ["ENV_OPTIONS", "StudioSandbox"]


def _concat(values: list[Any]) -> str:
    budget = current_budget()
    budget.charge()
    budget.check_length(sum(budget.check_size(v, "a joined value") for v in values), "'~'")
    return "".join(map(str, values))


def _steps(iterable: Any) -> Iterator[Any]:
    budget = current_budget()
    for item in iterable:
        budget.charge()
        yield item


def _lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
    current_budget().charge()
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
        budget = current_budget()
        budget.charge()
        budget.check_size(value, "an output")
        return value

    def getattr(self, obj: Any, attribute: str) -> Any:
        current_budget().charge()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        current_budget().charge()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Callable[..., str] | None:
        wrapped = super().wrap_str_format(value)
        if wrapped is None:
            return None
        text = value.__self__

        @functools.wraps(wrapped)
        def checked(*args: Any, **kwargs: Any) -> str:
            budget = current_budget()
            check_brace_format(text, budget)
            budget.check_size([text, args, kwargs], "the formatted text")
            return wrapped(*args, **kwargs)

        return checked

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
        budget.charge()
        budget.check_size(args if not kwargs else [args, kwargs], "a call's arguments")
        owner = getattr(__obj, "__self__", None)
        if isinstance(owner, str):
            check_string_method(budget, owner, getattr(__obj, "__name__", ""), args)
        if isinstance(__obj, LoopContext) and args:  # a recursive loop's next level
            args = (_steps(args[0]), *args[1:])
        result = super().call(__context, __obj, *args, **kwargs)
        budget.check_size(result, "a call's result")
        if isinstance(owner, CONTAINERS):  # list.extend(list) doubles it
            budget.check_size(owner, "a list or dict")
        return result

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = current_budget()
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
            check_percent_format(left, budget)
            budget.check_size([left, right], "the formatted text")
        return super().call_binop(context, operator, left, right)


ENV_OPTIONS: dict[str, Any] = {
    # Prompts are plain text sent to a model, never HTML, so autoescaping would only corrupt
    # them; trailing newlines are kept because they can matter to a model.
    "undefined": jinja2.StrictUndefined,
    "autoescape": False,
    "keep_trailing_newline": True,
}
