"""The quality gate in a real browser: from an evaluation's page, "regenerate the rows below"
(a confirmation with the number of rows), the gate's outcome on the page, and a regenerated
row's history (its earlier values and their score) on the row page; the same at a phone's width.
The fake provider answers a text column with the same text each time, so the rows stay below
a length no answer reaches: one round is made, and each row keeps one earlier version."""

from __future__ import annotations

import re
from pathlib import Path

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
ROWS = 4
SHOTS = Path(__file__).resolve().parents[2] / "shots"


def snap(page: Page, name: str) -> None:
    """Screenshots to look at (shots/, not committed)."""
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"gate-{name}.png"), full_page=True)


def create_long_length_evaluation(page: Page) -> None:
    """From the run page: a length evaluation no row passes; ends on its page, scored."""
    page.get_by_role("link", name="+ Evaluate").click()
    page.fill("#id_name", "long questions")
    page.select_option("#id_kind", value="length")
    page.select_option('select[name="column"]', value="question")
    page.fill('input[name="min_length"]', "5000")
    page.get_by_role("button", name="Start evaluation").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    wait_live(page)
    expect(page.locator("#run-evaluations .status")).to_have_text("Done", timeout=30_000)
    page.reload()


def wait_gate_done(page: Page) -> None:
    for _ in range(60):
        if page.locator(".gate-list .status", has_text="Done").count():
            return
        page.wait_for_timeout(500)
        page.reload()
    raise AssertionError("the quality gate did not end")


def test_regenerate_rows_below_from_an_evaluation_and_see_a_rows_history(
    browser: Browser, studio_server, llm_server
) -> None:
    base = studio_server.url
    context = watching_context(browser)
    try:
        page = open_page(context)
        set_up_schema(page, base, llm_server, user="gate-gina", rpm=6000)
        start_run(page, ROWS)
        wait_live(page)
        wait_finished(page, ROWS)
        create_long_length_evaluation(page)
        evaluation_url = page.url
        expect(page.locator("#gate-rows-below")).to_have_text(str(ROWS))
        page.fill('.quality-gate input[name="max_attempts"]', "1")
        page.get_by_role("button", name="Regenerate rows below…").click()
        expect(page.locator("#gate-affected")).to_contain_text(f"{ROWS} rows of run")
        snap(page, "confirm")
        asked = len(llm_server.generation_requests())
        page.get_by_role("button", name=f"Regenerate {ROWS} rows").click()
        page.wait_for_url(evaluation_url)
        wait_gate_done(page)
        expect(page.locator(".gate-list")).to_contain_text(
            f"{ROWS} rows still below after 1 round of regeneration"
        )
        # Each row was asked again once: a fresh sample, not the ledger's answer.
        assert len(llm_server.generation_requests()) == asked + ROWS
        snap(page, "evaluation")

        page.locator(".scores-table tbody tr a").first.click()
        page.wait_for_url(re.compile(r"/rows/\d+/$"))
        history = page.locator("#row-history")
        expect(history).to_contain_text("now attempt 2")
        expect(history).to_contain_text("Attempt 1")
        expect(history).to_contain_text("quality gate: long questions below 5000 characters")
        expect(history.locator(".version-scores")).to_contain_text("long questions:")
        expect(history.locator(".version-scores")).to_contain_text("fail")
        snap(page, "row-history")

        page.set_viewport_size({"width": 390, "height": 844})
        for name in ("row-history", "evaluation"):
            if name == "evaluation":
                page.goto(evaluation_url)
            else:
                page.reload()
            width = page.evaluate("document.documentElement.scrollWidth")
            assert width <= 390, f"the {name} page is {width}px wide on a 390px screen"
            snap(page, f"{name}-phone")
    finally:
        context.close()
