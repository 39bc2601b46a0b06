"""Runs that read uploaded seed tables and documents: each row takes its table row or chunk,
reproducibly, and the LLM prompt sees it."""

import pytest

from generation.models import Row
from generation.services import run_create
from studio.schema import SchemaError
from studio.services import schema_create, seed_file_upload
from tests.fixtures import drain

pytestmark = pytest.mark.django_db(transaction=True)

CSV = b"Question,Answer\n" + b"".join(f"q{i},a{i}\n".encode() for i in range(5))


def test_each_row_takes_a_seed_row_once_per_pass(
    worker, project, owner, openai_credential, llm_server
):
    seed = seed_file_upload(project=project, user=owner, filename="qa.csv", data=CSV)
    spec = {
        "columns": [
            {
                "name": "seed",
                "kind": "seed_data",
                "seed_file_id": seed.pk,
                "fields": ["question", "answer"],
                "sampling": "shuffle",
            },
            {
                "name": "rewrite",
                "kind": "llm_text",
                "credential_id": openai_credential.pk,
                "model": "gpt-4o-mini",
                "prompt": "Rewrite {{ question }} (answer: {{ answer }})",
            },
        ]
    }
    schema = schema_create(project=project, user=owner, name="seeded", data=spec)
    run = run_create(schema=schema, user=owner, num_rows=10)
    drain(worker)
    rows = list(run.rows.order_by("index"))
    assert all(row.status == Row.Status.GENERATED for row in rows)
    first_pass = [row.values["question"] for row in rows[:5]]
    assert sorted(first_pass) == [f"q{i}" for i in range(5)]  # every seed row once per pass
    for row in rows:
        number = row.values["question"][1:]
        assert row.values["answer"] == f"a{number}"
        assert f"Rewrite q{number} (answer: a{number})" in row.values["rewrite"]
    assert "seed" not in rows[0].values  # the seed column's name is not a field


def test_document_chunks_feed_a_backtranslated_question(
    worker, project, owner, openai_credential, llm_server
):
    text = "\n\n".join(f"Paragraph {i}: " + "facts about the sea. " * 20 for i in range(12))
    doc = seed_file_upload(project=project, user=owner, filename="sea.md", data=text.encode())
    spec = {
        "columns": [
            {
                "name": "passage",
                "kind": "document",
                "seed_file_id": doc.pk,
                "chunk_size": 600,
                "chunk_overlap": 60,
                "sampling": "ordered",
            },
            {
                "name": "question",
                "kind": "llm_text",
                "credential_id": openai_credential.pk,
                "model": "gpt-4o-mini",
                "prompt": "Write a question answered by: {{ passage }}",
            },
        ]
    }
    schema = schema_create(project=project, user=owner, name="backtranslation", data=spec)
    run = run_create(schema=schema, user=owner, num_rows=4)
    drain(worker)
    rows = list(run.rows.order_by("index"))
    assert all(row.status == Row.Status.GENERATED for row in rows)
    assert rows[0].values["passage"].startswith("Paragraph 0")
    assert len({row.values["passage"] for row in rows}) == 4
    assert all(row.prompts["question"].endswith(row.values["passage"]) for row in rows)


def test_a_seed_column_must_use_a_file_of_this_project_and_its_fields(project, owner, stranger):
    from studio.services import project_create

    seed = seed_file_upload(project=project, user=owner, filename="qa.csv", data=CSV)
    other = project_create(user=stranger, name="other")
    foreign = seed_file_upload(project=other, user=stranger, filename="x.csv", data=CSV)
    for file_id, fields, message in [
        (foreign.pk, ["question"], "needs an uploaded table of this project"),
        (seed.pk, ["question", "nope"], "fields the table does not have: nope"),
    ]:
        spec = {
            "columns": [
                {"name": "s", "kind": "seed_data", "seed_file_id": file_id, "fields": fields}
            ]
        }
        with pytest.raises(SchemaError, match=message):
            schema_create(project=project, user=owner, name=f"x{file_id}", data=spec)
