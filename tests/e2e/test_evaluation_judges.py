"""An LLM judge evaluation set up in the browser: the form shows the judge's fields (the
project's credentials to choose from, the rubric as lines), the judge scores the demo run with
the offline simulator, and the page shows the scores per criterion with the judge's reasons."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD
from tests.e2e.test_walkthrough import log_in, start_run, wait_live

pytestmark = pytest.mark.browser

RUBRIC = (
    "accuracy (1-5): the answer is factually correct\n"
    "clarity (1-5): the answer is short and clear\n"
    "on_topic (pass/fail): the answer is about the question's topic"
)


def test_a_judge_evaluation_is_set_up_and_scored(page: Page, demo_server, shot) -> None:
    log_in(page, demo_server.url, "demo", DEMO_PASSWORD)
    page.get_by_role("link", name=re.compile("Demo: trivia questions")).click()
    page.get_by_role("link", name="Trivia QA").click()
    start_run(page, 5)
    wait_live(page)
    expect(page.locator("#run-progress")).to_have_text("5 / 5 rows", timeout=30_000)

    page.get_by_role("link", name="+ Evaluate").click()
    page.fill("#id_name", "Answer quality")
    page.select_option("#id_kind", "llm_judge")
    # Only the judge's fields are shown (static/js/studio.js).
    expect(page.locator("#id_criteria")).to_be_visible()
    expect(page.locator("#id_reference_value")).to_be_hidden()
    page.select_option("#id_column", "answer")
    page.select_option("#id_credential_id", label="Offline simulator (simulated)")
    page.fill("#id_model", "simulated-model")
    page.fill(
        "#id_prompt",
        "A student was asked: {{ question }}\nTheir answer: {{ answer }}\nTopic: {{ topic }}",
    )
    page.fill("#id_criteria", RUBRIC)
    page.fill("#id_pass_threshold", "3")
    shot(page, "judge-form")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "judge-form-390px")
    page.set_viewport_size({"width": 1280, "height": 900})

    # A rubric line it cannot read is sent back with the reason, the other fields kept.
    page.fill("#id_criteria", RUBRIC + "\nstyle matters a lot")
    page.get_by_role("button", name="Start evaluation").click()
    expect(page.locator(".field.invalid")).to_contain_text("Line 4: write 'name (1-5)")
    expect(page.locator("#id_model")).to_have_value("simulated-model")

    page.fill("#id_criteria", RUBRIC)
    page.get_by_role("button", name="Start evaluation").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    expect(page.locator(".evaluation-item .status")).to_have_text("Done", timeout=30_000)
    page.reload()
    expect(page.locator("#summary-mean")).to_be_visible()
    expect(page.get_by_role("heading", name=re.compile("Per criterion"))).to_be_visible()
    expect(page.locator(".scores-table tbody tr")).to_have_count(5)
    page.locator(".score-detail summary").first.click()
    expect(page.locator(".score-detail dt", has_text="on_topic").first).to_be_visible()
    shot(page, "judge-scores")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "judge-scores-390px")
    page.set_viewport_size({"width": 1280, "height": 900})

    # A pairwise judge of two columns: both orders asked, the flips counted in the summary.
    page.get_by_role("link", name=re.compile(r"Run #\d+")).click()
    page.get_by_role("link", name="+ Evaluate").click()
    page.fill("#id_name", "Answer vs question")
    page.select_option("#id_kind", "pairwise_judge")
    expect(page.locator("#id_criteria")).to_be_hidden()
    page.select_option("#id_column", "answer")
    page.select_option("#id_column_b", "question")
    page.select_option("#id_credential_id", label="Offline simulator (simulated)")
    page.fill("#id_model", "simulated-model")
    page.fill("#id_prompt", "Which text tells a reader more about {{ topic }}?")
    shot(page, "pairwise-form")
    page.get_by_role("button", name="Start evaluation").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    expect(
        page.locator(".evaluation-item", has_text="Answer vs question").locator(".status")
    ).to_have_text("Done", timeout=30_000)
    page.reload()
    expect(page.locator(".summary-figures")).to_contain_text("Position flips")
    page.locator(".score-detail summary").first.click()
    expect(page.locator(".score-detail .verdicts").first).to_contain_text("answer shown first")
    shot(page, "pairwise-scores")
    assert page.js_errors == []  # type: ignore[attr-defined]
