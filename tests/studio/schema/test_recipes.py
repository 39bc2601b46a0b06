"""The ready-made recipes: each is a valid schema, and its expressions do what they say."""

import json

import pytest

from studio.schema import LlmJudgeColumn, LlmStructuredColumn, parse_spec, render_template
from studio.schema.recipes import DEFAULT_MODEL, RECIPES, Recipe
from studio.schema.serialization import document_from_text, spec_to_yaml


def test_there_are_five_recipes_with_titles_and_descriptions() -> None:
    assert list(RECIPES) == [
        "instruction-sft",
        "qa-from-documents",
        "chain-of-thought",
        "dpo-pairs",
        "verifiable-math",
    ]
    for slug, recipe in RECIPES.items():
        assert isinstance(recipe, Recipe) and recipe.slug == slug
        assert recipe.title and len(recipe.description) > 40


@pytest.mark.parametrize("slug", list(RECIPES))
def test_every_recipe_passes_parse_spec(slug: str) -> None:
    data = RECIPES[slug].build(42, seed_file_id=7)
    assert set(data) == {"name", "description", "columns"}
    spec = parse_spec({"columns": data["columns"]})
    assert spec.llm_columns()
    assert all(c.credential_id == 42 and c.model == DEFAULT_MODEL for c in spec.llm_columns())
    assert len(spec.levels()) >= 3
    # And as a file, with its name and description.
    document = document_from_text(spec_to_yaml(spec, name=data["name"]))
    assert document.spec == spec and document.name == RECIPES[slug].title


def test_the_model_and_the_upload_are_parameters() -> None:
    spec = parse_spec(
        {"columns": RECIPES["qa-from-documents"].build(1, model="m2", seed_file_id=5)["columns"]}
    )
    assert spec.seed_file_ids() == {5}
    assert {c.model for c in spec.llm_columns()} == {"m2"}
    assert RECIPES["qa-from-documents"].needs_upload == "document"
    assert RECIPES["instruction-sft"].needs_upload is None


def _column(slug: str, name: str) -> dict:
    return next(c for c in RECIPES[slug].build(1)["columns"] if c["name"] == name)


def test_sft_messages_are_a_json_chat() -> None:
    template = _column("instruction-sft", "messages")["template"]
    rendered = render_template(
        template, {"instruction": 'Say "hi" <now>', "response": "héllo\nthere"}
    )
    assert json.loads(rendered) == [
        {"role": "user", "content": 'Say "hi" <now>'},
        {"role": "assistant", "content": "héllo\nthere"},
    ]


@pytest.mark.parametrize(
    ("preferred", "swap", "chosen"),
    [(1, False, "A"), (2, False, "B"), (1, True, "B"), (2, True, "A")],
)
def test_dpo_chosen_and_rejected_follow_the_verdict_through_the_swap(
    preferred: int, swap: bool, chosen: str
) -> None:
    values = {
        "answer_a": "A",
        "answer_b": "B",
        "swap": swap,
        "verdict": {"preferred": preferred, "reason": "r"},
    }
    assert render_template(_column("dpo-pairs", "chosen")["template"], values) == chosen
    rejected = render_template(_column("dpo-pairs", "rejected")["template"], values)
    assert {chosen, rejected} == {"A", "B"}
    # The judge was shown the answer it preferred in the position it named.
    shown = render_template(_column("dpo-pairs", "verdict")["prompt"], {**values, "prompt": "q"})
    first = shown.split("Answer 1:\n")[1][0]
    assert (first == chosen) == (preferred == 1)


@pytest.mark.parametrize(
    ("operation", "truth", "problem"),
    [
        ("add", "19", "What is 12 + 7?"),
        ("subtract", "5", "What is 12 - 7?"),
        ("multiply", "84", "What is 12 × 7?"),
    ],
)
def test_math_ground_truth_is_computed(operation: str, truth: str, problem: str) -> None:
    values = {"a": 12, "b": 7, "operation": operation}
    assert render_template(_column("verifiable-math", "ground_truth")["template"], values) == truth
    assert render_template(_column("verifiable-math", "problem")["template"], values) == problem
    correct = _column("verifiable-math", "correct")["template"]
    solution = f"Step 1: ...\nAnswer: {truth}."
    assert render_template(correct, {"solution": solution, "ground_truth": truth}) == "True"
    assert render_template(correct, {"solution": "Answer: 0", "ground_truth": truth}) == "False"


def test_structured_and_judge_columns_in_recipes() -> None:
    spec = parse_spec({"columns": RECIPES["qa-from-documents"].build(1)["columns"]})
    answer = spec.column("answer")
    assert isinstance(answer, LlmStructuredColumn)
    assert answer.value_fields() == ["answer", "evidence"]
    grounding = spec.column("grounding")
    assert isinstance(grounding, LlmJudgeColumn)
    assert [c.name for c in grounding.criteria] == ["faithful", "complete", "standalone"]
    cot = parse_spec({"columns": RECIPES["chain-of-thought"].build(1)["columns"]})
    completion = render_template(
        cot.column("completion").template,  # type: ignore[union-attr]
        {"solution": {"reasoning": "1. think", "answer": "42"}},
    )
    assert completion == "<think>\n1. think\n</think>\n42"
