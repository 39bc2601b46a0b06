"""A recursive ``$ref`` in a structured column: refused at save and in the preview (it used to
answer 500), and a run whose snapshot has one (saved before the check) ends failed with the
reason on its rows instead of staying "running" forever."""

import json

import pytest
from django.db import transaction
from django.test import Client

from generation.models import Row, Run
from generation.services import run_create
from studio.models import ProviderCredential
from studio.services import api_token_create, credential_create, schema_create
from tests.fixtures import drain

ENDLESS = {"type": "object", "properties": {"child": {"$ref": "#"}}, "required": ["child"]}


def spec(credential_id, json_schema):
    return {
        "columns": [
            {
                "name": "tree",
                "kind": "llm_structured",
                "credential_id": credential_id,
                "model": "simulated",
                "prompt": "A tree",
                "json_schema": json_schema,
            }
        ]
    }


@pytest.fixture
def simulator(project):
    return credential_create(
        project=project, name="sim", provider=ProviderCredential.Provider.SIMULATOR
    )


@pytest.mark.django_db
def test_preview_and_save_refuse_a_recursive_schema_naming_the_column(project, owner, simulator):
    _, token = api_token_create(user=owner, name="t")
    client = Client(HTTP_AUTHORIZATION=f"Bearer {token}", raise_request_exception=False)
    for url, body in [
        (f"/api/projects/{project.pk}/preview", {"spec": spec(simulator.pk, ENDLESS)}),
        (f"/api/projects/{project.pk}/schemas", {"name": "t", "spec": spec(simulator.pk, ENDLESS)}),
    ]:
        response = client.post(url, data=json.dumps(body), content_type="application/json")
        assert response.status_code == 422, response.content
        assert response.json()["messages"][0].startswith("Column 'tree': json_schema: ")
    assert not project.schemas.exists()


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_snapshot_is_recursive_fails_instead_of_running_forever(
    worker, project, owner, simulator
):
    flat = {"type": "object", "properties": {"leaf": {"type": "string"}}, "required": ["leaf"]}
    schema = schema_create(project=project, user=owner, name="t", data=spec(simulator.pk, flat))
    with transaction.atomic():  # the chunks are sent when this commits
        run = run_create(schema=schema, user=owner, num_rows=3)
        # As a run started before recursive schemas were refused would have it.
        Run.objects.filter(pk=run.pk).update(spec_snapshot=spec(simulator.pk, ENDLESS))
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert run.finished_at is not None
    errors = [row.errors["schema"] for row in run.rows.all()]
    assert len(errors) == 3
    assert all(
        e.startswith("This run's schema cannot be generated any more: Column 'tree'")
        for e in errors
    )
    assert not run.rows.exclude(status=Row.Status.FAILED).exists()


@pytest.mark.django_db(transaction=True)
def test_a_batch_run_whose_snapshot_is_recursive_fails_too(
    worker, project, owner, openai_credential
):
    flat = {"type": "object", "properties": {"leaf": {"type": "string"}}, "required": ["leaf"]}
    schema = schema_create(
        project=project, user=owner, name="t", data=spec(openai_credential.pk, flat)
    )
    with transaction.atomic():
        run = run_create(schema=schema, user=owner, num_rows=2, mode=Run.Mode.BATCH)
        Run.objects.filter(pk=run.pk).update(spec_snapshot=spec(openai_credential.pk, ENDLESS))
    drain(worker)
    run.refresh_from_db()
    assert run.status == Run.Status.FAILED
    assert all("Column 'tree'" in row.errors["schema"] for row in run.rows.all())
