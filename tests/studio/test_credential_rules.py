"""Credentials obey one set of rules from the page and the API (studio.credential_rules): a bad
field gets a 4xx naming it, never a 500; a key is only sent where it was entered for; a base
URL must be a web URL, and private targets only where the install allows them."""

from __future__ import annotations

import json

import pytest
from django.test import Client

from generation.preview import preview_rows
from studio.models import ProviderCredential
from studio.schema import parse_spec
from studio.services import api_token_create, credential_api_key, credential_create
from tests.fakes.llm_server import FakeLLMServer
from tests.fixtures import qa_spec

pytestmark = pytest.mark.django_db

OWNER_KEY = "sk-owner-secret-key-1234"


@pytest.fixture
def api(owner) -> Client:
    _, token = api_token_create(user=owner, name="tests")
    return Client(HTTP_AUTHORIZATION=f"Bearer {token}")


def api_send(api: Client, method: str, url: str, body: dict) -> object:
    return getattr(api, method)(url, data=json.dumps(body), content_type="application/json")


def api_error_fields(response) -> set[str]:
    return {str(error["loc"][-1]) for error in response.json()["detail"]}


def valid_fields(base_url: str) -> dict[str, object]:
    return {
        "name": "local vllm",
        "provider": "openai_compatible",
        "base_url": base_url,
        "api_key": OWNER_KEY,
        "requests_per_minute": 500,
        "tokens_per_minute": 200_000,
    }


@pytest.fixture
def credential(project, llm_server) -> ProviderCredential:
    return credential_create(project=project, **valid_fields(llm_server.openai_base_url))


# ---- A new base URL needs the key again ------------------------------------------------------


def test_the_api_refuses_a_new_base_url_without_the_key_and_the_key_never_goes_there(
    api, credential, llm_server
):
    with FakeLLMServer() as elsewhere:
        response = api_send(
            api,
            "patch",
            f"/api/credentials/{credential.pk}",
            {"base_url": elsewhere.openai_base_url},
        )
        assert response.status_code == 422
        assert api_error_fields(response) == {"api_key"}
        credential.refresh_from_db()
        assert credential.base_url == llm_server.openai_base_url
        assert api.post(f"/api/credentials/{credential.pk}/test").json()["ok"] is True
        assert elsewhere.requests == []
    assert [r.api_key for r in llm_server.requests] == [OWNER_KEY]


def test_the_edit_page_refuses_a_new_base_url_without_the_key(owner_client, credential, llm_server):
    response = owner_client.post(
        f"/credentials/{credential.pk}/", {"base_url": "http://127.0.0.1:9/v1", "api_key": ""}
    )
    assert response.status_code == 200
    assert "api_key" in response.context["form"].errors
    assert "Enter the API key again" in response.content.decode()
    credential.refresh_from_db()
    assert credential.base_url == llm_server.openai_base_url


def test_a_new_base_url_with_its_key_is_saved_by_page_and_api(owner_client, api, credential):
    response = owner_client.post(
        f"/credentials/{credential.pk}/",
        {"base_url": "http://127.0.0.1:9/v1", "api_key": "sk-new-key-for-new-url-1"},
    )
    assert response.status_code == 302
    credential.refresh_from_db()
    assert credential.base_url == "http://127.0.0.1:9/v1"
    assert credential_api_key(credential=credential) == "sk-new-key-for-new-url-1"
    response = api_send(
        api,
        "patch",
        f"/api/credentials/{credential.pk}",
        {"base_url": "http://127.0.0.1:10/v1", "api_key": "sk-another-new-key-2"},
    )
    assert response.status_code == 200, response.content
    assert response.json()["base_url"] == "http://127.0.0.1:10/v1"


def test_the_unchanged_base_url_needs_no_key(owner_client, api, credential, llm_server):
    response = owner_client.post(
        f"/credentials/{credential.pk}/", {"base_url": llm_server.openai_base_url, "api_key": ""}
    )
    assert response.status_code == 302
    response = api_send(
        api, "patch", f"/api/credentials/{credential.pk}", {"base_url": llm_server.openai_base_url}
    )
    assert response.status_code == 200
    assert credential_api_key(credential=credential) == OWNER_KEY


# ---- One validation, page and API ------------------------------------------------------------

