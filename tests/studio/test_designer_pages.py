"""The schema designer's server side: live check, edit operations, versions, import/export,
recipes, and the same through the API."""

import pytest
import yaml
from django.core.files.uploadedfile import SimpleUploadedFile

from studio.models import DatasetSchema
from studio.schema.recipes import RECIPES
from studio.services import api_token_create, schema_create, schema_update
from tests.fixtures import qa_spec
from tests.studio.test_pages import column_post, topic_and_question

pytestmark = pytest.mark.django_db


def test_live_check_puts_each_problem_beside_its_column(owner_client, project, openai_credential):
    columns = topic_and_question(openai_credential, prompt="About {{ topc }}")
    response = owner_client.post(f"/projects/{project.pk}/schemas/check/", column_post(columns))
    body = response.content.decode()
    assert response.status_code == 200
    beside_question = body.split('id="column-1-problems"')[1].split("</div>")[0]
    assert "unknown column &#x27;topc&#x27;" in beside_question
    assert 'id="column-0-problems" hx-swap-oob="true" aria-live="polite"></div>' in body
    assert not DatasetSchema.objects.exists()  # checking never saves


def test_live_check_of_a_valid_schema_shows_the_dependency_order(
    owner_client, project, openai_credential
):
    response = owner_client.post(
        f"/projects/{project.pk}/schemas/check/", column_post(topic_and_question(openai_credential))
    )
    body = response.content.decode()
    assert "The schema is valid" in body
    assert body.index("<code>topic</code>") < body.index("<code>question</code>")


def test_field_errors_are_reported_beside_their_column(owner_client, project, openai_credential):
    columns = topic_and_question(openai_credential)
    columns[0]["weights"] = "1, lots"
    response = owner_client.post(f"/projects/{project.pk}/schemas/check/", column_post(columns))
    beside_topic = response.content.decode().split('id="column-0-problems"')[1].split("</div>")[0]
    assert "Weights must be numbers" in beside_topic


def test_designer_operations_return_the_columns_in_their_new_order(
    owner_client, project, openai_credential
):
    data = column_post(topic_and_question(openai_credential))
    data.update(op="up", index="1")
    body = owner_client.post(f"/projects/{project.pk}/schemas/designer/", data).content.decode()
    assert body.index('value="question"') < body.index('value="topic"')
    data.update(op="explode", index="0")
    response = owner_client.post(f"/projects/{project.pk}/schemas/designer/", data)
    assert response.status_code == 400


def test_versions_can_be_restored_and_runs_keep_theirs(
    owner_client, project, owner, openai_credential
):
    schema = schema_create(
        project=project, user=owner, name="QA", data=qa_spec(openai_credential.pk)
    )
    changed = qa_spec(openai_credential.pk)
    changed["columns"][1]["prompt"] = "Something else about {{ topic }}"
    schema_update(schema=schema, data=changed, user=owner)
    page = owner_client.get(f"/schemas/{schema.pk}/").content.decode()
    assert "v1" in page and "v2" in page and "restore" in page
    response = owner_client.post(f"/schemas/{schema.pk}/versions/1/restore/")
    schema.refresh_from_db()
    assert response.status_code == 302
    assert schema.version == 3
    assert schema.spec["columns"][1]["prompt"] == "Write a question about {{ topic }}"
    assert list(schema.versions.values_list("version", flat=True)) == [3, 2, 1]


def test_export_then_import_gives_the_same_schema(owner_client, project, owner, openai_credential):
    schema = schema_create(
        project=project, user=owner, name="QA", data=qa_spec(openai_credential.pk)
    )
    for fmt in ("yaml", "json"):
        exported = owner_client.get(f"/schemas/{schema.pk}/export/?format={fmt}")
        assert f".{fmt}" in exported["Content-Disposition"]
        response = owner_client.post(
            f"/projects/{project.pk}/schemas/import/",
            {"file": SimpleUploadedFile(f"qa.{fmt}", exported.content)},
        )
        imported = DatasetSchema.objects.order_by("-pk").first()
        assert response.status_code == 302 and imported.pk != schema.pk
        assert imported.spec == schema.spec
        assert imported.name.startswith("QA (")  # the name was taken, so it is numbered


def test_importing_garbage_explains_and_saves_nothing(owner_client, project):
    for text in ("columns: [", "columns:\n  - name: x\n    kind: nope\n", "- just\n- a list\n"):
        response = owner_client.post(
            f"/projects/{project.pk}/schemas/import/", {"text": text}, follow=True
        )
        assert response.status_code == 200
        assert 'class="error"' in response.content.decode()
    assert not DatasetSchema.objects.exists()


def test_a_recipe_prefills_the_new_schema_form(owner_client, project, openai_credential):
    for slug, recipe in RECIPES.items():
        page = owner_client.get(f"/projects/{project.pk}/schemas/new/?recipe={slug}")
        body = page.content.decode()
        assert page.status_code == 200
        assert recipe.title in body
        first_column = recipe.build(openai_credential.pk)["columns"][0]["name"]
        assert f'value="{first_column}"' in body


def test_api_import_export_versions_and_seed_upload(client, project, owner, openai_credential):
    _, token = api_token_create(user=owner, name="t")
    auth = {"HTTP_AUTHORIZATION": f"Bearer {token}"}
    created = client.post(
        f"/api/projects/{project.pk}/schemas",
        {"name": "QA", "spec": qa_spec(openai_credential.pk)},
        content_type="application/json",
        **auth,
    ).json()
    exported = client.get(f"/api/schemas/{created['id']}/export?format=yaml", **auth)
    assert yaml.safe_load(exported.content)["name"] == "QA"
    imported = client.post(
        f"/api/projects/{project.pk}/schemas/import",
        {"text": exported.content.decode(), "name": "Copy"},
        content_type="application/json",
        **auth,
    )
    assert imported.status_code == 201 and imported.json()["spec"] == created["spec"]
    bad = client.post(
        f"/api/projects/{project.pk}/schemas/import",
        {"text": "columns: []"},
        content_type="application/json",
        **auth,
    )
    assert bad.status_code == 422 and bad.json()["messages"]
    versions = client.get(f"/api/schemas/{created['id']}/versions", **auth).json()
    assert [v["version"] for v in versions] == [1]

    upload = client.post(
        f"/api/projects/{project.pk}/seed-files",
        {"file": SimpleUploadedFile("qa.csv", b"Q,A\nx,1\ny,2\n")},
        **auth,
    )
    assert upload.status_code == 201
    assert upload.json()["columns"] == ["q", "a"] and upload.json()["head"][1] == {
        "q": "y",
        "a": "2",
    }
    broken = client.post(
        f"/api/projects/{project.pk}/seed-files",
        {"file": SimpleUploadedFile("rows.jsonl", b'{"a": 1}\n{oops\n')},
        **auth,
    )
    assert broken.status_code == 422 and "line 2" in broken.json()["detail"]
