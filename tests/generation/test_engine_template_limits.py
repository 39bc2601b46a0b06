"""Issue 15 item 7 in the engine: a heavy template does not hold the event loop other runs'
chunks share, and a value over the size cap fails its column with the message, keeping the
rest of the row."""

import asyncio

from generation.engine import INLINE_RENDER_STEPS, fill_row, render_off_loop
from studio.schema import parse_spec
from studio.schema.templating import MAX_OUTPUT_CHARS
from tests.generation.test_engine import echo, llm

HEAVY = "{% for i in range(N) %}{% endfor %}done".replace("N", str(INLINE_RENDER_STEPS * 20))


async def test_a_heavy_template_renders_while_the_event_loop_serves_others():
    finished = False
    turns_meanwhile = 0

    async def other_runs_chunk():
        nonlocal turns_meanwhile
        while not finished:
            turns_meanwhile += 1
            await asyncio.sleep(0)

    async def render():
        nonlocal finished
        try:
            return await render_off_loop(HEAVY, {})
        finally:
            finished = True

    text, _ = await asyncio.gather(render(), other_runs_chunk())
    assert text == "done"
    assert turns_meanwhile > 0  # rendered inline, the other chunk would not have run at all


async def test_an_ordinary_template_renders_inline():
    assert await render_off_loop("Hi {{ name }}", {"name": "Ann"}) == "Hi Ann"


async def test_a_value_over_the_cap_fails_its_column_and_keeps_the_rest_of_the_row():
    schema = parse_spec(
        {
            "columns": [
                {"name": "topic", "kind": "category", "values": ["space"]},
                {"name": "huge", "kind": "expression", "template": "{{ 'x' * 300000 }}"},
                {"name": "heavy", "kind": "expression", "template": HEAVY},
                llm("question", "Ask about {{ topic }}"),
                llm("about_huge", "Summarise {{ huge }}"),
            ]
        }
    )
    outcome = await fill_row(schema, seed=1, row_index=0, call_llm=echo)
    assert f"more than {MAX_OUTPUT_CHARS:,} characters" in outcome.errors["huge"]
    assert "huge" not in outcome.values
    assert "about_huge" in outcome.errors  # skipped: it depends on the failed column
    assert outcome.values["heavy"] == "done"  # rendered in a thread, within the full budget
    assert outcome.values["question"] == "<Ask about space>"
    assert outcome.values["topic"] == "space"
