"""Evaluations in a real browser: a run's rows scored from the run page, the progress pushed
live while chunks land, the summary's chart, a row's scores in its panel; the same pages at a
phone's width."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_live_monitor import (
    open_page,
    set_up_schema,
    start_run,
    wait_finished,
    watching_context,
)
from tests.e2e.test_walkthrough import wait_live

pytestmark = pytest.mark.browser
ROWS = 30


def create_length_evaluation(page: Page, name: str) -> None:
    """From the run page; ends on the new evaluation's page."""
    page.get_by_role("link", name="+ Evaluate").click()
    page.fill("#id_name", name)
    page.select_option("#id_kind", value="length")
    # The form shows only the chosen kind's fields.
    expect(page.locator('select[name="mode"]')).to_be_hidden()
    page.select_option('select[name="column"]', value="question")
    page.select_option('select[name="unit"]', value="words")
    page.fill('input[name="max_length"]', "1000")
    page.get_by_role("button", name="Start evaluation").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))


def test_a_run_is_evaluated_from_its_page_with_live_progress_chart_and_row_scores(
    browser: Browser, studio_server, llm_server, shot
) -> None:
    base = studio_server.url
    context = watching_context(browser)
    try:
        page = open_page(context)
        console_errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and console_errors.append(m.text))
        set_up_schema(page, base, llm_server, user="eval-erin", rpm=6000)
        run_url = start_run(page, ROWS)
        wait_live(page)
        wait_finished(page, ROWS)
        expect(page.locator("#run-evaluations")).to_contain_text("No evaluations yet")
        create_length_evaluation(page, "question length")
        # The panel is pushed by the run's socket until the evaluation is done.
        wait_live(page)
        panel = page.locator("#run-evaluations")
        expect(panel.locator(".status")).to_have_text("Done", timeout=30_000)
        expect(panel).to_contain_text("pass rate 100%")
        page.reload()
        expect(page.locator("#summary-pass-rate")).to_have_text("100%")
        bars = page.locator("svg.histogram rect")
        assert bars.count() >= 1
        counts = [int(bars.nth(i).get_attribute("data-count")) for i in range(bars.count())]
        assert sum(counts) == ROWS
        expect(page.locator(".scores-table tbody tr")).to_have_count(ROWS)
        shot(page, "evaluation")
        # The run page lists it; a row's panel shows its score.
        page.goto(run_url)
        expect(page.locator("#run-evaluations")).to_contain_text("question length")
        page.locator("#run-rows .row-card").first.get_by_role("link", name="Details").click()
        scores = page.locator("#row-panel .row-score")
        expect(scores).to_contain_text("question length")
        expect(scores).to_contain_text("pass")
        shot(page, "row-scores")
        # A phone: the chart fits the screen's width.
        page.set_viewport_size({"width": 390, "height": 844})
        page.goto(run_url)
        page.locator("#run-evaluations .evaluation-item a").first.click()
        page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"the evaluation page is {width}px wide on a 390px screen"
        shot(page, "evaluation-phone")
        assert page.js_errors == []  # type: ignore[attr-defined]
        # The evaluation's page gets its panel only, no fragment without a target on the page.
        assert console_errors == []
    finally:
        context.close()
