"""Focus mode in a real browser: a reviewer walks a run's rows with the keyboard only —
accept, reject, edit a value, undo — and a reload keeps both the row and the decisions."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_live_monitor import open_page, set_up_schema, start_run, wait_finished
from tests.e2e.test_walkthrough import wait_live

pytestmark = pytest.mark.browser
ROWS = 10
SHOTS = Path(__file__).resolve().parents[2] / "shots"


def save(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"review-{name}.png"), full_page=True)


def row_shown(page: Page, index: int) -> None:
    expect(page.locator(".focus-head h2")).to_contain_text(f"Row #{index}")


def test_a_reviewer_goes_through_the_rows_with_the_keyboard_only(
    browser: Browser, studio_server, llm_server
) -> None:
    base = studio_server.url
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = open_page(context)
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        page.on("pageerror", lambda e: errors.append(str(e)))
        set_up_schema(page, base, llm_server, user="focus-fay", rpm=6000)
        run_url = start_run(page, ROWS)
        wait_live(page)
        wait_finished(page, ROWS)
        page.get_by_role("link", name="Review", exact=True).click()
        page.wait_for_url(re.compile(r"/review/$"))
        row_shown(page, 0)
        page.keyboard.press("?")
        expect(page.locator("[data-focus-keys]")).to_be_visible()
        save(page, "desktop-start")
        page.keyboard.press("?")

        page.keyboard.press("a")  # accept #0, on to #1
        row_shown(page, 1)
        page.keyboard.press("r")  # reject #1, on to #2
        row_shown(page, 2)
        page.keyboard.press("j")
        row_shown(page, 3)
        page.keyboard.press("ArrowLeft")
        row_shown(page, 2)
        page.keyboard.press("s")  # skip: #2 stays pending
        row_shown(page, 3)

        page.keyboard.press("e")  # the first field; keys typed there are text, not actions
        field = page.locator("[data-focus-field]").first
        expect(field).to_be_focused()
        field.press("Control+a")
        page.keyboard.type("a topic, typed: a r e j u s k")
        page.keyboard.press("Control+Enter")
        expect(page.locator(".focus-value").first).to_contain_text("a topic, typed: a r e j u s k")
        expect(page.locator(".focus-original").first).to_be_visible()
        row_shown(page, 3)
        save(page, "desktop-edited")
        page.keyboard.press("a")  # accept the edited #3, on to #4
        row_shown(page, 4)
        for index in range(4, 8):
            page.keyboard.press("a" if index % 2 == 0 else "r")
            row_shown(page, index + 1)

        page.keyboard.press("u")  # undo the reject of #7: it is shown again, pending
        row_shown(page, 7)
        expect(page.locator("[data-review-state]")).to_have_text("Unreviewed")
        page.keyboard.press("u")  # and the accept of #6
        row_shown(page, 6)
        expect(page.locator("[data-review-state]")).to_have_text("Unreviewed")

        page.reload()
        row_shown(page, 6)
        expect(page.locator(".focus-left")).to_contain_text("5 rows in “pending”")  # 2, 6, 7, 8, 9
        page.keyboard.press("u")  # across the reload: the reject of #5
        row_shown(page, 5)
        page.keyboard.press("a")
        row_shown(page, 6)
        activity = page.locator(".focus-activity")
        expect(activity).to_contain_text("focus-fay accepted row #5")
        expect(activity).to_contain_text("edited topic of row #3")
        save(page, "desktop-after-reload")

        page.goto(f"{run_url}review/?review=all&row=3")
        page.locator(".focus-original summary").first.click()
        expect(page.locator(".focus-original pre").first).to_be_visible()
        page.set_viewport_size({"width": 390, "height": 844})
        save(page, "phone-original")
        assert errors == []
    finally:
        context.close()
