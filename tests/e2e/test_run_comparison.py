"""Two prompt versions of the demo schema compared in a real browser: two runs with the same
seed, each scored by the same length check and pairwise judge, then the comparison page from
the run page: the differences marked, rows paired by position, the judge's win rates; the same
page at a phone's width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD
from tests.e2e.test_designer import field
from tests.e2e.test_walkthrough import log_in, wait_live

pytestmark = pytest.mark.browser
ROWS = 6
SEED = "42"
ANSWER_V2 = "Answer this question in one short sentence, then give a fun fact: {{ question }}"


def start_seeded_run(page: Page) -> str:
    """From the schema's page; ends on the finished run's page and returns its URL."""
    page.fill('input[name="num_rows"]', str(ROWS))
    page.fill('input[name="seed"]', SEED)
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    wait_live(page)
    expect(page.locator("#run-progress")).to_have_text(f"{ROWS} / {ROWS} rows", timeout=30_000)
    return page.url


def evaluate(page: Page, run_url: str) -> None:
    """The same two evaluations on a run: answer length, and a pairwise judge."""
    page.goto(run_url)
    page.get_by_role("link", name="+ Evaluate").click()
    page.fill("#id_name", "answer length")
    page.select_option("#id_kind", value="length")
    page.select_option('select[name="column"]', value="answer")
    page.select_option('select[name="unit"]', value="words")
    page.fill('input[name="max_length"]', "40")
    page.get_by_role("button", name="Start evaluation").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    page.goto(run_url)
    page.get_by_role("link", name="+ Evaluate").click()
    page.fill("#id_name", "answer vs question")
    page.select_option("#id_kind", "pairwise_judge")
    page.select_option("#id_column", "answer")
    page.select_option("#id_column_b", "question")
    page.select_option("#id_credential_id", label="Offline simulator (simulated)")
    page.fill("#id_model", "simulated-model")
    page.fill("#id_prompt", "Which text tells a reader more about {{ topic }}?")
    page.get_by_role("button", name="Start evaluation").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    page.goto(run_url)
    expect(page.locator("#run-evaluations .status")).to_have_text(["Done", "Done"], timeout=30_000)


def test_two_prompt_versions_are_compared(page: Page, demo_server, shot) -> None:
    log_in(page, demo_server.url, "demo", DEMO_PASSWORD)
    page.get_by_role("link", name=re.compile("Demo: trivia questions")).click()
    page.get_by_role("link", name="Trivia QA").click()
    schema_url = page.url
    run_a = start_seeded_run(page)
    evaluate(page, run_a)
    # The pairwise judge's panel line gives its win rates, not a mean.
    expect(page.locator("#run-evaluations")).to_contain_text(re.compile(r"A wins \d+%"))
    # Its page too: win, tie and loss rates in its summary.
    page.locator("#run-evaluations .evaluation-item a", has_text="answer vs question").click()
    expect(page.locator("#summary-win-rate")).to_have_text(re.compile(r"\d+%"))
    expect(page.locator("#summary-loss-rate")).to_have_text(re.compile(r"\d+%"))
    expect(page.locator("#summary-mean")).to_have_count(0)
    shot(page, "pairwise-summary")

    # Version 2 of the answer's prompt, run with the same seed.
    page.goto(schema_url)
    field(page, 3, "template").fill(ANSWER_V2)
    page.get_by_role("button", name="Save schema").click()
    expect(page.get_by_text("saved (version 2)")).to_be_visible()
    run_b = start_seeded_run(page)
    evaluate(page, run_b)

    # From run A's page: pick run B, compare.
    page.goto(run_a)
    page.get_by_role("link", name="Compare with another run").click()
    run_b_id = run_b.rstrip("/").rsplit("/", 1)[1]
    page.select_option("#id_b", value=run_b_id)
    shot(page, "pick")
    page.get_by_role("button", name="Compare").click()
    page.wait_for_url(re.compile(rf"/runs/\d+/compare/{run_b_id}/$"))
    expect(page.locator("h1")).to_contain_text("Compare runs")
    expect(page.locator("#pairing-note")).to_contain_text("rows are paired by position")

    length = page.locator('.compare-evaluation[data-evaluation="answer length"]')
    mean = length.locator(".figure-mean td.delta")
    expect(mean).to_have_text(re.compile(r"^[+−]\d"))  # the prompts changed the answers' length
    expect(length.locator("svg.grouped, svg.hbars")).to_have_count(1)
    expect(length.locator(".paired-mean")).to_have_text(re.compile(r"^[+−±]\d"))
    rows = length.locator(".compare-rows tbody tr")
    assert rows.count() >= 1
    expect(rows.first.locator("a")).to_have_count(2)  # row A and row B

    judge = page.locator('.compare-evaluation[data-evaluation="answer vs question"]')
    expect(judge.locator(".compare-pairwise tbody tr")).to_have_count(2)
    expect(judge.locator(".compare-pairwise .pairwise-a")).to_contain_text(re.compile(r"\d+%"))
    expect(judge.locator(".compare-pairwise .pairwise-a")).to_contain_text(
        re.compile(rf"\d+ of {ROWS}")
    )
    shot(page, "compare")

    page.set_viewport_size({"width": 390, "height": 844})
    page.reload()
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the comparison page is {width}px wide on a 390px screen"
    shot(page, "compare-phone")
    assert page.js_errors == []  # type: ignore[attr-defined]
