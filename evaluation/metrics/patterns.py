"""Users' regular expressions, compiled with RE2: matching takes time linear in the text, so no
pattern can hold a worker (Python's re backtracks: ``(a+)+$`` against a line of a's takes
minutes). A pattern RE2 cannot run (backreferences, lookaround) or too long is refused with a
message saying why."""

from __future__ import annotations

import functools
from typing import Any

import re2

MAX_PATTERN_CHARS = 1_000
# RE2's budget for one compiled program (its default is 8 MiB): ``a{1000}`` nested in a few
# repetitions would need more and is refused, not built.
MAX_PROGRAM_BYTES = 8 << 20
SYNTAX_NOTE = "RE2 syntax: no backreferences or lookaround"


class PatternError(ValueError):
    """A pattern that cannot be used; the message says why."""


def _options(ignore_case: bool) -> Any:
    options = re2.Options()
    options.log_errors = False  # a refused pattern is the user's input, not a server error
    options.case_sensitive = not ignore_case
    options.max_mem = MAX_PROGRAM_BYTES
    return options


@functools.lru_cache(maxsize=1024)
def compile_pattern(pattern: str, *, ignore_case: bool = False) -> Any:
    """The RE2 program for ``pattern``, or PatternError (too long, not valid RE2 syntax)."""
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PatternError(
            f"is too long ({len(pattern):,} characters; at most {MAX_PATTERN_CHARS:,})"
        )
    try:
        return re2.compile(pattern, options=_options(ignore_case))
    except re2.error as exc:
        reason = exc.args[0] if exc.args else exc
        if isinstance(reason, bytes):
            reason = reason.decode("utf-8", "replace")
        if "pattern too large" in str(reason):
            raise PatternError("is too complex: its compiled program would be too large") from None
        raise PatternError(f"is not a valid regular expression ({reason}; {SYNTAX_NOTE})") from None


def shown(text: str, limit: int = 60) -> str:
    """``text`` cut for a message or a score's detail."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
