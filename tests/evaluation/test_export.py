"""Review and export: JSONL files and a push to a (local fake) Hugging Face Hub through the real
huggingface_hub client, read back from what the Hub stored."""

import asyncio
import io
import json
import warnings

import pandas as pd
import pytest
import yaml
from django.test import AsyncClient

from evaluation import services
from evaluation.formats import jsonl_lines
from evaluation.hub_push import DATA_PATH
from evaluation.models import HubExport
from evaluation.selectors import export_records
from evaluation.streaming import BATCH_LINES
from generation.models import Row, Run
from generation.services import run_create
from tests.fixtures import drain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def reviewed_run(worker, qa_schema, owner, llm_server):
    run = run_create(schema=qa_schema, user=owner, num_rows=6)
    drain(worker)
    rows = list(run.rows.order_by("index"))
    for row in rows[:3]:
        services.row_review(row=row, user=owner, decision="accepted")
    services.row_review(row=rows[3], user=owner, decision="rejected")
    Row.objects.filter(pk=rows[0].pk).update(
        edited_values={**rows[0].values, "question": "Edited?"}
    )
    return run


def test_export_holds_the_accepted_rows_with_reviewer_edits(reviewed_run):
    records = list(export_records(run=reviewed_run))
    assert len(records) == 3
    assert records[0]["question"] == "Edited?"
    assert set(records[0]) == {"topic", "question"}
    lines = list(jsonl_lines(records))
    assert [json.loads(line) for line in lines] == records
    assert reviewed_run.rows.get(index=0).values["question"] != "Edited?"  # the original is kept


def test_jsonl_download_page(reviewed_run, owner_client):
    response = owner_client.get(f"/runs/{reviewed_run.pk}/export.jsonl")
    body = b"".join(response.streaming_content).decode()
    assert response.status_code == 200
    assert 'attachment; filename="run-' in response["Content-Disposition"]
    assert len(body.strip().splitlines()) == 3


def test_push_to_hub_uploads_parquet_and_a_dataset_card(
    reviewed_run, owner, hub_server, settings, worker
):
    settings.HF_ENDPOINT = hub_server.url
    export = services.hub_export_create(
        run=reviewed_run, user=owner, repo_id="alice/trivia", token="hf_test_token"
    )
    assert export.token_encrypted and "hf_test_token" not in export.token_encrypted
    drain(worker)
    export.refresh_from_db()
    assert export.status == HubExport.Status.DONE, export.error
    assert export.rows_pushed == 3
    assert export.token_encrypted == ""  # the token is forgotten after the push
    repo = hub_server.repos["alice/trivia"]
    assert repo.private is True
    frame = pd.read_parquet(io.BytesIO(repo.files[DATA_PATH]))
    assert list(frame.columns) == ["topic", "question"]
    assert len(frame) == 3
    assert "Edited?" in set(frame["question"])
    card = repo.files["README.md"].decode()
    _, front_matter, body = card.split("---", 2)
    metadata = yaml.safe_load(front_matter)
    assert metadata["configs"][0]["data_files"][0]["path"] == DATA_PATH
    assert "synthetic" in metadata["tags"]
    assert "**QA**" in body and "gpt-4o-mini" in body


def test_a_wrong_hub_token_fails_the_push_with_a_clear_message(
    reviewed_run, owner, hub_server, settings, worker
):
    settings.HF_ENDPOINT = hub_server.url
    export = services.hub_export_create(
        run=reviewed_run, user=owner, repo_id="alice/trivia", token="hf_wrong"
    )
    drain(worker)
    export.refresh_from_db()
    assert export.status == HubExport.Status.FAILED
    assert "token" in export.error.lower()
    assert "alice/trivia" not in hub_server.repos


@pytest.mark.parametrize("repo_id", ["no-namespace", "a/b/c", "../etc", "alice/"])
def test_bad_repo_ids_are_refused(reviewed_run, owner, repo_id):
    with pytest.raises(services.ExportError, match="your-name/dataset-name"):
        services.hub_export_create(run=reviewed_run, user=owner, repo_id=repo_id, token="t")


def test_nothing_to_push_until_rows_are_accepted(worker, qa_schema, owner, llm_server):
    run = run_create(schema=qa_schema, user=owner, num_rows=2)
    drain(worker)
    with pytest.raises(services.ExportError, match="accept some rows"):
        services.hub_export_create(run=run, user=owner, repo_id="alice/x", token="t")


def test_only_generated_rows_can_be_reviewed(worker, qa_schema, owner, llm_server):
    llm_server.valid_keys = {"something-else"}
    run = run_create(schema=qa_schema, user=owner, num_rows=1)
    drain(worker)
    with pytest.raises(services.ReviewError):
        services.row_review(row=run.rows.get(), user=owner, decision="accepted")


def test_jsonl_download_streams_in_batches_under_asgi(project, owner):
    """The studio serves through ASGI: the download is handed over as an asynchronous
    iterator, batch by batch, instead of Django reading every line into memory first."""
    spec = {"columns": [{"name": "question", "kind": "category", "values": ["?"]}]}
    run = Run.objects.create(
        project=project, schema_name="QA", spec_snapshot=spec, seed=1, num_rows=1, status="finished"
    )
    total = BATCH_LINES * 2 + 7
    Row.objects.bulk_create(
        Row(run=run, index=i, status=Row.Status.GENERATED, values={"question": f"Q{i}?"})
        for i in range(total)
    )
    client = AsyncClient()
    client.force_login(owner)

    async def download(path: str) -> tuple[bool, list[str]]:
        response = await client.get(path)
        assert response.status_code == 200
        return response.is_async, [chunk async for chunk in response.streaming_content]

    for path in (
        f"/runs/{run.pk}/export.jsonl?rows=all",
        f"/api/runs/{run.pk}/export.jsonl?rows=all",
    ):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            is_async, chunks = asyncio.run(download(path))
        assert is_async, path
        assert not [w for w in caught if "synchronous iterators" in str(w.message)], path
        assert [chunk.count(b"\n") for chunk in chunks] == [BATCH_LINES, BATCH_LINES, 7], path
        records = [json.loads(line) for line in b"".join(chunks).splitlines()]
        assert [r["question"] for r in records] == [f"Q{i}?" for i in range(total)], path
