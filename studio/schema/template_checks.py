"""Checks made before a template's filter or ``str`` method builds its result: the size an
argument announces (a width, a count, a separator, a replacement, a format spec) is charged to
the render's budget, or refused, before anything is built. ``guarded_filter`` wraps each of the
sandbox's filters with them. Pure: no Django.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable, Iterator, Sized
from string import Formatter
from typing import Any

import re2
from jinja2.exceptions import SecurityError
from jinja2.utils import _PassArg

from .render_budget import MAX_ITEMS_ARGUMENT, MAX_VALUE_CHARS, RenderBudget, current_budget

__all__ = [
    "check_brace_format",
    "check_percent_format",
    "check_string_method",
    "guarded_filter",
]

# --- format specs ----------------------------------------------------------------------------

# RE2: the text is the user's, and with re the overlapping flags and digits backtrack.
_PERCENT_SPEC = re2.compile(r"%(?:\([^)]*\))?[#0\- +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?(.)")
_NUMBER = re2.compile(r"\d+")


def check_percent_format(text: str, budget: RenderBudget) -> None:
    """Widths and precisions in ``'%10s' % x``: each is text that will be built."""
    for width, precision, _ in _PERCENT_SPEC.findall(text):
        for number in (width, precision):
            if number == "*":
                raise SecurityError("'*' widths are not allowed in % formatting")
            if number:
                budget.check_length(_digits(number), "a formatted value")


def check_brace_format(text: str, budget: RenderBudget) -> None:
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
    check_percent_format(str(value), budget)
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


def check_string_method(
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
    """``func`` (the filter ``name``) charging the render's budget: its arguments and result
    measured, and the filter's own pre-check, if it has one, made before it runs."""
    check = _FILTER_CHECKS.get(name)
    offset = 0 if _PassArg.from_obj(func) is None else 1  # context/environment comes first

    @functools.wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        budget = current_budget()
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
