"""The pre-call token estimate the limiter charges; pure."""

from generation.providers import CompletionRequest, Message
from generation.token_estimate import (
    TOKENS_PER_MESSAGE,
    TOKENS_PER_REPLY,
    estimate_request_tokens,
    estimate_tokens,
    text_tokens,
)


def test_ascii_is_about_four_characters_a_token_rounded_up():
    assert text_tokens("") == 0
    assert text_tokens("abcd") == 1
    assert text_tokens("abcde") == 2
    assert text_tokens("x" * 400) == 100


def test_non_ascii_characters_count_as_whole_tokens():
    assert text_tokens("日本語") == 3
    assert text_tokens("café!") == 1 + 1  # "caf!" → 1, "é" → 1


def test_messages_add_overhead_and_the_answer_budget():
    messages = [{"role": "user", "content": "x" * 40}, {"role": "assistant", "content": "y" * 8}]
    assert estimate_tokens(messages, 100) == TOKENS_PER_REPLY + 2 * TOKENS_PER_MESSAGE + 12 + 100
    parts = [{"role": "user", "content": [{"type": "text", "text": "x" * 40}]}]
    assert estimate_tokens(parts, 0) == TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 10
    assert estimate_tokens([Message("user", "x" * 40)], 0) == estimate_tokens(parts, 0)


def test_a_request_counts_its_system_prompt_and_schema():
    plain = CompletionRequest(model="m", prompt="x" * 400, max_tokens=256)
    with_system = CompletionRequest(model="m", prompt="x" * 400, system="s" * 40, max_tokens=256)
    structured = CompletionRequest(
        model="m", prompt="x" * 400, max_tokens=256, json_schema={"type": "object"}
    )
    assert estimate_request_tokens(plain) == TOKENS_PER_REPLY + TOKENS_PER_MESSAGE + 100 + 256
    assert estimate_request_tokens(with_system) == estimate_request_tokens(plain) + 4 + 10
    assert estimate_request_tokens(structured) > estimate_request_tokens(plain)
