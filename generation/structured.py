"""Structured answers: validate a model's JSON against the column's schema, and re-ask when it
does not conform.

Providers only *ask* for JSON (OpenAI ``response_format``, Anthropic a forced tool call); models
still return fences, prose, missing properties or wrong types, and OpenAI-compatible servers may
ignore the format entirely. So the answer is checked here with ``jsonschema`` (Draft 2020-12), and
the error, in plain words, goes back to the model in a follow-up turn. Every attempt is a call
that was paid for: the caller gets them all to record.

Pure: no Django.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

import re2
from jsonschema import Draft202012Validator
from jsonschema.exceptions import SchemaError, ValidationError

from generation.providers.base import Completion, CompletionRequest, Message
from studio.schema.json_schema_limits import SafeValidator, json_schema_limit_problems

REASK_BEFORE = "Your answer did not match the required JSON schema: "
REASK_AFTER = ". Reply again with only a JSON object that satisfies the schema."
EMPTY_ANSWER = "(empty answer)"
MAX_ERRORS = 3  # listed in one re-ask; more would drown the model in detail
MAX_ERROR_CHARS = 300
MAX_VALUE_CHARS = 60
# A longer answer is not parsed or validated: 32 768 tokens (the most max_tokens allows) are about
# 130 000 characters, so this is only reached by a server that ignores max_tokens.
MAX_ANSWER_CHARS = 1_000_000

# RE2, not re: the text is a model's, and re backtracks quadratically on "```" and spaces.
_FENCE = re2.compile(r"(?s)```[ \t]*(?:json|JSON)?[ \t]*\n?(.*?)```")


@dataclass
class StructuredResult:
    parsed: object | None  # the valid value, or None when every attempt failed
    text: str  # the last raw answer, kept even when invalid (shown to the user)
    attempts: list[Completion] = field(default_factory=list)  # one per paid call
    error: str | None = None  # why the last answer was rejected

    @property
    def ok(self) -> bool:
        return self.error is None


@lru_cache(maxsize=256)
def _validator(schema_json: str) -> Any:
    schema = json.loads(schema_json)
    # A schema saved before its limits were checked must not stall a worker either; checked
    # first, as check_schema compiles each pattern with Python's re.
    problems = json_schema_limit_problems(schema)
    if problems:
        raise SchemaError("; ".join(problems))
    Draft202012Validator.check_schema(schema)
    return SafeValidator(schema)


def validator_for(schema: dict[str, Any]) -> Any:
    """A cached validator (compiling one per answer would dominate a large run's CPU)."""
    return _validator(json.dumps(schema, sort_keys=True))


def check_schema(schema: dict[str, Any]) -> str | None:
    """Why ``schema`` is not a valid Draft 2020-12 schema, or None (for the schema designer)."""
    try:
        validator_for(schema)
    except SchemaError as exc:
        return f"invalid JSON schema: {exc.message}"
    return None


def _candidates(text: str) -> list[str]:
    """Texts that may hold the JSON, most likely first: the whole answer, a fenced block, and
    the part from the first ``{`` (models like to open with "Here is the JSON:")."""
    stripped = text.strip()
    found = [stripped]
    fence = _FENCE.search(stripped)
    if fence:
        found.append(fence.group(1).strip())
    brace = stripped.find("{")
    if brace > 0:
        found.append(stripped[brace:])
    return found


def parse_json(text: str) -> tuple[object | None, str | None]:
    """The JSON value in ``text`` and None, or None and why it is not JSON."""
    decoder = json.JSONDecoder()
    first_error: json.JSONDecodeError | None = None
    for candidate in _candidates(text):
        try:
            # raw_decode stops at the end of the value, so trailing prose is tolerated too.
            value, _ = decoder.raw_decode(candidate)
            return value, None
        except json.JSONDecodeError as exc:
            first_error = first_error or exc
        except RecursionError:
            return None, "not JSON this server reads: nested too deeply"
    assert first_error is not None
    return None, (
        f"not JSON: {first_error.msg} at line {first_error.lineno} column {first_error.colno}"
    )


def _where(error: ValidationError) -> str:
    path = "$"
    for part in error.absolute_path:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
    return path


def _describe(errors: list[ValidationError]) -> str:
    messages: list[str] = []
    for error in errors:
        where = _where(error)
        suffix = "" if where == "$" else f" at {where}"
        if error.validator == "required" and isinstance(error.instance, dict):
            # jsonschema yields one error per missing property; name each plainly.
            required = error.validator_value if isinstance(error.validator_value, list) else []
            missing = [p for p in required if p not in error.instance]
            text = ", ".join(f"property {p!r} is required{suffix}" for p in missing)
        else:
            message = error.message
            # The message quotes the offending value: a long one would bury the point.
            quoted = repr(error.instance)
            if len(quoted) > MAX_VALUE_CHARS and quoted in message:
                message = message.replace(quoted, quoted[: MAX_VALUE_CHARS - 1] + "…")
            if len(message) > MAX_ERROR_CHARS:
                message = message[: MAX_ERROR_CHARS - 1] + "…"
            text = f"{message}{suffix}"
        if text not in messages:
            messages.append(text)
    return "; ".join(messages[:MAX_ERRORS])


def validate_answer(text: str, schema: dict[str, Any]) -> tuple[object | None, str | None]:
    """``(parsed, None)`` when ``text`` holds JSON that satisfies ``schema``, else
    ``(None, message)``. An invalid *schema* raises ``jsonschema.SchemaError``: that is the
    caller's bug, not the model's, and re-asking would not fix it."""
    if len(text) > MAX_ANSWER_CHARS:
        return (
            None,
            f"the answer has {len(text):,} characters; the most checked is {MAX_ANSWER_CHARS:,}",
        )
    value, problem = parse_json(text)
    if problem is not None:
        return None, problem
    try:
        errors = sorted(
            validator_for(schema).iter_errors(value),
            key=lambda e: (len(e.absolute_path), list(map(str, e.absolute_path))),
        )
    except RecursionError:
        return None, "the answer is nested too deeply"
    if errors:
        return None, _describe(errors)
    return value, None


def reask_messages(request: CompletionRequest, bad_text: str, error: str) -> CompletionRequest:
    """``request`` with the rejected answer and a correction appended as two more turns. Plain
    concatenation: the model's text is data here, never a template."""
    correction = REASK_BEFORE + error + REASK_AFTER
    return request.with_turns(
        Message("assistant", bad_text if bad_text.strip() else EMPTY_ANSWER),
        Message("user", correction),
    )


async def complete_structured(
    call: Callable[[CompletionRequest], Awaitable[Completion]],
    request: CompletionRequest,
    *,
    max_reasks: int,
) -> StructuredResult:
    """Call, validate, and re-ask up to ``max_reasks`` times. ``call`` does one paid call (with
    the caller's ledger, limiter and retries); its ProviderErrors propagate unchanged. The
    valid attempt's ``Completion.parsed`` is set."""
    if request.json_schema is None:
        raise ValueError("complete_structured needs a request with a json_schema")
    schema = request.json_schema
    validator_for(schema)  # an invalid schema fails here, before anything is paid for
    attempts: list[Completion] = []
    current = request
    error: str | None = None
    text = ""
    for attempt in range(max(0, max_reasks) + 1):
        completion = await call(current)
        attempts.append(completion)
        text = completion.text
        parsed, error = validate_answer(text, schema)
        if error is None:
            completion.parsed = parsed
            return StructuredResult(parsed=parsed, text=text, attempts=attempts)
        if attempt < max_reasks:
            current = reask_messages(current, text, error)
    return StructuredResult(parsed=None, text=text, attempts=attempts, error=error)
