"""A new user's journey through the embedded studio, in a real browser.

Each test signs up its own user on the shared server (one SQLite database for the session), so
the tests do not depend on each other's data.
"""

from __future__ import annotations

import io
import json
import re
import time

import pandas as pd
import pytest
import yaml
from playwright.sync_api import Page, expect

from tests.e2e.conftest import DEMO_PASSWORD

pytestmark = pytest.mark.browser

PASSWORD = "a-long-e2e-password-42"
TOPICS = ("space", "oceans", "volcanoes")
PROMPT = "Write a question about {{ topic }}"


# ---- steps -------------------------------------------------------------------------------------


def sign_up(page: Page, base_url: str, username: str) -> None:
    page.goto(base_url + "/signup/")
    page.fill("#id_username", username)
    page.fill("#id_password1", PASSWORD)
    page.fill("#id_password2", PASSWORD)
    page.get_by_role("button", name="Sign up").click()
    expect(page.get_by_role("button", name=f"Sign out {username}")).to_be_visible()
    expect(page.get_by_role("heading", name="Projects", exact=True)).to_be_visible()


def log_in(page: Page, base_url: str, username: str, password: str) -> None:
    page.goto(base_url + "/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("button", name=f"Sign out {username}")).to_be_visible()


def create_project(page: Page, name: str) -> str:
    """From the project list; returns the project page's URL."""
    page.fill("#id_name", name)
    page.fill("#id_description", "Made by the browser tests")
    page.get_by_role("button", name="Create project").click()
    expect(page.get_by_role("heading", name=name, level=1)).to_be_visible()
    assert re.search(r"/projects/\d+/$", page.url), page.url
    return page.url


def add_openai_compatible_credential(
    page: Page, *, name: str, base_url: str, api_key: str, requests_per_minute: int = 6000
) -> None:
    """From the project page; ends on the project page."""
    page.get_by_role("link", name="Add credential").click()
    page.fill("#id_name", name)
    page.select_option("#id_provider", value="openai_compatible")
    page.fill("#id_base_url", base_url)
    page.fill("#id_api_key", api_key)
    page.fill("#id_requests_per_minute", str(requests_per_minute))
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Credential saved.")).to_be_visible()


def fill_schema(page: Page, *, name: str, prompt: str = PROMPT, credential: str) -> None:
    """On the new-schema page: `topic` category and an LLM `question` column."""
    page.fill("#id_name", name)
    topic = page.locator("li.column").nth(0)
    question = page.locator("li.column").nth(1)

    topic.locator('[name="columns-0-name"]').fill("topic")
    topic.locator('[name="columns-0-kind"]').select_option("category")
    topic.locator('[name="columns-0-values"]').fill(", ".join(TOPICS))

    question.locator('[name="columns-1-name"]').fill("question")
    kind = question.locator('[name="columns-1-kind"]')
    # The kind-specific fields follow the kind select (static/js/studio.js).
    kind.select_option("category")
    expect(question.locator('[name="columns-1-values"]')).to_be_visible()
    expect(question.locator('[name="columns-1-model"]')).to_be_hidden()
    kind.select_option("llm_text")
    expect(question.locator('[name="columns-1-values"]')).to_be_hidden()
    expect(question.locator('[name="columns-1-model"]')).to_be_visible()

    question.locator('[name="columns-1-credential"]').select_option(label=credential)
    question.locator('[name="columns-1-model"]').fill("gpt-4o-mini")
    question.locator('[name="columns-1-template"]').fill(prompt)


def credential_label(page: Page, name: str) -> str:
    """The label of the credential's option in the schema editor's select."""
    option = page.locator('[name="columns-1-credential"] option', has_text=name)
    return option.first.inner_text().strip()


def save_schema(page: Page, name: str) -> None:
    page.get_by_role("button", name="Save schema").click()
    expect(page.get_by_text(f"Schema '{name}' saved (version 1).")).to_be_visible()
    assert re.search(r"/schemas/\d+/$", page.url), page.url


def start_run(page: Page, rows: int) -> None:
    """From the saved schema's page; ends on the run page."""
    page.fill('input[name="num_rows"]', str(rows))
    page.get_by_role("button", name="Start run").click()
    page.wait_for_url(re.compile(r"/runs/\d+/$"))
    expect(page.locator("#run-progress")).to_contain_text(f"/ {rows} rows")


def wait_live(page: Page) -> None:
    """The run page's websocket is connected."""
    expect(page.locator("#live-indicator")).to_have_text("● live")


# ---- tests -------------------------------------------------------------------------------------


def test_new_user_walks_the_whole_journey(
    page: Page, studio_server, llm_server, hub_server, shot, tmp_path
) -> None:
    base = studio_server.url
    api_key = "sk-e2e-key-1234"
    llm_server.valid_keys = {api_key}

    # Sign up and create a project.
    sign_up(page, base, "alice")
    shot(page, "signed-up")
    create_project(page, "Trivia")

    # A credential for the fake OpenAI-compatible server; its key is never shown back. A low
    # requests-per-minute makes the rows of the run finish one after the other.
    add_openai_compatible_credential(
        page,
        name="Fake OpenAI",
        base_url=llm_server.openai_base_url,
        api_key=api_key,
        requests_per_minute=120,
    )
    credentials = page.locator("section.card", has=page.get_by_role("heading", name="Credentials"))
    expect(credentials).to_contain_text("Fake OpenAI")
    expect(credentials).to_contain_text("••••1234")
    assert api_key not in page.content()
    shot(page, "credential-added")
    page.get_by_role("link", name="Fake OpenAI").click()
    expect(page.locator("code", has_text="••••1234")).to_be_visible()
    assert api_key not in page.content()
    assert page.locator("#id_api_key").input_value() == ""
    page.go_back()

    # A new schema: topic → question, previewed before it is saved.
    page.get_by_role("link", name="New schema").click()
    fill_schema(page, name="Trivia QA", credential=credential_label(page, "Fake OpenAI"))
    page.get_by_role("button", name="Preview 3 rows").click()
    previews = page.locator("#preview .preview-row")
    expect(previews).to_have_count(3)
    for i in range(3):
        prompt = previews.nth(i).locator("details.prompt pre").text_content() or ""
        assert re.fullmatch(r"Write a question about (space|oceans|volcanoes)", prompt.strip()), (
            prompt
        )
        expect(previews.nth(i)).to_contain_text("Simulated answer to: Write a question about")
    previews.nth(0).locator("details.prompt summary").click()
    shot(page, "schema-preview")
    assert llm_server.prompts(), "the preview called the provider"
    save_schema(page, "Trivia QA")
    expect(page.locator("ol.levels")).to_contain_text("topic")

    # A run of 8 rows: they stream in over the websocket, the page is never reloaded.
    start_run(page, 8)
    page.evaluate("window.__noReload = true")
    wait_live(page)
    counts = []
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        counts.append(page.locator(".row-card").count())
        if page.locator("#run-progress").inner_text().strip() == "8 / 8 rows" and counts[-1] == 8:
            break
        page.wait_for_timeout(100)
    expect(page.locator("#run-progress")).to_have_text("8 / 8 rows")
    expect(page.locator(".row-card")).to_have_count(8)
    assert counts == sorted(counts), f"the row count only grows: {counts}"
    assert len(set(counts)) > 2, f"rows appeared over time, not all at once: {counts}"
    assert page.evaluate("window.__noReload") is True, "the run page was reloaded"
    assert page.evaluate('performance.getEntriesByType("navigation").length') == 1
    expect(page.locator("#run-status")).to_have_text("Finished")
    expect(page.locator("#count-generated")).to_have_text("8")
    for card in page.locator(".row-card").all():
        expect(card.locator(".status")).to_have_text("Generated")
        expect(card).to_contain_text("Simulated answer to: Write a question about")
    shot(page, "run-finished")

    # Review: accept three rows, reject one; each button swaps its row in place.
    row_ids = [card.get_attribute("id") for card in page.locator(".row-card").all()[:4]]
    for row_id in row_ids[:3]:
        page.locator(f"#{row_id}").get_by_role("button", name="✓ Accept").click()
        expect(page.locator(f"#{row_id}")).to_have_class(re.compile(r"\brow-review-accepted\b"))
        expect(page.locator(f"#{row_id} .review")).to_have_text("Accepted")
    page.locator(f"#{row_ids[3]}").get_by_role("button", name="✗ Reject").click()
    expect(page.locator(f"#{row_ids[3]}")).to_have_class(re.compile(r"\brow-review-rejected\b"))
    expect(page.locator(f"#{row_ids[3]} .review")).to_have_text("Rejected")
    expect(page.locator(".row-card")).to_have_count(8)
    assert page.evaluate("window.__noReload") is True, "reviewing reloaded the page"
    shot(page, "reviewed")

    # Export: the accepted rows as JSONL.
    page.get_by_role("link", name="Export").click()
    expect(page.get_by_role("heading", name=re.compile(r"Export run #\d+"))).to_be_visible()
    expect(page.get_by_text("3 accepted of 8 generated rows")).to_be_visible()
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Accepted rows as JSONL").click()
    download = download_info.value
    assert download.suggested_filename.endswith("-accepted.jsonl")
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 3, lines
    records = [json.loads(line) for line in lines]
    for record in records:
        assert set(record) == {"topic", "question"}, record
        assert record["topic"] in TOPICS
        assert record["question"].startswith("Simulated answer to: Write a question about")

    # Push the accepted rows to the (fake) Hub; the pushes list updates by itself.
    page.fill("#id_repo_id", "e2e-user/trivia")
    page.fill("#id_token", "hf_test_token")
    page.get_by_role("button", name="Push accepted rows").click()
    expect(page.get_by_text("Push queued.")).to_be_visible()
    push = page.locator("#hub-exports .hub-export").first
    expect(push).to_contain_text("e2e-user/trivia")
    expect(push.locator(".status")).to_have_text("Pushed", timeout=30_000)
    expect(push).to_contain_text("3 rows")
    assert "hf_test_token" not in page.content()
    shot(page, "pushed")

    repo = hub_server.repos["e2e-user/trivia"]
    assert repo.repo_type == "dataset"
    parquet = [path for path in repo.files if path.endswith(".parquet")]
    assert len(parquet) == 1, list(repo.files)
    frame = pd.read_parquet(io.BytesIO(repo.files[parquet[0]]))
    assert len(frame) == 3
    assert list(frame.columns) == ["topic", "question"]
    assert sorted(frame.to_dict("records"), key=json.dumps) == sorted(records, key=json.dumps)
    card = repo.files["README.md"].decode()
    assert card.startswith("---\n"), card[:200]
    front_matter = card[4:].split("\n---", 1)[0]
    assert isinstance(yaml.safe_load(front_matter), dict)
    assert "Trivia QA" in card

    assert page.js_errors == []  # type: ignore[attr-defined]


def test_provider_401_fails_rows_and_retry_after_fixing_key(
    page: Page, studio_server, llm_server, shot
) -> None:
    base = studio_server.url
    llm_server.valid_keys = {"sk-right-key-9999"}
    sign_up(page, base, "bob")
    project_url = create_project(page, "Keys")
    add_openai_compatible_credential(
        page, name="Mistyped", base_url=llm_server.openai_base_url, api_key="sk-wrong-key-0000"
    )
    page.get_by_role("link", name="New schema").click()
    fill_schema(page, name="Keyed QA", credential=credential_label(page, "Mistyped"))
    save_schema(page, "Keyed QA")

    start_run(page, 3)
    run_url = page.url
    wait_live(page)
    expect(page.locator("#run-progress")).to_have_text("3 / 3 rows")
    expect(page.locator("#count-failed")).to_have_text("3")
    expect(page.locator("#run-errors")).to_contain_text("Incorrect API key provided")
    expect(page.locator(".row-card.row-failed")).to_have_count(3)
    retry = page.locator("#retry-failed")
    expect(retry).to_have_text("Retry 3 failed rows")
    shot(page, "failed")

    # Fix the key; the stored one is replaced, never shown.
    page.goto(project_url)
    page.get_by_role("link", name="Mistyped").click()
    expect(page.locator("code", has_text="••••0000")).to_be_visible()
    page.fill("#id_api_key", "sk-right-key-9999")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_text("Credential updated.")).to_be_visible()
    expect(page.locator("section.card", has_text="Mistyped")).to_contain_text("••••9999")

    page.goto(run_url)
    wait_live(page)  # the counters, and the retry button, now come from the websocket
    page.evaluate("window.__noReload = true")
    page.locator("#retry-failed").click()  # htmx posts; the websocket brings the new state
    expect(page.locator("#count-generated")).to_have_text("3", timeout=20_000)
    expect(page.locator("#count-failed")).to_have_text("0")
    expect(page.locator("#run-status")).to_have_text("Finished")
    expect(page.locator(".row-card.row-generated")).to_have_count(3)
    expect(page.locator(".row-card.row-failed")).to_have_count(0)
    expect(page.locator("#retry-failed")).to_have_count(0)
    assert page.evaluate("window.__noReload === true")  # the rows changed in place
    shot(page, "retried")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_unknown_column_is_refused_at_save(page: Page, studio_server, llm_server) -> None:
    sign_up(page, studio_server.url, "carol")
    project_url = create_project(page, "Typos")
    add_openai_compatible_credential(
        page, name="Fake", base_url=llm_server.openai_base_url, api_key="sk-any-key-5555"
    )
    page.get_by_role("link", name="New schema").click()
    fill_schema(
        page,
        name="Typo QA",
        prompt="Write a question about {{ topc }}",
        credential=credential_label(page, "Fake"),
    )
    page.get_by_role("button", name="Save schema").click()
    problems = page.locator("#schema-problems")
    expect(problems).to_contain_text("The schema was not saved")
    expect(problems).to_contain_text("topc")
    assert "/schemas/new/" in page.url
    # What was typed is kept for fixing.
    assert page.locator('[name="columns-1-template"]').input_value() == (
        "Write a question about {{ topc }}"
    )
    page.goto(project_url)
    schemas = page.locator("section.card", has=page.get_by_role("heading", name="Schemas"))
    expect(schemas).to_contain_text("No schemas yet.")
    expect(schemas).not_to_contain_text("Typo QA")


def test_demo_project_runs_offline(page: Page, demo_server, shot) -> None:
    log_in(page, demo_server.url, "demo", DEMO_PASSWORD)
    page.get_by_role("link", name=re.compile("Demo: trivia questions")).click()
    credentials = page.locator("section.card", has=page.get_by_role("heading", name="Credentials"))
    expect(credentials.locator(".badge.sim")).to_contain_text("Simulated")
    shot(page, "demo-project")
    page.get_by_role("link", name="Trivia QA").click()
    start_run(page, 5)
    wait_live(page)
    expect(page.locator("#run-progress")).to_have_text("5 / 5 rows", timeout=30_000)
    expect(page.locator("#run-status")).to_have_text("Finished")
    cards = page.locator(".row-card")
    expect(cards).to_have_count(5)
    for card in cards.all():
        expect(card.locator(".status")).to_have_text("Generated")
        expect(card).to_contain_text("[simulated]")
    shot(page, "demo-run")
    assert page.js_errors == []  # type: ignore[attr-defined]
