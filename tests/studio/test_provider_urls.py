"""The provider URL policy (pure): only web URLs, and private targets only when allowed."""

import pytest

from studio.provider_urls import ProviderUrlRefused, check_base_url


def no_dns(host, port):
    raise AssertionError(f"{host} should not need a lookup")


def resolving_to(*addresses):
    return lambda host, port: list(addresses)


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "gopher://127.0.0.1:6379/_FLUSHALL",
        "javascript:alert(1)",
        "ftp://example.com/",
        "example.com/v1",
        "http://",
        "https:///v1",
        "http://user:pass@example.com/v1",
        "http://example.com@169.254.169.254/",
        "http://example.com:99999/",
        "http://exa mple.com/",
        "http://example.com/\x00",
        "http://example.com\\@evil.test/",
    ],
)
def test_only_plain_web_urls_are_accepted_whatever_the_setting(url):
    for allow_private in (True, False):
        with pytest.raises(ProviderUrlRefused):
            check_base_url(url, allow_private=allow_private, resolve=resolving_to("8.8.8.8"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8001/v1",
        "http://localhost:11434/v1",
        "http://api.localhost/v1",
        "http://[::1]:8000/v1",
        "http://0.0.0.0:8000/v1",
        "http://[::]/v1",
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.5/v1",
        "http://172.16.3.4/v1",
        "http://192.168.1.10/v1",
        "http://100.64.0.1/v1",
        "http://[fd00::1]/v1",
        "http://[fe80::1]/v1",
        "http://[::ffff:127.0.0.1]/v1",
        "http://[::ffff:a9fe:a9fe]/v1",
        "http://[::127.0.0.1]/v1",
        "http://2130706433/v1",
        "http://0x7f000001/v1",
        "http://0177.0.0.1/v1",
        "http://127.1/v1",
        "http://017700000001/v1",
        "http://224.0.0.1/v1",
    ],
)
def test_private_loopback_and_link_local_literals_are_refused_without_a_lookup(url):
    with pytest.raises(ProviderUrlRefused):
        check_base_url(url, allow_private=False, resolve=no_dns)


def test_the_message_names_the_address_and_the_setting():
    with pytest.raises(ProviderUrlRefused) as caught:
        check_base_url("http://2130706433/v1", allow_private=False, resolve=no_dns)
    assert "127.0.0.1" in str(caught.value)
    assert "STUDIO_ALLOW_PRIVATE_PROVIDER_URLS" in str(caught.value)


@pytest.mark.parametrize(
    "addresses",
    [
        ("127.0.0.1",),
        ("93.184.215.14", "10.1.2.3"),  # one private address among public ones is enough
        ("::1",),
        ("::ffff:169.254.169.254",),
        (),  # does not resolve
    ],
)
def test_a_host_name_is_refused_unless_every_address_it_resolves_to_is_public(addresses):
    with pytest.raises(ProviderUrlRefused):
        check_base_url(
            "https://models.example.com/v1", allow_private=False, resolve=resolving_to(*addresses)
        )


def test_the_name_is_resolved_on_the_urls_port():
    asked = []

    def resolve(host, port):
        asked.append((host, port))
        return ["93.184.215.14"]

    check_base_url("https://models.example.com/v1", allow_private=False, resolve=resolve)
    check_base_url("http://models.example.com:8080/v1", allow_private=False, resolve=resolve)
    assert asked == [("models.example.com", 443), ("models.example.com", 8080)]


@pytest.mark.parametrize(
    "url",
    [
        "https://api.openai.com/v1",
        "https://93.184.215.14/v1",
        "http://[2606:4700::1111]/v1",
        "HTTPS://API.EXAMPLE.COM/v1",
    ],
)
def test_public_targets_are_accepted(url):
    check_base_url(url, allow_private=False, resolve=resolving_to("93.184.215.14"))


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:8001/v1",
        "http://localhost:11434/v1",
        "http://vllm:8000/v1",
        "http://0.0.0.0:8000/v1",
        "http://[::1]:8000/v1",
    ],
)
def test_an_install_that_allows_private_targets_accepts_local_servers_without_a_lookup(url):
    check_base_url(url, allow_private=True, resolve=no_dns)
