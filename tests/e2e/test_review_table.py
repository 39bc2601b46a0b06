"""The review table in a real browser: filter a run's rows by a score range (the filter lands
in the URL), reject everything it shows after a confirmation with the count, undo it; the same
pages at a phone's width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_live_monitor import open_page, set_up_schema, start_run, wait_finished
from tests.e2e.test_quality_gate import create_long_length_evaluation
from tests.e2e.test_walkthrough import wait_live

pytestmark = pytest.mark.browser
ROWS = 6
SHOTS = Path(__file__).resolve().parents[2] / "shots"


def snap(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"table-{name}.png"), full_page=True)


def test_filter_by_a_score_range_bulk_reject_and_undo(
    browser: Browser, studio_server, llm_server
) -> None:
    base = studio_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = open_page(context)
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        set_up_schema(page, base, llm_server, user="table-tom", rpm=6000)
        run_url = start_run(page, ROWS)
        wait_live(page)
        wait_finished(page, ROWS)
        create_long_length_evaluation(page)
        page.goto(run_url)
        page.get_by_role("link", name="Review table").click()
        page.wait_for_url(re.compile(r"/review/table/$"))
        expect(page.locator("#table-count")).to_contain_text(f"{ROWS} rows match")

        page.get_by_label("long questions ≥").fill("1")
        page.get_by_label("long questions ≤").fill("100000")
        page.get_by_role("button", name="Filter").click()
        page.wait_for_url(re.compile(r"_min=1.*_max=100000"))
        expect(page.locator("#table-count")).to_contain_text(f"{ROWS} rows match")
        expect(page.get_by_label("long questions ≥")).to_have_value("1")
        snap(page, "desktop-filtered")

        page.locator("#bulk-reject-all").click()
        expect(page.locator("#bulk-count")).to_contain_text(f"{ROWS} generated rows")
        snap(page, "desktop-confirm")
        page.set_viewport_size({"width": 390, "height": 844})
        snap(page, "phone-confirm")
        page.set_viewport_size({"width": 1280, "height": 900})
        page.locator("#bulk-confirm").click()
        expect(page.locator(".flash")).to_contain_text(f"Rejected {ROWS} rows")
        expect(page.locator(".review-table .review-rejected")).to_have_count(ROWS)
        snap(page, "desktop-rejected")

        page.locator("#table-undo").click()
        expect(page.locator(".flash")).to_contain_text(f"Undone: {ROWS} rows put back")
        expect(page.locator(".review-table .review-rejected")).to_have_count(0)
        expect(page.get_by_label("long questions ≥")).to_have_value("1")  # the filter stays
        snap(page, "desktop-undone")
        page.set_viewport_size({"width": 390, "height": 844})
        snap(page, "phone-table")
        page.set_viewport_size({"width": 1280, "height": 900})

        page.locator("#focus-these").click()  # focus mode walks the same filter
        page.wait_for_url(re.compile(r"/review/\?review=table&tq=.*_min"))
        expect(page.locator(".focus-head h2")).to_contain_text("Row #0")
        expect(page.locator(".focus-left")).to_contain_text("the table’s filter")
        snap(page, "desktop-focus")
        page.locator("#focus-table-filter").click()
        page.wait_for_url(re.compile(r"/review/table/\?.*_min=1"))
        assert not errors
    finally:
        context.close()
