"""Structured and judge columns in real runs: JSON answers validated against the column's
schema, re-asked when invalid, fields readable downstream, and every attempt in the ledger."""

import pytest

from generation.models import LlmCall, Row
from generation.services import run_create
from studio.services import schema_create
from tests.fixtures import drain

pytestmark = pytest.mark.django_db(transaction=True)

COT_SCHEMA = {
    "type": "object",
    "properties": {"reasoning": {"type": "string"}, "answer": {"type": "string"}},
    "required": ["reasoning", "answer"],
}


def cot_spec(credential_id, max_reasks=2):
    return {
        "columns": [
            {"name": "topic", "kind": "category", "values": ["space"]},
            {
                "name": "solution",
                "kind": "llm_structured",
                "credential_id": credential_id,
                "model": "gpt-4o-mini",
                "prompt": "Solve a puzzle about {{ topic }}",
                "json_schema": COT_SCHEMA,
                "max_reasks": max_reasks,
            },
            {"name": "final", "kind": "expression", "template": "{{ solution.answer }}"},
        ]
    }


def test_structured_answers_are_parsed_and_their_fields_feed_later_columns(
    worker, project, owner, openai_credential, llm_server
):
    schema = schema_create(
        project=project, user=owner, name="cot", data=cot_spec(openai_credential.pk)
    )
    run = run_create(schema=schema, user=owner, num_rows=3)
    drain(worker)
    for row in run.rows.all():
        assert row.status == Row.Status.GENERATED
        assert set(row.values["solution"]) == {"reasoning", "answer"}
        assert row.values["final"] == row.values["solution"]["answer"]
        assert row.calls["solution"]["attempts"] == 1
    sent = llm_server.generation_requests()[0].body
    assert sent["response_format"]["type"] == "json_schema"


def test_an_invalid_answer_is_re_asked_with_the_error_and_each_attempt_is_recorded(
    worker, project, owner, openai_credential, llm_server
):
    schema = schema_create(
        project=project, user=owner, name="cot", data=cot_spec(openai_credential.pk)
    )
    llm_server.invalid_json_next(1)
    run = run_create(schema=schema, user=owner, num_rows=1)
    drain(worker)
    row = run.rows.get()
    assert row.status == Row.Status.GENERATED
    assert row.calls["solution"]["attempts"] == 2
    reask = llm_server.generation_requests()[1].body["messages"]
    assert "did not match the required JSON schema" in reask[-1]["content"]
    assert sorted(LlmCall.objects.values_list("reask", flat=True)) == [0, 1]

    # Resuming the same row later replays the whole chain from the ledger, paying nothing.
    before = len(llm_server.generation_requests())
    again = run_create(schema=schema, user=owner, num_rows=1, seed=run.seed)
    drain(worker)
    assert len(llm_server.generation_requests()) == before
    assert again.rows.get().values == row.values


def test_an_answer_that_stays_invalid_fails_the_column_and_keeps_the_raw_text(
    worker, project, owner, openai_credential, llm_server
):
    schema = schema_create(
        project=project, user=owner, name="cot", data=cot_spec(openai_credential.pk, max_reasks=1)
    )
    llm_server.invalid_json_next(5)
    run = run_create(schema=schema, user=owner, num_rows=1)
    drain(worker)
    row = run.rows.get()
    assert row.status == Row.Status.FAILED
    assert "did not match the JSON schema after 2 tries" in row.errors["solution"]
    assert row.calls["solution"]["raw"]  # what the model said is kept
    assert row.calls["solution"]["attempts"] == 2
    assert "final" in row.errors  # skipped: it depends on the failed column


def test_a_judge_scores_each_criterion_and_gives_a_verdict(
    worker, project, owner, anthropic_credential, llm_server
):
    spec = {
        "columns": [
            {"name": "answer", "kind": "category", "values": ["Paris is the capital of France."]},
            {
                "name": "verdict",
                "kind": "llm_judge",
                "credential_id": anthropic_credential.pk,
                "model": "claude-haiku-4-5",
                "prompt": "Judge this answer: {{ answer }}",
                "criteria": [
                    {"name": "accuracy", "description": "The answer is correct", "max_score": 5},
                    {"name": "clarity", "description": "The answer is clear", "max_score": 5},
                ],
                "pass_threshold": 1,
            },
            {
                "name": "keep",
                "kind": "expression",
                "template": "{% if verdict.passed %}yes{% else %}no{% endif %}",
            },
        ]
    }
    schema = schema_create(project=project, user=owner, name="judged", data=spec)
    run = run_create(schema=schema, user=owner, num_rows=2)
    drain(worker)
    for row in run.rows.all():
        assert row.status == Row.Status.GENERATED, row.errors
        verdict = row.values["verdict"]
        assert set(verdict["scores"]) == {"accuracy", "clarity"}
        assert set(verdict["reasons"]) == {"accuracy", "clarity"}
        assert verdict["passed"] is True and row.values["keep"] == "yes"
    sent = llm_server.generation_requests()[0].body
    assert sent["tool_choice"]["type"] == "tool"  # Anthropic: structured output by tool use
    assert "accuracy" in sent["messages"][0]["content"]  # the rubric is in the prompt


def test_cost_is_reported_per_column_including_re_asks(
    worker, project, owner, openai_credential, llm_server
):
    from generation.selectors import run_cost_by_column

    schema = schema_create(
        project=project, user=owner, name="cot", data=cot_spec(openai_credential.pk)
    )
    llm_server.invalid_json_next(1)
    run = run_create(schema=schema, user=owner, num_rows=2)
    drain(worker)
    [solution] = run_cost_by_column(run=run)
    assert solution.column == "solution" and solution.calls == 3  # 2 rows + 1 re-ask
    assert solution.cost_usd > 0
    run.refresh_from_db()
    assert run.spent_usd == solution.cost_usd
    assert sum(row.cost_usd for row in run.rows.all()) == solution.cost_usd


def test_a_custom_price_on_the_credential_sets_the_cost(worker, project, owner, llm_server):
    from decimal import Decimal

    from studio.services import credential_create

    credential = credential_create(
        project=project,
        name="vllm",
        provider="openai_compatible",
        base_url=llm_server.openai_base_url,
        api_key="sk-local-key-0000",
        input_price_per_million=Decimal("100000"),
        output_price_per_million=Decimal("0"),
    )
    spec = cot_spec(credential.pk)
    spec["columns"][1]["model"] = "my-self-hosted-model"
    schema = schema_create(project=project, user=owner, name="priced", data=spec)
    run = run_create(schema=schema, user=owner, num_rows=1)
    drain(worker)
    call = LlmCall.objects.get(run=run)
    assert call.cost_usd == Decimal(call.input_tokens) / 10  # 10 cents per input token
