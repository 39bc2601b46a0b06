"""'Test connection' makes one cheap call through the real SDK and reports the provider's own
message when it fails."""

import pytest

from generation.connection_check import ConnectionCheckFailed, credential_check_connection
from studio.models import ProviderCredential
from studio.services import credential_create
from tests.fakes.llm_server import FakeLLMServer, Reply

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


SECRET_PAGE = b"<html><body><h1>Internal admin</h1><p>db password: hunter2</p></body></html>"


@pytest.mark.parametrize("provider", ["openai_compatible", "anthropic"])
def test_an_html_page_with_200_is_reported_as_what_it_is(project, llm_server, provider):
    credential = make(project, llm_server, provider, "sk-good-key-1111")
    llm_server.raw_reply_next(Reply(200, SECRET_PAGE, {"Content-Type": "text/html"}))
    with pytest.raises(ConnectionCheckFailed) as caught:
        credential_check_connection(credential=credential)
    assert "expected a JSON answer, got text/html" in str(caught.value)
    assert "hunter2" not in str(caught.value)


@pytest.mark.parametrize("provider", ["openai_compatible", "anthropic"])
def test_an_error_page_is_reported_by_its_status_line_only(project, llm_server, provider):
    credential = make(project, llm_server, provider, "sk-good-key-1111")
    llm_server.raw_reply_next(Reply(404, SECRET_PAGE, {"Content-Type": "text/html"}))
    with pytest.raises(ConnectionCheckFailed) as caught:
        credential_check_connection(credential=credential)
    assert str(caught.value) == "HTTP 404: Not Found from 127.0.0.1"


def test_a_providers_error_message_is_cleaned_and_cut_short(project, llm_server):
    credential = make(project, llm_server, "openai_compatible", "sk-good-key-1111")
    long_message = "<b>Bad</b>\nrequest: " + "x" * 5000
    llm_server.raw_reply_next(FakeLLMServer.error_reply("openai", 400, message=long_message))
    with pytest.raises(ConnectionCheckFailed) as caught:
        credential_check_connection(credential=credential)
    message = str(caught.value)
    assert message.startswith("HTTP 400: Bad request: xxx")
    assert "<b>" not in message and "\n" not in message
    assert len(message) < 400


def test_a_redirect_is_not_followed(project, llm_server):
    credential = make(project, llm_server, "anthropic", "sk-good-key-1111")
    elsewhere = f"{llm_server.base_url}/v1/models?from=redirect"
    llm_server.raw_reply_next(Reply(302, b"", {"Location": elsewhere}))
    with pytest.raises(ConnectionCheckFailed, match="302"):
        credential_check_connection(credential=credential)
    assert len(llm_server.requests) == 1  # the key went to the checked URL only


def test_a_private_target_is_refused_before_any_connection_when_the_install_forbids_it(
    project, llm_server, settings
):
    credential = make(project, llm_server, "openai_compatible", "sk-good-key-1111")
    settings.STUDIO_ALLOW_PRIVATE_PROVIDER_URLS = False
    with pytest.raises(ConnectionCheckFailed, match="private, loopback or link-local"):
        credential_check_connection(credential=credential)
    assert llm_server.requests == []
    # An open port and a closed one answer alike: both are refused before connecting.
    closed = ProviderCredential.objects.create(
        project=project,
        name="closed",
        provider="openai_compatible",
        base_url="http://127.0.0.1:9/v1",
    )
    with pytest.raises(ConnectionCheckFailed) as caught:
        credential_check_connection(credential=closed)
    assert "reach" not in str(caught.value)


def test_a_generation_error_page_shows_on_the_row_as_its_status_line_only(project, llm_server):
    from generation.preview import preview_rows
    from studio.schema import parse_spec
    from tests.fixtures import qa_spec

    credential = make(project, llm_server, "openai_compatible", "sk-good-key-1111")
    llm_server.raw_reply_next(Reply(400, SECRET_PAGE, {"Content-Type": "text/html"}), count=10)
    rows = preview_rows(project=project, spec=parse_spec(qa_spec(credential.pk)), count=1)
    errors = list(rows[0].outcome.errors.values())
    assert errors == ["HTTP 400: Bad Request from 127.0.0.1"]
