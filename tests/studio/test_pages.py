"""The core pages as a user meets them: credentials stay secret, the schema form refuses bad
schemas with the column's name, and preview shows rendered prompts beside answers."""

import pytest

from studio.models import DatasetSchema, ProviderCredential

pytestmark = pytest.mark.django_db


def column_post(columns, name="QA", extra=None):
    data = {
        "name": name,
        "description": "",
        "columns-TOTAL_FORMS": str(len(columns)),
        "columns-INITIAL_FORMS": "0",
        "columns-MIN_NUM_FORMS": "0",
        "columns-MAX_NUM_FORMS": "1000",
        "save": "1",
    }
    for i, column in enumerate(columns):
        for key, value in column.items():
            data[f"columns-{i}-{key}"] = value
    data.update(extra or {})
    return data


def topic_and_question(credential, prompt="Write a question about {{ topic }}"):
    return [
        {"name": "topic", "kind": "category", "values": "space, oceans"},
        {
            "name": "question",
            "kind": "llm_text",
            "credential": str(credential.pk),
            "model": "gpt-4o-mini",
            "template": prompt,
            "temperature": "0.7",
            "max_tokens": "100",
        },
    ]


def test_credential_key_is_encrypted_and_never_shown_back(owner_client, project):
    response = owner_client.post(
        f"/projects/{project.pk}/credentials/new/",
        {
            "name": "openai",
            "provider": "openai",
            "api_key": "sk-secret-value-abcd",
            "requests_per_minute": "500",
        },
    )
    assert response.status_code == 302
    credential = ProviderCredential.objects.get(name="openai")
    assert "sk-secret-value-abcd" not in credential.api_key_encrypted
    for url in (f"/projects/{project.pk}/", f"/credentials/{credential.pk}/"):
        page = owner_client.get(url).content.decode()
        assert "sk-secret-value-abcd" not in page
        assert "••••abcd" in page


def test_openai_compatible_credential_needs_a_base_url(owner_client, project):
    response = owner_client.post(
        f"/projects/{project.pk}/credentials/new/",
        {"name": "local", "provider": "openai_compatible", "requests_per_minute": "500"},
    )
    assert response.status_code == 200
    assert "needs its base URL" in response.content.decode()
    assert not ProviderCredential.objects.exists()


def test_schema_with_an_unknown_column_is_refused_naming_it(
    owner_client, project, openai_credential
):
    columns = topic_and_question(openai_credential, prompt="Write a question about {{ topc }}")
    response = owner_client.post(f"/projects/{project.pk}/schemas/new/", column_post(columns))
    body = response.content.decode()
    assert response.status_code == 400
    assert (
        "Column &#x27;question&#x27; refers to unknown column &#x27;topc&#x27; in its prompt"
        in body
    )
    assert not DatasetSchema.objects.exists()
    assert "topc" in body  # what the user typed is kept in the form


def test_schema_with_a_cycle_is_refused_naming_it(owner_client, project, openai_credential):
    columns = [
        {
            "name": "question",
            "kind": "llm_text",
            "credential": str(openai_credential.pk),
            "model": "m",
            "template": "Ask about {{ answer }}",
        },
        {
            "name": "answer",
            "kind": "llm_text",
            "credential": str(openai_credential.pk),
            "model": "m",
            "template": "Answer {{ question }}",
        },
    ]
    response = owner_client.post(f"/projects/{project.pk}/schemas/new/", column_post(columns))
    assert response.status_code == 400
    assert "question → answer → question" in response.content.decode()


def test_saving_a_valid_schema_then_editing_makes_a_new_version(
    owner_client, project, openai_credential
):
    columns = topic_and_question(openai_credential)
    response = owner_client.post(f"/projects/{project.pk}/schemas/new/", column_post(columns))
    schema = DatasetSchema.objects.get()
    assert response.status_code == 302 and schema.version == 1
    assert schema.spec["columns"][1]["prompt"] == "Write a question about {{ topic }}"
    edit = column_post(topic_and_question(openai_credential, "Ask about {{ topic }}"))
    owner_client.post(f"/schemas/{schema.pk}/", edit)
    schema.refresh_from_db()
    assert schema.version == 2
    page = owner_client.get(f"/schemas/{schema.pk}/").content.decode()
    assert "Ask about {{ topic }}" in page and "version 2" in page


def test_preview_shows_rendered_prompts_and_answers(
    owner_client, project, openai_credential, llm_server
):
    columns = topic_and_question(openai_credential)
    response = owner_client.post(
        f"/projects/{project.pk}/schemas/preview/", column_post(columns), HTTP_HX_REQUEST="true"
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert body.count('class="preview-row"') == 3
    assert "Prompt sent for" in body
    assert len(llm_server.generation_requests()) == 3
    assert all(p.startswith("Write a question about ") for p in llm_server.prompts())


def test_preview_of_an_invalid_schema_explains_and_calls_nothing(
    owner_client, project, openai_credential, llm_server
):
    columns = topic_and_question(openai_credential, prompt="{{ ''.__class__.__mro__ }}")
    response = owner_client.post(f"/projects/{project.pk}/schemas/preview/", column_post(columns))
    assert "not allowed" in response.content.decode()
    assert llm_server.generation_requests() == []


def test_signup_creates_an_account_and_signs_in(client, db):
    response = client.post(
        "/signup/",
        {"username": "newbie", "password1": "a-Long-pass-123", "password2": "a-Long-pass-123"},
    )
    assert response.status_code == 302
    assert client.get("/").status_code == 200
