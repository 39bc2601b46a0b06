"""Whether an answer is mathematically the same as its reference (math-verify: ``1/2``, ``0.5``
and ``\\frac{1}{2}`` are one answer; a final ``\\boxed{}`` answer is found in a worked solution).

math-verify bounds its own time with ``signal.alarm``, which only works on a process's main
thread; here its timeouts are off and the caller bounds the time instead: this module runs in
a child process the worker kills when a comparison takes too long (math_process.py), started
as ``python -m evaluation.metrics.math_answers`` (``serve``). Inputs are bounded too: a
reference longer than ``MAX_REFERENCE_CHARS`` is refused, and only the last
``MAX_ANSWER_CHARS`` of an answer are read."""

from __future__ import annotations

import functools
import json
import logging
import resource
import sys
from dataclasses import asdict
from typing import Any

from math_verify import parse, verify

from .math_process import (
    MAX_ANSWER_CHARS,
    MAX_REFERENCE_CHARS,
    MEMORY_LIMIT_BYTES,
    READY,
    MathComparison,
)

SHOWN_CHARS = 80

# The warning math-verify logs once when its timeouts are off: here they are off on purpose.
logging.getLogger("math_verify").setLevel(logging.ERROR)


def _read(text: str) -> list[Any]:
    """math-verify's reading of ``text``: as written, else as LaTeX between $…$ (a bare
    ``x^2+1`` or ``\\sqrt{2}`` is read only that way)."""
    parsed = parse(text, parsing_timeout=None)
    if not parsed and text.strip():
        parsed = parse(f"${text.strip()}$", parsing_timeout=None)
    return list(parsed)


@functools.lru_cache(maxsize=256)
def _read_reference(text: str) -> tuple[Any, ...]:
    # A fixed reference is the same for every row: read it once.
    return tuple(_read(text))


def _shown(parsed: list[Any]) -> str:
    text = str(parsed[-1]) if parsed else ""
    return text if len(text) <= SHOWN_CHARS else text[: SHOWN_CHARS - 1] + "…"


def compare(answer: str, reference: str) -> MathComparison:
    if len(reference) > MAX_REFERENCE_CHARS:
        return MathComparison(
            None,
            problem=f"the reference is too long ({len(reference):,} characters; "
            f"at most {MAX_REFERENCE_CHARS})",
        )
    gold = list(_read_reference(reference))
    if not gold:
        return MathComparison(None, problem="the reference has no answer math-verify can read")
    target = _read(answer[-MAX_ANSWER_CHARS:])
    if not target:
        return MathComparison(False, reference=_shown(gold), problem="no answer found")
    equal = bool(verify(gold, target, timeout_seconds=None))
    return MathComparison(equal, answer=_shown(target), reference=_shown(gold))


def serve() -> None:
    """The child: one JSON pair [answer, reference] a line in, one comparison a line out."""
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    # The first LaTeX reading and the first symbolic comparison load more of sympy (seconds):
    # done before the first row, whose deadline would otherwise pay for it.
    compare("x^2+2x+1", "$(x+1)^2$")
    _read_reference.cache_clear()
    out = sys.stdout.buffer
    out.write(READY)
    out.flush()
    for line in sys.stdin.buffer:
        answer, reference = json.loads(line)
        try:
            result = compare(answer, reference)
        except Exception as exc:  # sympy's own errors on odd input: this pair fails, not all
            result = MathComparison(None, problem=f"math-verify failed: {type(exc).__name__}")
        out.write(json.dumps(asdict(result)).encode() + b"\n")
        out.flush()


if __name__ == "__main__":
    serve()
