"""Ready-made schemas for the datasets people build most: a starting point to edit, not a black box.

Each recipe is a plain schema dict (the same shape a user saves), built for a
credential and model the user picks; ones reading a document take the
uploaded file's id. The prompts are deliberately short and visible, so that
users learn the column kinds by reading them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

__all__ = ["DEFAULT_MODEL", "RECIPES", "Recipe"]

DEFAULT_MODEL = "gpt-4o-mini"

Spec = dict[str, Any]


@dataclass(frozen=True)
class Recipe:
    slug: str
    title: str
    description: str
    # What the user must upload first (None, or "document" / "table").
    needs_upload: str | None
    _build: Callable[[int, str, int], list[dict[str, Any]]]

    def build(
        self, credential_id: int, *, model: str = DEFAULT_MODEL, seed_file_id: int = 0
    ) -> Spec:
        """The schema dict: ``{"name", "description", "columns"}`` (pass ``columns`` to parse_spec)."""
        return {
            "name": self.title,
            "description": self.description,
            "columns": self._build(credential_id, model, seed_file_id),
        }


def _llm(name: str, credential_id: int, model: str, prompt: str, **extra: Any) -> dict[str, Any]:
    return {
        "name": name,
        "kind": "llm_text",
        "credential_id": credential_id,
        "model": model,
        "prompt": prompt,
        **extra,
    }


def _instruction_sft(credential_id: int, model: str, seed_file_id: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "topic",
            "kind": "category",
            "values": [
                "cooking",
                "personal finance",
                "programming",
                "travel",
                "fitness",
                "history",
            ],
        },
        {
            "name": "task_type",
            "kind": "category",
            "values": ["explain", "how-to", "compare", "brainstorm", "rewrite"],
            "weights": [3, 3, 2, 1, 1],
        },
        {"name": "user_job", "kind": "person", "field": "job", "drop": True},
        _llm(
            "instruction",
            credential_id,
            model,
            "Write one realistic request that a {{ user_job }} might send to an AI assistant "
            "about {{ topic }}. The request should ask the assistant to {{ task_type }}.\n"
            "Reply with the request only.",
            temperature=1.0,
            max_tokens=200,
        ),
        _llm(
            "response",
            credential_id,
            model,
            "{{ instruction }}",
            system_prompt="You are a helpful, accurate and concise assistant.",
            max_tokens=1024,
        ),
        {
            "name": "messages",
            "kind": "expression",
            "template": '{{ [{"role": "user", "content": instruction}, '
            '{"role": "assistant", "content": response}] | tojson }}',
        },
    ]


def _structured(
    name: str,
    credential_id: int,
    model: str,
    prompt: str,
    properties: dict[str, Any],
    **extra: Any,
) -> dict[str, Any]:
    """An ``llm_structured`` column answering an object of exactly ``properties``, all required."""
    return {
        "name": name,
        "kind": "llm_structured",
        "credential_id": credential_id,
        "model": model,
        "prompt": prompt,
        **extra,
        "json_schema": {
            "type": "object",
            "properties": properties,
            "required": list(properties),
            "additionalProperties": False,
        },
    }


def _qa_from_documents(credential_id: int, model: str, seed_file_id: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "passage",
            "kind": "document",
            "seed_file_id": seed_file_id,
            "chunk_size": 1500,
            "chunk_overlap": 150,
            "sampling": "shuffle",
        },
        # Instruction backtranslation: the passage is the answer material; ask
        # the model for the question a reader would have asked.
        _llm(
            "question",
            credential_id,
            model,
            "Here is a passage from a document:\n\n{{ passage }}\n\n"
            "Write one specific question that this passage fully answers. "
            "Do not mention 'the passage'. Reply with the question only.",
            temperature=0.8,
            max_tokens=150,
        ),
        _structured(
            "answer",
            credential_id,
            model,
            "Passage:\n{{ passage }}\n\nQuestion: {{ question }}\n\n"
            "Answer the question using only the passage, and quote the sentence it relies on.",
            {
                "answer": {"type": "string"},
                "evidence": {"type": "string", "description": "A quote from the passage"},
            },
            system_prompt="Answer only from the given passage.",
            temperature=0.2,
            max_tokens=600,
        ),
        _grounding_judge(credential_id, model),
    ]


def _grounding_judge(credential_id: int, model: str) -> dict[str, Any]:
    """Scores a question and its answer against the passage they came from."""
    return {
        "name": "grounding",
        "kind": "llm_judge",
        "credential_id": credential_id,
        "model": model,
        "prompt": "Passage:\n{{ passage }}\n\nQuestion: {{ question }}\n"
        "Answer: {{ answer.answer }}",
        "criteria": [
            {"name": "faithful", "description": "Every claim in the answer is in the passage."},
            {"name": "complete", "description": "The answer fully answers the question."},
            {
                "name": "standalone",
                "description": "The question makes sense without the passage.",
            },
        ],
        "pass_threshold": 4,
        "max_tokens": 400,
    }


def _chain_of_thought(credential_id: int, model: str, seed_file_id: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "subject",
            "kind": "category",
            "values": ["logic puzzle", "physics", "probability", "everyday planning", "geometry"],
        },
        {
            "name": "difficulty",
            "kind": "category",
            "values": ["easy", "medium", "hard"],
            "weights": [1, 2, 2],
        },
        _llm(
            "question",
            credential_id,
            model,
            "Write one {{ difficulty }} {{ subject }} question that needs several steps of "
            "reasoning and has a single short correct answer. Reply with the question only.",
            temperature=1.0,
            max_tokens=200,
        ),
        _structured(
            "solution",
            credential_id,
            model,
            "{{ question }}\n\nThink step by step, then give the final answer.",
            {
                "reasoning": {"type": "string", "description": "Numbered steps"},
                "answer": {"type": "string", "description": "The final answer only"},
            },
            temperature=0.3,
            max_tokens=1500,
        ),
        {
            "name": "completion",
            "kind": "expression",
            "template": "<think>\n{{ solution.reasoning }}\n</think>\n{{ solution.answer }}",
        },
    ]


def _dpo_pairs(credential_id: int, model: str, seed_file_id: int) -> list[dict[str, Any]]:
    return [
        {
            "name": "topic",
            "kind": "category",
            "values": ["health", "careers", "science", "software", "relationships", "money"],
        },
        _llm(
            "prompt",
            credential_id,
            model,
            "Write one question about {{ topic }} that a thoughtful person might ask an "
            "assistant, where a careful answer is clearly better than a careless one. "
            "Reply with the question only.",
            temperature=1.0,
            max_tokens=150,
        ),
        # Two candidates: one focused, one at high temperature, so they differ.
        _llm("answer_a", credential_id, model, "{{ prompt }}", temperature=0.3, max_tokens=700),
        _llm("answer_b", credential_id, model, "{{ prompt }}", temperature=1.2, max_tokens=700),
        # Judges favour whichever answer they read first; show them in a random
        # order and map the verdict back (see chosen/rejected).
        {"name": "swap", "kind": "boolean", "probability": 0.5, "drop": True},
        _structured(
            "verdict",
            credential_id,
            model,
            "Question: {{ prompt }}\n\n"
            "Answer 1:\n{{ answer_b if swap else answer_a }}\n\n"
            "Answer 2:\n{{ answer_a if swap else answer_b }}\n\n"
            "Which answer is more helpful, correct and honest? Explain briefly, then choose.",
            {"reason": {"type": "string"}, "preferred": {"type": "integer", "enum": [1, 2]}},
            system_prompt="You compare two answers impartially.",
            temperature=0,
            max_tokens=400,
        ),
        *_chosen_and_rejected(),
    ]


def _chosen_and_rejected() -> list[dict[str, Any]]:
    """The pair in the order the verdict gives, and its reason. ``answer_a`` won when it was
    shown as the preferred one: as answer 1 without a swap, or as answer 2 with one."""
    a_won = "{% if (verdict.preferred == 1) != swap %}"
    return [
        {
            "name": "chosen",
            "kind": "expression",
            "template": a_won + "{{ answer_a }}{% else %}{{ answer_b }}{% endif %}",
        },
        {
            "name": "rejected",
            "kind": "expression",
            "template": a_won + "{{ answer_b }}{% else %}{{ answer_a }}{% endif %}",
        },
        {"name": "reason", "kind": "expression", "template": "{{ verdict.reason }}"},
    ]


def _verifiable_math(credential_id: int, model: str, seed_file_id: int) -> list[dict[str, Any]]:
    return [
        {"name": "a", "kind": "integer", "low": 2, "high": 999},
        {"name": "b", "kind": "integer", "low": 2, "high": 99},
        {
            "name": "operation",
            "kind": "category",
            "values": ["add", "subtract", "multiply"],
        },
        {
            "name": "problem",
            "kind": "expression",
            "template": "{% if operation == 'add' %}What is {{ a }} + {{ b }}?"
            "{% elif operation == 'subtract' %}What is {{ a }} - {{ b }}?"
            "{% else %}What is {{ a }} × {{ b }}?{% endif %}",
        },
        # Computed, not generated: the reward signal must be exactly right.
        {
            "name": "ground_truth",
            "kind": "expression",
            "template": "{% if operation == 'add' %}{{ a + b }}"
            "{% elif operation == 'subtract' %}{{ a - b }}"
            "{% else %}{{ a * b }}{% endif %}",
        },
        _llm(
            "solution",
            credential_id,
            model,
            "{{ problem }}\nWork it out step by step. End with a last line of the form "
            "'Answer: <number>'.",
            temperature=0.7,
            max_tokens=400,
        ),
        {
            "name": "correct",
            "kind": "expression",
            "template": "{{ solution.split('Answer:')[-1].strip().rstrip('.') == ground_truth }}",
        },
    ]


RECIPES: dict[str, Recipe] = {
    recipe.slug: recipe
    for recipe in (
        Recipe(
            "instruction-sft",
            "Instruction tuning (chat messages)",
            "Varied user requests (topic, task type, a persona's job) and assistant answers, "
            "written out as chat messages ready for supervised fine-tuning.",
            None,
            _instruction_sft,
        ),
        Recipe(
            "qa-from-documents",
            "Questions and answers from your documents",
            "Each row takes a passage of an uploaded document, asks a model for the question the "
            "passage answers (instruction backtranslation), answers it from the passage with a "
            "quote as evidence, and has a judge score how grounded the pair is.",
            "document",
            _qa_from_documents,
        ),
        Recipe(
            "chain-of-thought",
            "Chain-of-thought answers",
            "Multi-step questions answered with explicit reasoning and a separate final answer, "
            "also joined into a <think>…</think> completion.",
            None,
            _chain_of_thought,
        ),
        Recipe(
            "dpo-pairs",
            "Preference pairs (DPO)",
            "Two answers to each prompt at different temperatures; a judge, shown them in random "
            "order, picks the better one, giving chosen and rejected columns.",
            None,
            _dpo_pairs,
        ),
        Recipe(
            "verifiable-math",
            "Verifiable math problems (RL)",
            "Arithmetic problems from sampled numbers with a ground truth computed exactly, a "
            "model's worked solution, and whether its final answer is correct.",
            None,
            _verifiable_math,
        ),
    )
}
