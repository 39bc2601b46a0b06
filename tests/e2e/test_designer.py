"""The schema designer in a real browser: every kind of column built by hand without a page
reload, live checks beside the column at fault, previews, versions, export and import, recipes
over an uploaded document, and a hostile template that is refused before anything runs.

Each test signs up its own user on the shared embedded-mode server (see conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml
from playwright.sync_api import Locator, Page, expect

from tests.e2e.test_walkthrough import add_openai_compatible_credential, create_project, sign_up

pytestmark = pytest.mark.browser

SEED_CSV = "topic,difficulty\nphotosynthesis,easy\nplate tectonics,hard\nblack holes,medium\n"
SEED_TOPICS = ("photosynthesis", "plate tectonics", "black holes")
QA_PROMPT = "Write a {{ tone }} quiz question and its answer about {{ label }}."
QA_PROMPT_V2 = "Write one {{ tone }} exam question, with its answer, on {{ label }}."
JUDGE_PROMPT = "Question: {{ qa.question }}\nAnswer: {{ qa.answer }}"
CRITERIA = (
    "accuracy (1-5): the answer is factually correct\n"
    "clarity (1-5): the question is clear and unambiguous"
)
DOCUMENT = (
    "# The lighthouse keeper\n\n"
    "The lighthouse on Skerry Point was kept by Ada Thorne for thirty-one years. "
    "Every evening she climbed the 214 steps to light the lamp, and every morning she "
    "wrote the weather, the ships she had seen and the state of the lens in a leather logbook.\n\n"
    "In the storm of 1893 the lamp failed twice; both times Ada relit it by hand and kept it "
    "burning until dawn, and no ship was lost on the reef that night.\n\n"
    "The lens was a first-order Fresnel lens made in Paris in 1871. It weighed almost three "
    "tonnes and floated on a bath of mercury, so that a single hand could turn it.\n\n"
    "When the light was automated in 1952 the logbooks went to the county museum, where "
    "they can still be read on request.\n"
)
CHUNK_SIZE = 300  # several chunks, so that each previewed row reads a different passage


# ---- steps -------------------------------------------------------------------------------------


def upload_seed_file(page: Page, path: Path) -> None:
    """From the project page; ends on the uploaded file's page."""
    page.locator("#seed-files").locator('input[type="file"]').set_input_files(str(path))
    page.locator("#seed-files").get_by_role("button", name="Upload").click()
    expect(page.get_by_text(f"Uploaded {path.name}.")).to_be_visible()


def column(page: Page, index: int) -> Locator:
    return page.locator("#columns li.column").nth(index)


def field(page: Page, index: int, name: str) -> Locator:
    return page.locator(f'[name="columns-{index}-{name}"]')


def column_names(page: Page) -> list[str]:
    return [box.input_value() for box in page.locator('#columns input[name$="-name"]').all()]


_COUNT_DESIGNER_SWAPS = """() => {
  if (window.__designerSwaps === undefined) {
    window.__designerSwaps = 0;
    document.body.dataset.designerSwaps = "0";
    document.body.addEventListener("htmx:afterSettle", (event) => {
      const xhr = event.detail.xhr;
      if (xhr && xhr.responseURL.includes("/schemas/designer/")) {
        window.__designerSwaps += 1;
        document.body.dataset.designerSwaps = String(window.__designerSwaps);
      }
    });
  }
  return window.__designerSwaps;
}"""


def _click_and_wait_for_columns(page: Page, button: Locator) -> None:
    """Click a designer button and wait until htmx has swapped the re-rendered columns in: the
    response arriving is not enough, the swap happens after it."""
    before = page.evaluate(_COUNT_DESIGNER_SWAPS)
    button.click()
    # An attribute, not wait_for_function: the page's CSP forbids the eval that one polls with.
    expect(page.locator("body")).not_to_have_attribute("data-designer-swaps", str(before))


def designer_op(page: Page, index: int, button: str) -> None:
    """Click one of a column's tools (Move up ↑, Move down ↓, Duplicate, Delete); wait for the
    re-render."""
    _click_and_wait_for_columns(
        page, column(page, index).get_by_role("button", name=button, exact=True)
    )


def add_column(page: Page, kind: str) -> int:
    """Click "+ Add column" with the kind select; returns the new column's index."""
    before = page.locator("#columns li.column").count()
    page.select_option('select[name="new_kind"]', kind)
    _click_and_wait_for_columns(page, page.get_by_role("button", name="+ Add column"))
    expect(page.locator("#columns li.column")).to_have_count(before + 1)
    expect(column(page, before)).to_have_attribute("data-kind", kind)
    return before


