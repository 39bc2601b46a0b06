"""The engine fills a row's columns in dependency order; pure, no database."""

import asyncio

import pytest

from generation.engine import MSG_SKIPPED, LlmAnswer, LlmAsk, LlmFailure, fill_row
from studio.schema import parse_spec


def spec(*columns):
    return parse_spec({"columns": list(columns)})


def llm(name, prompt, credential_id=1):
    return {
        "name": name,
        "kind": "llm_text",
        "credential_id": credential_id,
        "model": "m",
        "prompt": prompt,
    }


async def echo(ask: LlmAsk) -> LlmAnswer:
    return LlmAnswer(text=f"<{ask.prompt}>", input_tokens=3, output_tokens=2)


async def test_dependent_columns_see_the_values_they_name():
    schema = spec(
        {"name": "topic", "kind": "category", "values": ["space"]},
        llm("question", "Ask about {{ topic }}"),
        llm("answer", "Answer {{ question }}"),
        {"name": "pair", "kind": "expression", "template": "{{ question }} / {{ answer }}"},
    )
    outcome = await fill_row(schema, seed=1, row_index=0, call_llm=echo)
    assert outcome.values["question"] == "<Ask about space>"
    assert outcome.values["answer"] == "<Answer <Ask about space>>"
    assert outcome.values["pair"] == "<Ask about space> / <Answer <Ask about space>>"
    assert outcome.prompts == {"question": "Ask about space", "answer": "Answer <Ask about space>"}
    assert (outcome.input_tokens, outcome.output_tokens) == (6, 4)
    assert not outcome.failed


async def test_independent_llm_columns_run_concurrently():
    in_flight = []
    most = 0

    async def slow(ask: LlmAsk) -> LlmAnswer:
        nonlocal most
        in_flight.append(ask.column.name)
        most = max(most, len(in_flight))
        await asyncio.sleep(0.05)
        in_flight.remove(ask.column.name)
        return LlmAnswer(text="x")

    schema = spec(*(llm(f"c{i}", "hello") for i in range(5)))
    outcome = await fill_row(schema, seed=1, row_index=0, call_llm=slow)
    assert most == 5  # five calls out at once, not one after another
    assert outcome.values == {f"c{i}": "x" for i in range(5)}


async def test_a_failed_column_skips_its_dependents_and_keeps_the_rest():
    async def failing(ask: LlmAsk) -> LlmAnswer:
        if ask.column.name == "question":
            raise LlmFailure("HTTP 401: Incorrect API key provided")
        return LlmAnswer(text="fine")

    schema = spec(
        {"name": "topic", "kind": "category", "values": ["space"]},
        llm("question", "Ask about {{ topic }}"),
        llm("answer", "Answer {{ question }}"),
        llm("other", "Unrelated {{ topic }}"),
    )
    outcome = await fill_row(schema, seed=1, row_index=0, call_llm=failing)
    assert outcome.failed
    assert outcome.errors["question"] == "HTTP 401: Incorrect API key provided"
    assert outcome.errors["answer"] == MSG_SKIPPED.replace("{column}", "question")
    assert outcome.values["other"] == "fine"
    assert outcome.values["topic"] == "space"


async def test_same_seed_and_row_give_the_same_samples():
    schema = spec(
        {"name": "topic", "kind": "category", "values": list("abcdefghij")},
        {"name": "n", "kind": "integer", "low": 0, "high": 10_000},
        {"name": "id", "kind": "uuid"},
    )
    first = await fill_row(schema, seed=42, row_index=7, call_llm=echo)
    again = await fill_row(schema, seed=42, row_index=7, call_llm=echo)
    other_row = await fill_row(schema, seed=42, row_index=8, call_llm=echo)
    assert first.values == again.values
    assert first.values != other_row.values


@pytest.mark.parametrize("template", ["{{ ''.__class__ }}", "{{ topic.__class__.__mro__ }}"])
def test_hostile_templates_are_refused_before_anything_runs(template):
    from studio.schema import SchemaError

    with pytest.raises(SchemaError, match="not allowed"):
        spec(
            {"name": "topic", "kind": "category", "values": ["space"]},
            {"name": "evil", "kind": "expression", "template": template},
        )


async def test_a_value_that_nests_without_end_fails_its_column_not_the_chunk():
    """Defence in depth: should a recursive JSON schema get past the save-time check, the
    RecursionError it causes is the row's error, not a chunk retried until it gives up."""

    async def endless(ask: LlmAsk) -> LlmAnswer:
        raise RecursionError("maximum recursion depth exceeded")

    schema = spec(llm("deep", "Go"), llm("after", "{{ deep }}"))
    outcome = await fill_row(schema, seed=1, row_index=0, call_llm=endless)
    assert outcome.errors["deep"] == "Cannot fill column 'deep': its value nests without end"
    assert outcome.errors["after"] == MSG_SKIPPED.replace("{column}", "deep")