BAD_FIELDS = [
    ("name", {"name": "bad\x00name"}),
    ("name", {"name": "n" * 81}),
    ("api_key", {"api_key": "sk-\x00-key"}),
    ("api_key", {"api_key": "sk-key\r\nX-Injected: 1"}),
    ("requests_per_minute", {"requests_per_minute": 10**12}),
    ("tokens_per_minute", {"tokens_per_minute": 10**12}),
    ("input_price_per_million", {"input_price_per_million": "12345678.5"}),
    ("output_price_per_million", {"output_price_per_million": "1e20"}),
    ("input_price_per_million", {"input_price_per_million": "0.00001"}),
    ("base_url", {"base_url": "file:///etc/passwd"}),
    ("base_url", {"base_url": "gopher://127.0.0.1:6379/_INFO"}),
    ("base_url", {"base_url": "javascript:alert(1)"}),
    ("base_url", {"base_url": "http://user:pass@127.0.0.1:9/v1"}),
    ("base_url", {"base_url": "http://127.0.0.1:9/v1\x00"}),
    ("base_url", {"base_url": "http://" + "a" * 500 + ".example/v1"}),
    ("base_url", {"base_url": ""}),  # an OpenAI-compatible server needs one
    ("base_url", {"provider": "simulator", "api_key": ""}),  # the simulator takes none
    ("api_key", {"provider": "openai", "base_url": "", "api_key": ""}),
]


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS)
def test_the_api_refuses_a_bad_field_naming_it(api, project, field, change):
    body = {**valid_fields("http://127.0.0.1:9/v1"), **change}
    if change.get("provider") == "simulator":
        body["base_url"] = "http://127.0.0.1:9/v1"
    response = api_send(api, "post", f"/api/projects/{project.pk}/credentials", body)
    assert response.status_code == 422, response.content
    assert field in api_error_fields(response)
    assert not ProviderCredential.objects.exists()
    assert api.get(f"/api/projects/{project.pk}/credentials").status_code == 200


@pytest.mark.parametrize(("field", "change"), BAD_FIELDS)
def test_the_page_refuses_a_bad_field_naming_it(owner_client, project, field, change):
    form = {**valid_fields("http://127.0.0.1:9/v1"), **change}
    if change.get("provider") == "simulator":
        form["base_url"] = "http://127.0.0.1:9/v1"
    response = owner_client.post(f"/projects/{project.pk}/credentials/new/", form)
    assert response.status_code == 200
    assert field in response.context["form"].errors
    assert not ProviderCredential.objects.exists()
    assert owner_client.get(f"/projects/{project.pk}/").status_code == 200


@pytest.mark.parametrize(
    ("field", "change"),
    [
        ("api_key", {"api_key": "sk-\x00"}),
        ("base_url", {"base_url": "file:///etc/passwd", "api_key": "sk-new-key-1234"}),
        ("base_url", {"base_url": "", "api_key": "sk-new-key-1234"}),
    ],
)
def test_a_bad_change_is_refused_naming_its_field_by_page_and_api(
    owner_client, api, credential, field, change
):
    response = api_send(api, "patch", f"/api/credentials/{credential.pk}", change)
    assert response.status_code == 422
    assert field in api_error_fields(response)
    page = owner_client.post(f"/credentials/{credential.pk}/", {"base_url": "", **change})
    assert page.status_code == 200
    assert field in page.context["form"].errors


def test_the_largest_price_the_column_holds_is_accepted_and_shown(api, owner_client, project):
    body = {**valid_fields("http://127.0.0.1:9/v1"), "input_price_per_million": "999999.9999"}
    response = api_send(api, "post", f"/api/projects/{project.pk}/credentials", body)
    assert response.status_code == 201, response.content
    assert owner_client.get(f"/projects/{project.pk}/").status_code == 200


def test_a_docker_service_name_is_a_valid_base_url_on_the_page_too(owner_client, project):
    # The page used Django's URLField, which wants a top-level domain; the API did not.
    form = valid_fields("http://vllm:8000/v1")
    response = owner_client.post(f"/projects/{project.pk}/credentials/new/", form)
    assert response.status_code == 302
    assert ProviderCredential.objects.get().base_url == "http://vllm:8000/v1"


# ---- Private targets are the install's choice ------------------------------------------------


@pytest.fixture
def private_targets_forbidden(settings):
    settings.STUDIO_ALLOW_PRIVATE_PROVIDER_URLS = False


@pytest.mark.parametrize(
    "base_url",
    [
        "http://127.0.0.1:8001/v1",
        "http://localhost:11434/v1",
        "http://[::1]:8000/v1",
        "http://169.254.169.254/latest",
        "http://2130706433/v1",
        "http://[::ffff:10.0.0.1]/v1",
    ],
)
def test_private_targets_are_refused_by_page_and_api_when_the_install_forbids_them(
    api, owner_client, project, private_targets_forbidden, base_url
):
    body = valid_fields(base_url)
    response = api_send(api, "post", f"/api/projects/{project.pk}/credentials", body)
    assert response.status_code == 422
    assert api_error_fields(response) == {"base_url"}
    page = owner_client.post(f"/projects/{project.pk}/credentials/new/", body)
    assert "base_url" in page.context["form"].errors
    assert not ProviderCredential.objects.exists()


def test_a_public_address_is_accepted_when_private_ones_are_forbidden(
    api, project, private_targets_forbidden
):
    body = valid_fields("https://93.184.215.14/v1")
    response = api_send(api, "post", f"/api/projects/{project.pk}/credentials", body)
    assert response.status_code == 201, response.content


def test_generation_refuses_a_private_target_before_sending_the_key(
    project, credential, llm_server, settings
):
    # Saved while allowed; the install (or the host's DNS answer) changed since.
    settings.STUDIO_ALLOW_PRIVATE_PROVIDER_URLS = False
    spec = parse_spec(qa_spec(credential.pk))
    rows = preview_rows(project=project, spec=spec, count=1)
    assert any("private, loopback or link-local" in e for e in rows[0].outcome.errors.values())
    assert llm_server.requests == []