def set_llm(page: Page, index: int, *, credential: str, prompt: str) -> None:
    field(page, index, "credential").select_option(label=credential)
    field(page, index, "model").fill("gpt-4o-mini")
    field(page, index, "template").fill(prompt)


def schema_yaml(page: Page, tmp_path: Path) -> dict:
    """Export the open schema as YAML through its button; the parsed file."""
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Export YAML").click()
    download = download_info.value
    target = tmp_path / download.suggested_filename
    download.save_as(target)
    return yaml.safe_load(target.read_text(encoding="utf-8"))


def no_reload_so_far(page: Page) -> None:
    assert page.evaluate("window.__noReload") is True, "the designer reloaded the page"
    assert page.evaluate('performance.getEntriesByType("navigation").length') == 1


# ---- tests -------------------------------------------------------------------------------------


def test_build_a_five_column_schema_from_scratch(
    page: Page, studio_server, llm_server, shot, tmp_path
) -> None:
    sign_up(page, studio_server.url, "dana")
    project_url = create_project(page, "Quiz")
    add_openai_compatible_credential(
        page, name="Fake LLM", base_url=llm_server.openai_base_url, api_key="sk-designer-0001"
    )

    # A seed table; its page shows the first rows.
    csv = tmp_path / "topics.csv"
    csv.write_text(SEED_CSV, encoding="utf-8")
    upload_seed_file(page, csv)
    head = page.locator("#seed-head")
    expect(head.locator("thead th")).to_have_text(["topic", "difficulty"])
    expect(head.locator("tbody tr")).to_have_count(3)
    expect(head.locator("tbody tr").nth(1)).to_contain_text("plate tectonics")
    shot(page, "seed-table")

    page.goto(project_url)
    page.get_by_role("link", name="New schema").click()
    expect(page.get_by_role("heading", name="New schema", level=1)).to_be_visible()
    page.evaluate("window.__noReload = true")
    page.fill("#id_name", "Quiz QA")

    # (1) a category sampler in the first, blank column.
    field(page, 0, "name").fill("tone")
    field(page, 0, "values").fill("plain, playful")

    # The second blank column (LLM text) is not needed: Delete.
    expect(page.locator("#columns li.column")).to_have_count(2)
    designer_op(page, 1, "Delete")
    expect(page.locator("#columns li.column")).to_have_count(1)
    assert field(page, 0, "values").input_value() == "plain, playful", "typed values were kept"

    # (2) rows of the uploaded table.
    seed = add_column(page, "seed_data")
    field(page, seed, "name").fill("seed")
    expect(field(page, seed, "seed_file")).to_be_visible()
    expect(field(page, seed, "values")).to_be_hidden()
    # The option names the table's fields: the variables this column provides.
    field(page, seed, "seed_file").select_option(label="topics.csv — topic, difficulty")

    # (4) first, then (3): the order is fixed with ↓ below.
    qa = add_column(page, "llm_structured")
    field(page, qa, "name").fill("qa")
    set_llm(page, qa, credential="Fake LLM", prompt=QA_PROMPT)
    expect(field(page, qa, "schema_fields")).to_be_visible()
    field(page, qa, "schema_fields").fill("question: string\nanswer: string")

    label = add_column(page, "expression")
    field(page, label, "name").fill("label")
    expect(field(page, label, "credential")).to_be_hidden()
    # A typo: the live check names it, beside the column at fault.
    field(page, label, "template").fill("{{ topc }} ({{ difficulty }})")
    label_problems = page.locator(f"#column-{label}-problems")
    expect(label_problems).to_contain_text("unknown column 'topc'")
    expect(page.locator("#schema-problems")).to_contain_text("topc")
    expect(page.locator(f"#column-{qa}-problems")).to_be_empty()
    shot(page, "typo-flagged")
    field(page, label, "template").fill("{{ topic }} ({{ difficulty }})")
    expect(page.locator("#schema-problems")).to_have_text("✓ The schema is valid.")
    expect(label_problems).to_be_empty()

    # Move the structured column below the expression it reads: ↓.
    designer_op(page, qa, "Move down")  # ↓
    assert column_names(page) == ["tone", "seed", "label", "qa"]
    label, qa = 2, 3
    assert field(page, qa, "template").input_value() == QA_PROMPT
    assert field(page, qa, "schema_fields").input_value() == "question: string\nanswer: string"
    expect(field(page, seed, "seed_file").locator("option:checked")).to_have_text(
        "topics.csv — topic, difficulty"
    )
    expect(column(page, qa)).to_have_attribute("data-kind", "llm_structured")

    # (5) a judge with two criteria and a pass threshold.
    judge = add_column(page, "llm_judge")
    field(page, judge, "name").fill("rating")
    set_llm(page, judge, credential="Fake LLM", prompt=JUDGE_PROMPT)
    expect(field(page, judge, "criteria")).to_be_visible()
    expect(field(page, judge, "schema_fields")).to_be_hidden()
    field(page, judge, "criteria").fill(CRITERIA)
    field(page, judge, "pass_threshold").fill("3")

    # Duplicate the judge, move the copy up with ↑, then delete it again.
    designer_op(page, judge, "Duplicate")
    assert column_names(page) == ["tone", "seed", "label", "qa", "rating", "rating_copy"]
    assert field(page, 5, "criteria").input_value() == CRITERIA
    designer_op(page, 5, "Move up")  # ↑
    assert column_names(page) == ["tone", "seed", "label", "qa", "rating_copy", "rating"]
    designer_op(page, 4, "Delete")
    assert column_names(page) == ["tone", "seed", "label", "qa", "rating"]
    assert field(page, judge, "criteria").input_value() == CRITERIA
    assert field(page, judge, "pass_threshold").input_value() == "3"

    # Valid, with the generation order.
    field(page, judge, "max_tokens").fill("400")  # any edit triggers a check
    expect(page.locator("#schema-problems")).to_have_text("✓ The schema is valid.")
    levels = page.locator("#schema-levels ol.levels > li")
    expect(levels).to_have_text(["tone, seed", "label", "qa", "rating"])
    for i in range(5):
        expect(page.locator(f"#column-{i}-problems")).to_be_empty()
    no_reload_so_far(page)
    shot(page, "designed")

    # Preview 3 rows: seed values, the expression, structured answers and verdicts; each LLM
    # column shows its prompt.
    page.get_by_role("button", name="Preview 3 rows").click()
    rows = page.locator("#preview .preview-row")
    expect(rows).to_have_count(3)
    for i in range(3):
        row = rows.nth(i)
        values = {
            (item.locator("dt").inner_text()): item.locator("dd").inner_text()
            for item in row.locator("dl.values > div").all()
        }
        assert set(values) >= {"tone", "topic", "difficulty", "label", "qa", "rating"}, values
        assert values["topic"] in SEED_TOPICS
        assert values["label"] == f"{values['topic']} ({values['difficulty']})"
        assert "Simulated question" in values["qa"] and "Simulated answer" in values["qa"]
        assert "accuracy" in values["rating"] and "clarity" in values["rating"]
        assert "passed" in values["rating"]
        prompts = row.locator("details.prompt")
        expect(prompts).to_have_count(2)
        expect(prompts.nth(0).locator("summary")).to_have_text("Prompt sent for qa")
        expect(prompts.nth(1).locator("summary")).to_have_text("Prompt sent for rating")
        qa_prompt = prompts.nth(0).locator("pre").text_content() or ""
        assert qa_prompt.strip() == (
            f"Write a {values['tone']} quiz question and its answer about {values['label']}."
        )
        judge_prompt = prompts.nth(1).locator("pre").text_content() or ""
        # The preview shows exactly what the judge is sent: the prompt, then its rubric.
        assert judge_prompt.startswith("Question: Simulated question\nAnswer: Simulated answer")
        assert "- accuracy (score 1 to 5)" in judge_prompt
    judged = [p for p in llm_server.prompts() if p.startswith("Question: Simulated question")]
    assert len(judged) == 3, llm_server.prompts()
    assert all("- accuracy (score 1 to 5)" in p and "- clarity (score 1 to 5)" in p for p in judged)
    rows.nth(0).locator("details.prompt summary").first.click()
    no_reload_so_far(page)
    shot(page, "preview")

    # Save: version 1.
    page.get_by_role("button", name="Save schema").click()
    expect(page.get_by_text("Schema 'Quiz QA' saved (version 1).")).to_be_visible()
    assert re.search(r"/schemas/\d+/$", page.url), page.url
    schema_url = page.url
    expect(page.locator("h1")).to_contain_text("version 1")
    assert column_names(page) == ["tone", "seed", "label", "qa", "rating"]
    # The saved structured column shows its answer fields as typed, not as JSON.
    assert field(page, 3, "schema_fields").input_value() == "question: string\nanswer: string"
    assert field(page, 3, "json_schema").input_value() == ""
    expect(page.locator("#schema-levels ol.levels > li")).to_have_text(
        ["tone, seed", "label", "qa", "rating"]
    )

    # Another prompt: version 2.
    field(page, 3, "template").fill(QA_PROMPT_V2)
    page.get_by_role("button", name="Save schema").click()
    expect(page.get_by_text("Schema 'Quiz QA' saved (version 2).")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("version 2")
    assert field(page, 3, "template").input_value() == QA_PROMPT_V2

    # Restore version 1 from the Versions list: version 3, with the first prompt.
    versions = page.locator("#versions li")
    expect(versions).to_have_count(2)
    expect(versions.filter(has_text="v2")).to_contain_text("current")
    shot(page, "versions")
    versions.filter(has_text="v1").get_by_role("button", name="restore").click()
    expect(page.get_by_text("Restored version 1 as version 3.")).to_be_visible()
    expect(page.locator("h1")).to_contain_text("version 3")
    assert field(page, 3, "template").input_value() == QA_PROMPT
    expect(page.locator("#versions li")).to_have_count(3)
    assert page.url == schema_url

    # Export as YAML, import it back on the New schema page: the same columns.
    exported = schema_yaml(page, tmp_path)
    assert exported["name"] == "Quiz QA"
    assert [c["name"] for c in exported["columns"]] == ["tone", "seed", "label", "qa", "rating"]
    assert [c["kind"] for c in exported["columns"]] == [
        "category",
        "seed_data",
        "expression",
        "llm_structured",
        "llm_judge",
    ]
    qa_column = exported["columns"][3]
    assert qa_column["prompt"] == QA_PROMPT
    assert qa_column["json_schema"]["properties"] == {
        "question": {"type": "string"},
        "answer": {"type": "string"},
    }
    rating = exported["columns"][4]
    assert [c["name"] for c in rating["criteria"]] == ["accuracy", "clarity"]
    assert rating["pass_threshold"] == 3
    assert exported["columns"][1]["fields"] == ["topic", "difficulty"]
    yaml_file = tmp_path / "quiz-export.yaml"
    yaml_file.write_text(yaml.safe_dump(exported), encoding="utf-8")

    page.goto(project_url)
    page.get_by_role("link", name="New schema").click()
    starters = page.locator("details.starters")
    starters.locator("summary").click()
    expect(starters.get_by_role("heading", name="Import YAML or JSON")).to_be_visible()
    starters.locator('input[type="file"]').set_input_files(str(yaml_file))
    shot(page, "import")
    starters.get_by_role("button", name="Import").click()
    expect(page.get_by_text("Imported schema 'Quiz QA (2)'.")).to_be_visible()
    assert re.search(r"/schemas/\d+/$", page.url) and page.url != schema_url, page.url
    expect(page.locator("h1")).to_contain_text("version 1")
    assert column_names(page) == ["tone", "seed", "label", "qa", "rating"]
    imported = schema_yaml(page, tmp_path)
    assert imported["name"] == "Quiz QA (2)"
    assert imported["columns"] == exported["columns"]

    page.goto(project_url)
    schemas = page.locator("section.card", has=page.get_by_role("heading", name="Schemas"))
    expect(schemas).to_contain_text("Quiz QA v3 · 5 columns")
    expect(schemas).to_contain_text("Quiz QA (2) v1 · 5 columns")
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_document_upload_previews_a_backtranslated_question(
    page: Page, studio_server, llm_server, shot, tmp_path
) -> None:
    sign_up(page, studio_server.url, "erin")
    project_url = create_project(page, "Lighthouse")
    add_openai_compatible_credential(
        page, name="Docs LLM", base_url=llm_server.openai_base_url, api_key="sk-designer-0002"
    )
    document = tmp_path / "lighthouse.md"
    document.write_text(DOCUMENT, encoding="utf-8")
    upload_seed_file(page, document)
    expect(page.get_by_role("heading", name="Chunk 1")).to_be_visible()
    expect(page.locator("pre.chunk").first).to_contain_text("Ada Thorne")
    shot(page, "document")

    page.goto(project_url)
    page.get_by_role("link", name="New schema").click()
    page.locator("details.starters summary").click()
    page.get_by_role("link", name="Questions and answers from your documents").click()
    assert "recipe=qa-from-documents" in page.url
    expect(page.locator("#id_name")).to_have_value("Questions and answers from your documents")
    assert column_names(page) == ["passage", "question", "answer", "grounding"]
    expect(column(page, 0)).to_have_attribute("data-kind", "document")
    # The recipe picked the uploaded document and the credential; choose them anyway.
    expect(field(page, 0, "document_file").locator("option:checked")).to_have_text("lighthouse.md")
    field(page, 0, "document_file").select_option(label="lighthouse.md")
    field(page, 0, "chunk_size").fill(str(CHUNK_SIZE))
    field(page, 0, "chunk_overlap").fill("30")
    for index in (1, 2, 3):
        field(page, index, "credential").select_option(label="Docs LLM")
    expect(page.locator("#schema-problems")).to_have_text("✓ The schema is valid.")
    shot(page, "recipe")

    page.get_by_role("button", name="Preview 3 rows").click()
    rows = page.locator("#preview .preview-row")
    expect(rows).to_have_count(3)
    passages = []
    for i in range(3):
        row = rows.nth(i)
        passage = row.locator("dl.values > div", has=page.locator("dt", has_text="passage"))
        passage_text = passage.locator("dd").text_content() or ""
        assert 20 < len(passage_text) <= CHUNK_SIZE, passage_text
        assert passage_text in DOCUMENT, passage_text
        passages.append(passage_text)
        question_prompt = row.locator("details.prompt", has_text="Prompt sent for question")
        prompt = question_prompt.locator("pre").text_content() or ""
        assert prompt.startswith(f"Here is a passage from a document:\n\n{passage_text}\n\n"), (
            prompt
        )
        question = row.locator("dl.values > div", has=page.locator("dt", has_text="question"))
        expect(question.locator("dd")).to_contain_text("Simulated answer to: Here is a passage")
    assert len(set(passages)) == 3, "each row reads another passage"
    rows.nth(0).locator("details.prompt summary").first.click()
    shot(page, "preview")
    assert any(passages[0] in p for p in llm_server.prompts())
    assert page.js_errors == []  # type: ignore[attr-defined]


def test_hostile_template_is_refused_and_never_runs(
    page: Page, studio_server, llm_server, shot
) -> None:
    sign_up(page, studio_server.url, "frank")
    project_url = create_project(page, "Hostile")
    page.get_by_role("link", name="New schema").click()
    page.fill("#id_name", "Escape")
    field(page, 0, "name").fill("topic")
    field(page, 0, "values").fill("a, b")
    field(page, 1, "name").fill("leak")
    field(page, 1, "kind").select_option("expression")
    hostile = "{{ ''.__class__.__mro__ }}"
    field(page, 1, "template").fill(hostile)

    # The live check refuses it, beside the column.
    refusal = re.compile(r"Template refused on line 1: access to '__\w+__' is not allowed")
    expect(page.locator("#column-1-problems")).to_contain_text(refusal)
    expect(page.locator("#schema-problems")).to_contain_text(refusal)
    expect(page.locator("#schema-levels")).to_contain_text("Shown once the schema is valid.")
    shot(page, "live-refusal")

    # The preview refuses it too: nothing is rendered.
    page.get_by_role("button", name="Preview 3 rows").click()
    expect(page.locator("#preview")).to_contain_text("Cannot preview")
    expect(page.locator("#preview")).to_contain_text(refusal)
    expect(page.locator("#preview .preview-row")).to_have_count(0)

    # And so does saving; what was typed is kept for fixing.
    page.get_by_role("button", name="Save schema").click()
    problems = page.locator("#schema-problems")
    expect(problems).to_contain_text("The schema was not saved")
    expect(problems).to_contain_text(refusal)
    assert "/schemas/new/" in page.url
    assert field(page, 1, "template").input_value() == hostile
    expect(page.locator("#column-1-problems")).to_contain_text(refusal)  # beside the column
    expect(page.locator("#column-0-problems")).to_be_empty()
    shot(page, "save-refused")
    assert "<class" not in page.content()
    assert llm_server.prompts() == []

    page.goto(project_url)
    schemas = page.locator("section.card", has=page.get_by_role("heading", name="Schemas"))
    expect(schemas).to_contain_text("No schemas yet.")
    assert page.js_errors == []  # type: ignore[attr-defined]
