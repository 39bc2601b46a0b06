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
from jinja2.runtime import Context
from jinja2.sandbox import SandboxedEnvironment

__all__ = [
    "ENV",
    "MAX_POWER_BITS",
    "MAX_REPEAT_LENGTH",
    "TemplateProblem",
    "check_template_safety",
    "render_template",
    "template_variables",
]

# Upper bounds for arithmetic the sandbox would otherwise happily perform:
# ``{{ 'x' * 10**10 }}`` or ``{{ (10**1000)**1000 }}`` would exhaust a worker's
# memory or CPU long before any timeout could fire.
MAX_REPEAT_LENGTH = 1_000_000
MAX_POWER_BITS = 100_000


class TemplateProblem(ValueError):
    """A template cannot be parsed, is refused, or failed to render."""


class _StudioSandbox(SandboxedEnvironment):
    """The stock sandbox plus size limits on ``*`` and ``**``.

    Intercepting these operators also stops Jinja from constant-folding them at
    compile time, so the limits apply to literals as well.
    """

    intercepted_binops = frozenset({"*", "**"})

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        if operator == "**":
            # Float overflow raises by itself; integer powers grow without bound.
            if isinstance(left, int) and isinstance(right, int) and right > 0:
                if abs(left) > 1 and left.bit_length() * right > MAX_POWER_BITS:
                    raise SecurityError(f"the power would have more than {MAX_POWER_BITS} bits")
            return left**right
        if operator == "*":
            for seq, times in ((left, right), (right, left)):
                if isinstance(seq, str | list | tuple) and isinstance(times, int):
                    if len(seq) * times > MAX_REPEAT_LENGTH:
                        raise SecurityError(
                            f"repeating a sequence would make more than {MAX_REPEAT_LENGTH} items"
                        )
            return left * right
        return super().call_binop(context, operator, left, right)


# One shared environment: prompts are plain text sent to a model, never HTML, so
# autoescaping would only corrupt them; trailing newlines are kept because they
# can matter to a model.
ENV: SandboxedEnvironment = _StudioSandbox(
    undefined=jinja2.StrictUndefined,
    autoescape=False,
    keep_trailing_newline=True,
)


def _tojson(value: Any, indent: int | None = None) -> str:
    """Plain JSON, unlike Jinja's HTML-safe ``tojson`` (which writes ``<`` as ``\\u003c``
    and sorts keys): the text goes to a model or a dataset, never into a web page,
    and ``{"role": ..., "content": ...}`` should keep its order."""
    if indent is not None and not 0 <= indent <= 8:
        # A huge indent is a memory bomb like ``'x' * 10**10``.
        raise ValueError("tojson indent must be between 0 and 8")
    return json.dumps(value, ensure_ascii=False, indent=indent)


ENV.filters["tojson"] = _tojson

# Tags that would pull other templates (or files, given a loader) into a prompt.
_REFUSED_TAGS: dict[type[nodes.Node], str] = {
    nodes.Include: "{% include %}",
    nodes.Import: "{% import %}",
    nodes.FromImport: "{% from ... import %}",
    nodes.Extends: "{% extends %}",
}


def _syntax_problem(exc: jinja2.TemplateSyntaxError) -> TemplateProblem:
    return TemplateProblem(f"Template syntax error on line {exc.lineno}: {exc.message}")


def _parse(template: str) -> nodes.Template:
    try:
        return ENV.parse(template)
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax_problem(exc) from None


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
    return frozenset(meta.find_undeclared_variables(_parse(template)))


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
    for node in _parse(template).find_all(nodes.Node):
        reason = _refusal(node)
        if reason is not None:
            raise TemplateProblem(f"Template refused on line {node.lineno}: {reason}")


@functools.lru_cache(maxsize=512)
def _compile(template: str) -> jinja2.Template:
    # Rendering the same prompt for thousands of rows must not re-parse it each
    # time. Syntax errors are raised (and so not cached).
    try:
        return ENV.from_string(template)
    except jinja2.TemplateSyntaxError as exc:
        raise _syntax_problem(exc) from None


def render_template(template: str, context: Mapping[str, object]) -> str:
    """Render ``template`` in the sandbox; every failure becomes TemplateProblem."""
    compiled = _compile(template)
    try:
        return compiled.render(dict(context))
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
