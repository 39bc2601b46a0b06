"""'Test connection' makes one cheap call through the real SDK and reports the provider's own
message when it fails."""

import pytest

from generation.connection_check import ConnectionCheckFailed, credential_check_connection
from studio.models import ProviderCredential
from studio.services import credential_create

pytestmark = pytest.mark.django_db


def make(project, llm_server, provider, key):
    base = llm_server.openai_base_url if provider == "openai_compatible" else llm_server.base_url
    return credential_create(
        project=project, name=f"{provider}-{key}", provider=provider, base_url=base, api_key=key
    )


@pytest.mark.parametrize("provider", ["openai_compatible", "anthropic"])
def test_a_good_key_connects_and_a_bad_one_gets_the_providers_message(
    project, llm_server, provider
):
    llm_server.valid_keys = {"sk-good-key-1111"}
    good = make(project, llm_server, provider, "sk-good-key-1111")
    assert credential_check_connection(credential=good).startswith("Connected")
    bad = make(project, llm_server, provider, "sk-bad-key-2222")
    with pytest.raises(ConnectionCheckFailed) as caught:
        credential_check_connection(credential=bad)
    assert "401" in str(caught.value)
    assert "key" in str(caught.value).lower()
    assert llm_server.generation_requests() == []  # listing models costs nothing


def test_an_unreachable_server_is_reported(project):
    credential = credential_create(
        project=project,
        name="down",
        provider="openai_compatible",
        base_url="http://127.0.0.1:9/v1",
        api_key="sk-whatever-0000",
    )
    with pytest.raises(ConnectionCheckFailed, match="reach"):
        credential_check_connection(credential=credential)


def test_the_simulator_needs_no_network(project):
    credential = credential_create(
        project=project, name="sim", provider=ProviderCredential.Provider.SIMULATOR
    )
    assert "no network call" in credential_check_connection(credential=credential)


def test_the_page_and_the_api_show_the_result(owner_client, project, llm_server, owner):
    from studio.services import api_token_create

    llm_server.valid_keys = {"sk-good-key-1111"}
    bad = make(project, llm_server, "openai_compatible", "sk-bad-key-2222")
    page = owner_client.post(f"/credentials/{bad.pk}/test/").content.decode()
    assert "✗" in page and "Incorrect API key" in page
    _, token = api_token_create(user=owner, name="t")
    answer = owner_client.post(
        f"/api/credentials/{bad.pk}/test", HTTP_AUTHORIZATION=f"Bearer {token}"
    ).json()
    assert answer["ok"] is False and "Incorrect API key" in answer["message"]


def test_strangers_cannot_test_someone_elses_credential(stranger_client, project, llm_server):
    credential = make(project, llm_server, "openai_compatible", "sk-good-key-1111")
    assert stranger_client.post(f"/credentials/{credential.pk}/test/").status_code == 404
