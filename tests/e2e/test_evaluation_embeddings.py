"""An embedding-similarity evaluation set up in the browser on the demo run, with the offline
simulator's embeddings: the form shows the kind's fields, an out-of-range threshold is sent back
next to its field, and the page shows the chart of the cosines and says, in the summary and on
each row, that the embeddings are simulated, not semantic."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD
from tests.e2e.test_walkthrough import log_in, start_run, wait_live

pytestmark = pytest.mark.browser
ROWS = 5
NOTE = "simulated embeddings, not semantic"


def test_an_embedding_similarity_evaluation_with_the_simulator(
    page: Page, demo_server, shot
) -> None:
    log_in(page, demo_server.url, "demo", DEMO_PASSWORD)
    page.get_by_role("link", name=re.compile("Demo: trivia questions")).click()
    page.get_by_role("link", name="Trivia QA").click()
    start_run(page, ROWS)
    wait_live(page)
    expect(page.locator("#run-progress")).to_have_text(f"{ROWS} / {ROWS} rows", timeout=30_000)

    page.get_by_role("link", name="+ Evaluate").click()
    page.fill("#id_name", "Answer close to question")
    page.select_option("#id_kind", "embedding_similarity")
    # Only this kind's fields are shown.
    expect(page.locator("#id_model")).to_be_visible()
    expect(page.locator("#id_criteria")).to_be_hidden()
    page.select_option("#id_column", "answer")
    page.select_option("#id_reference_column", "question")
    page.select_option("#id_credential_id", label="Offline simulator (simulated)")
    page.fill("#id_model", "text-embedding-3-small")
    page.fill("#id_threshold", "1.5")
    page.get_by_role("button", name="Start evaluation").click()
    expect(page.locator(".field.invalid")).to_contain_text("must be between -1 and 1")
    page.fill("#id_threshold", "0.2")
    shot(page, "embedding-form")
    page.set_viewport_size({"width": 390, "height": 900})
    shot(page, "embedding-form-390px")
    page.set_viewport_size({"width": 1280, "height": 900})

    page.get_by_role("button", name="Start evaluation").click()
    page.wait_for_url(re.compile(r"/evaluations/\d+/$"))
    expect(page.locator(".evaluation-item .status")).to_have_text("Done", timeout=30_000)
    page.reload()
    expect(page.locator("#summary-mean")).to_be_visible()
    expect(page.locator(".summary-figures")).to_contain_text("simulated, not semantic")
    bars = page.locator("svg.histogram rect")
    counts = [int(bars.nth(i).get_attribute("data-count") or 0) for i in range(bars.count())]
    assert sum(counts) == ROWS
    expect(page.locator(".scores-table tbody tr")).to_have_count(ROWS)
    expect(page.locator(".scores-table .score-note").first).to_have_text(NOTE)
    shot(page, "embedding-scores")
    page.set_viewport_size({"width": 390, "height": 900})
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the evaluation page is {width}px wide on a 390px screen"
    shot(page, "embedding-scores-390px")
    assert page.js_errors == []  # type: ignore[attr-defined]
