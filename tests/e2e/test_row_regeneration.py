"""Regenerating from focus mode in a real browser: an editor regenerates one cell (its
dependant follows, the other model column is not asked again), confirms with Enter, sees the
new value arrive and the earlier one in the row's history; `g` asks for the whole row and Esc
cancels. Screenshots at desktop width and at 390 px."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Browser, Page, expect

from tests.e2e.test_live_monitor import open_page, run_id_of, start_run, wait_finished
from tests.e2e.test_walkthrough import (
    add_openai_compatible_credential,
    create_project,
    sign_up,
    wait_live,
)

pytestmark = pytest.mark.browser
ROWS = 3
SHOTS = Path(__file__).resolve().parents[2] / "shots"
ANSWER = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}


def save(page: Page, name: str) -> None:
    SHOTS.mkdir(exist_ok=True)
    page.screenshot(path=str(SHOTS / f"regen-{name}.png"), full_page=True)


def _spec(credential_id: int) -> dict:
    llm = {"credential_id": credential_id, "model": "gpt-4o-mini", "max_reasks": 0}
    return {
        "name": "Sky QA",
        "columns": [
            {"name": "topic", "kind": "category", "values": ["the sky"]},
            {"name": "question", "kind": "llm_structured", "prompt": "Ask about {{ topic }}"}
            | {"json_schema": ANSWER}
            | llm,
            {"name": "reply", "kind": "llm_structured", "prompt": "Reply to {{ question.answer }}"}
            | {"json_schema": ANSWER}
            | llm,
            {"name": "note", "kind": "llm_text", "prompt": "Note on {{ topic }}"}
            | {k: v for k, v in llm.items() if k != "max_reasks"},
        ],
    }


def import_schema(page: Page, tmp_path: Path) -> None:
    """From the project page: a schema imported from YAML (ends on the schema's page)."""
    page.get_by_role("link", name="New schema").click()
    option = page.locator('[name="columns-1-credential"] option', has_text="Paced").first
    credential_id = int(option.get_attribute("value") or 0)
    path = tmp_path / "sky.yaml"
    path.write_text(yaml.safe_dump(json.loads(json.dumps(_spec(credential_id)))), "utf-8")
    starters = page.locator("details.starters")
    starters.locator("summary").click()
    starters.locator('input[type="file"]').set_input_files(str(path))
    starters.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported schema 'Sky QA'.")).to_be_visible()


def test_an_editor_regenerates_a_cell_and_a_row_from_focus_mode(
    browser: Browser, studio_server, llm_server, tmp_path
) -> None:
    base = studio_server.url
    llm_server.valid_keys = None
    first = [{"answer": "Why is the sky blue?"}] * ROWS
    llm_server.answer_when("Ask about the sky", *first, {"answer": "What makes sunsets red?"})
    llm_server.answer_when("Reply to Why", {"answer": "Rayleigh scattering."})
    llm_server.answer_when("Reply to What", {"answer": "Light crossing more air."})
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = open_page(context)
        errors: list[str] = []
        page.on("console", lambda m: m.type == "error" and errors.append(m.text))
        sign_up(page, base, "regen-rita")
        create_project(page, "Sky")
        add_openai_compatible_credential(
            page, name="Paced", base_url=llm_server.openai_base_url, api_key="sk-regen-0000"
        )
        import_schema(page, tmp_path)
        run_url = start_run(page, ROWS, budget="1.00")
        wait_live(page)
        wait_finished(page, ROWS)
        notes = len([p for p in llm_server.prompts() if p.startswith("Note on")])

        page.goto(f"{run_url}review/?review=all&row=0")
        question = page.locator(".focus-value", has=page.locator("h3 code", has_text="question"))
        expect(question).to_contain_text("Why is the sky blue?")
        question.get_by_role("link", name="↻ Regenerate").click()
        confirm = page.locator("[data-focus-confirm]")
        expect(confirm).to_contain_text("for 2 columns: question, reply (depends on it)")
        expect(confirm).to_contain_text(re.compile(r"Budget left: \$\d\.\d{4} of \$1\.00"))
        save(page, "desktop-confirm")
        page.keyboard.press("Enter")

        expect(question).to_contain_text("What makes sunsets red?", timeout=20_000)
        reply = page.locator(".focus-value", has=page.locator("h3 code", has_text="reply"))
        expect(reply).to_contain_text("Light crossing more air.")
        expect(page.locator(".focus-pending")).to_have_count(0)
        history = page.locator("[data-focus-history]")
        expect(history).to_contain_text("Attempt 1 (manual, by regen-rita)")
        expect(history).to_contain_text("Why is the sky blue?")
        activity = page.locator(".focus-activity")
        expect(activity).to_contain_text("regen-rita regenerated question, reply of row #0")
        assert len([p for p in llm_server.prompts() if p.startswith("Note on")]) == notes
        save(page, "desktop-regenerated")

        page.keyboard.press("u")  # a regeneration is not undone
        expect(page.locator(".errors")).to_contain_text("a regeneration is not undone")

        # The row's own page: a button per model column and one for the row.
        rows = page.request.get(f"{base}/api/runs/{run_id_of(run_url)}/rows").json()["items"]
        row_id = next(r["id"] for r in rows if r["index"] == 0)
        page.goto(f"{base}/rows/{row_id}/")
        expect(page.get_by_role("link", name="↻ Regenerate row")).to_be_visible()
        page.locator("#call-note").get_by_role("link", name="↻ Regenerate").click()
        expect(page.locator("#regenerate-what")).to_contain_text("for 1 column: note.")
        save(page, "desktop-row-page-confirm")
        page.get_by_role("button", name="↻ Regenerate").click()
        expect(page.locator(".flash")).to_contain_text("Regenerating note of row #0: reload")
        expect(page.locator("#row-history")).to_contain_text("now attempt 3")
        save(page, "desktop-row-page")
        page.goto(f"{run_url}review/?review=all&row=0")
        expect(page.locator("[data-focus-history]")).to_contain_text("Attempt 2", timeout=20_000)
        expect(page.locator(".focus-pending")).to_have_count(0, timeout=20_000)
        save(page, "desktop-history")

        page.keyboard.press("j")
        expect(page.locator(".focus-head h2")).to_contain_text("Row #1")
        page.keyboard.press("g")
        expect(confirm).to_contain_text("for 3 columns: question, reply, note")
        page.set_viewport_size({"width": 390, "height": 844})
        save(page, "phone-confirm")
        page.keyboard.press("Escape")
        expect(confirm).to_have_count(0)
        page.goto(f"{run_url}review/?review=all&row=0")
        save(page, "phone-history")
        assert errors == []
    finally:
        context.close()
