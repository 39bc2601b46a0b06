"""Jinja templating for column prompts and expressions.

Templates are written by users and rendered inside background workers, so they
are treated as hostile: they are parsed and statically checked when a schema is
saved (``check_template_safety``), and always rendered in Jinja's sandbox with
``StrictUndefined`` so a typo fails loudly instead of producing an empty prompt.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Mapping
from typing import Any

import jinja2
from jinja2 import meta, nodes
from jinja2.exceptions import SecurityError

from .render_budget import (
    MAX_POWER_BITS,
    MAX_RENDER_STEPS,
    MAX_REPEAT_LENGTH,
    MAX_VALUE_CHARS,
    RenderBudgetExceeded,
    budget_for_render,
)
from .template_checks import guarded_filter
from .template_sandbox import ENV_OPTIONS, StudioSandbox

__all__ = [
    "ENV",
    "MAX_OUTPUT_CHARS",
    "MAX_POWER_BITS",
    "MAX_REPEAT_LENGTH",
    "MAX_TEMPLATE_CHARS",
    "MAX_VALUE_CHARS",
    "TemplateBudgetExceeded",
    "TemplateProblem",
    "check_template_safety",
    "render_template",
    "template_variables",
]

# A rendered value is a prompt or a stored cell: 200 000 characters is about 50 000 tokens,
# beyond what a prompt should be; a longer render fails its row with this message.
MAX_OUTPUT_CHARS = 200_000
MAX_TEMPLATE_CHARS = 100_000  # the template's own text


class TemplateProblem(ValueError):
    """A template cannot be parsed, is refused, or failed to render."""


class TemplateBudgetExceeded(TemplateProblem):
    """The render ran out of steps (``steps`` is the budget it had)."""

    def __init__(self, message: str, steps: int) -> None:
        super().__init__(message)
        self.steps = steps


# One shared environment (see template_sandbox for its limits).
ENV: StudioSandbox = StudioSandbox(**ENV_OPTIONS)


def _tojson(value: Any, indent: int | None = None) -> str:
    """Plain JSON, unlike Jinja's HTML-safe ``tojson`` (which writes ``<`` as ``\\u003c``
    and sorts keys): the text goes to a model or a dataset, never into a web page,
    and ``{"role": ..., "content": ...}`` should keep its order."""
    if indent is not None and not 0 <= indent <= 8:
        # A huge indent is a memory bomb like ``'x' * 10**10``.
        raise ValueError("tojson indent must be between 0 and 8")
    return json.dumps(value, ensure_ascii=False, indent=indent)


ENV.filters["tojson"] = guarded_filter("tojson", _tojson)

# Tags that would pull other templates (or files, given a loader) into a prompt.
_REFUSED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
}


def _syntax_problem(exc: jinja2.TemplateSyntaxError) -> TemplateProblem:
    return TemplateProblem(f"Template syntax error on line {exc.lineno}: {exc.message}")


def _too_large(template: str) -> TemplateProblem | None:
    if len(template) > MAX_TEMPLATE_CHARS:
        return TemplateProblem(
            f"The template has {len(template):,} characters; the limit is {MAX_TEMPLATE_CHARS:,}"
        )
    return None


_TOO_DEEP = "The template is nested too deeply (brackets, tags or expressions)"


def _parse(template: str) -> nodes.Template:
    if problem := _too_large(template):
        raise problem
    try:
        return ENV.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax_problem(exc) from None
    except RecursionError:
        raise TemplateProblem(_TOO_DEEP) from None


def template_variables(template: str) -> set[str]:
    """Top-level names the template reads from its context (i.e. other columns).

    Names the template defines itself (``{% set %}``, loop variables) and the
    environment's globals (``range``, ``dict``, ...) are not included.
    """
    return set(_undeclared_variables(template))


@functools.lru_cache(maxsize=1024)
def _undeclared_variables(template: str) -> frozenset[str]:
    # The engine asks for the generation order (and so every template's
    # variables) for each row; parsing each time cost ~1.5 ms per row.
    tree = _parse(template)
    try:
        return frozenset(meta.find_undeclared_variables(tree))
    except RecursionError:
        raise TemplateProblem(_TOO_DEEP) from None


def _refusal(node: nodes.Node) -> str | None:
    """Why ``node`` is refused, or None when it is harmless."""
    for tag_type, tag in _REFUSED_TAGS.items():
        if isinstance(node, tag_type):
            return f"{tag} is not allowed"
    # Names starting with '_' are the door to Python internals
    # (``''.__class__.__mro__``, ``f.__globals__``); nothing a prompt needs.
    name: object = None
    if isinstance(node, nodes.Getattr):
        name = node.attr
    elif isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        name = node.arg.value
    elif isinstance(node, nodes.Filter) and node.name == "attr" and node.args:
        # ``x|attr('__class__')`` is attribute access in disguise.
        first = node.args[0]
        name = first.value if isinstance(first, nodes.Const) else None
    if isinstance(name, str) and name.startswith("_"):
        return f"access to '{name}' is not allowed (names starting with '_' are internal)"
    return None


def check_template_safety(template: str) -> None:
    """Refuse templates that reach for Python internals or other templates.

    A static check run at save time so the user gets a clear message before any
    row is generated; the sandbox still guards rendering (defence in depth).
    """
    try:
        found = list(_parse(template).find_all(nodes.Node))
    except RecursionError:
        raise TemplateProblem(_TOO_DEEP) from None
    for node in found:
        reason = _refusal(node)
        if reason is not None:
            raise TemplateProblem(f"Template refused on line {node.lineno}: {reason}")


@functools.lru_cache(maxsize=512)
def _compile(template: str) -> jinja2.Template:
    # Rendering the same prompt for thousands of rows must not re-parse it each
    # time. Syntax errors are raised (and so not cached).
    if problem := _too_large(template):
        raise problem
    try:
        return ENV.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax_problem(exc) from None
    except (RecursionError, MemoryError, SyntaxError):
        # Python's own compiler refuses very deep expressions Jinja accepted.
        raise TemplateProblem(_TOO_DEEP) from None


def render_template(
    template: str, context: Mapping[str, object], *, steps: int = MAX_RENDER_STEPS
) -> str:
    """Render ``template`` in the sandbox within ``steps`` steps of work and
    ``MAX_OUTPUT_CHARS`` characters; every failure becomes TemplateProblem (a spent budget
    TemplateBudgetExceeded, so a caller that tried a small budget first can retry)."""
    compiled = _compile(template)
    try:
        with budget_for_render(steps):
            return _render_bounded(compiled, dict(context))
    except RenderBudgetExceeded as exc:
        raise TemplateBudgetExceeded(f"Template refused by the sandbox: {exc}", steps) from None
    except RecursionError:
        raise TemplateProblem(
            "Template failed to render: it calls itself too deeply (a macro or a recursive loop)"
        ) from None
    except MemoryError:
        raise TemplateProblem("Template failed to render: it needs too much memory") from None
    except TemplateProblem:
        raise
    except jinja2.UndefinedError as exc:
        raise TemplateProblem(f"Template uses an undefined value: {exc.message}") from None
    except SecurityError as exc:
        raise TemplateProblem(f"Template refused by the sandbox: {exc}") from None
    except jinja2.TemplateError as exc:
        raise TemplateProblem(f"Template failed to render: {exc}") from None
    except (ArithmeticError, LookupError, TypeError, ValueError) as exc:
        # User expressions can fail like any Python code ({{ 1 / 0 }}, a bad
        # filter argument); report them as the template's fault, not a crash.
        raise TemplateProblem(f"Template failed to render: {type(exc).__name__}: {exc}") from None


def _render_bounded(compiled: jinja2.Template, context: dict[str, object]) -> str:
    """Render piece by piece, stopping once the text passes ``MAX_OUTPUT_CHARS``."""
    parts: list[str] = []
    size = 0
    for part in compiled.generate(context):
        size += len(part)
        if size > MAX_OUTPUT_CHARS:
            raise TemplateProblem(
                f"Template renders to more than {MAX_OUTPUT_CHARS:,} characters; "
                "a value this long is refused"
            )
        parts.append(part)
    return "".join(parts)
