"""Which provider base URLs the studio may send a key to. Pure: no Django.

A credential's base URL is where its key goes, so it must name a web server (http/https, a host,
no user name or password smuggled before the host) and, unless this install allows it, a public
one: a private, loopback or link-local address would let a user aim the server's own requests at
its internal network or the cloud's metadata service (169.254.169.254). Local vLLM or Ollama
servers are legitimate in the embedded mode, hence ``allow_private``.

An address is judged after resolution, in every spelling the resolver accepts (``2130706433``,
``0x7f.1``, ``[::ffff:127.0.0.1]``), and a host name is allowed only when every address it
resolves to is: the check runs when the URL is saved and again just before a key is sent."""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import Callable, Iterable
from urllib.parse import SplitResult, urlsplit

ALLOWED_SCHEMES = ("http", "https")
# Control characters (NUL included), spaces and backslashes: parsers disagree on them.
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")
# The legacy numeric spellings of an IPv4 address that inet_aton (and so getaddrinfo) accepts:
# 2130706433, 0x7f000001, 0177.0.0.1, 127.1.
_NUMERIC_HOST = re.compile(r"(0x[0-9a-f]*|[0-9]+)(\.(0x[0-9a-f]*|[0-9]+)){0,3}", re.IGNORECASE)

MSG_UNSAFE_CHARACTERS = "The base URL must not contain spaces, backslashes or control characters"
MSG_SCHEME = "The base URL must start with http:// or https://"
MSG_NO_HOST = "The base URL needs a host name"
MSG_USERINFO = "The base URL must not contain a user name or password"
MSG_BAD_PORT = "The base URL's port is not a valid port number"
MSG_UNRESOLVED = "The base URL's host '{host}' cannot be resolved"
MSG_PRIVATE = (
    "The base URL points to a private, loopback or link-local address ({address}); "
    "this installation does not allow those (STUDIO_ALLOW_PRIVATE_PROVIDER_URLS)"
)
MSG_NEVER = "The base URL points to an address no provider can have ({address})"

Address = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Iterable[str]]


class ProviderUrlRefused(ValueError):
    """The URL may not receive a key; the message says why, for the user."""


def resolve_host(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to (the system resolver, as the HTTP client will)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        return []
    return [str(info[4][0]).split("%", 1)[0] for info in infos]


def parse_base_url(url: str) -> SplitResult:
    """The URL split, when its shape is acceptable; else ProviderUrlRefused."""
    if _UNSAFE_CHARACTERS.search(url):
        raise ProviderUrlRefused(MSG_UNSAFE_CHARACTERS)
    parts = urlsplit(url)
    if parts.scheme.lower() not in ALLOWED_SCHEMES:
        raise ProviderUrlRefused(MSG_SCHEME)
    if "@" in parts.netloc:
        raise ProviderUrlRefused(MSG_USERINFO)
    if not parts.hostname:
        raise ProviderUrlRefused(MSG_NO_HOST)
    try:
        parts.port  # noqa: B018 - raises ValueError for a port out of range or not a number
    except ValueError as exc:
        raise ProviderUrlRefused(MSG_BAD_PORT) from exc
    return parts


def literal_address(host: str) -> Address | None:
    """The address ``host`` spells directly (any IPv4 or IPv6 form), or None for a name."""
    try:
        return ipaddress.ip_address(host)
    except ValueError:
        pass
    if _NUMERIC_HOST.fullmatch(host):
        try:
            return ipaddress.IPv4Address(socket.inet_aton(host))
        except OSError:
            return None
    return None


def _unwrapped(address: Address) -> Address:
    """The IPv4 address inside an IPv4-mapped or IPv4-compatible IPv6 address."""
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return address.ipv4_mapped
        if address.packed[:12] == bytes(12) and int(address) > 1:  # ::a.b.c.d (deprecated form)
            return ipaddress.IPv4Address(address.packed[12:])
    return address


def address_refusal(address: Address, *, allow_private: bool) -> str | None:
    """Why a key may not go to ``address`` (a message), or None when it may."""
    address = _unwrapped(address)
    if address.is_multicast:
        return MSG_NEVER.replace("{address}", str(address))
    if allow_private or address.is_global:
        return None
    return MSG_PRIVATE.replace("{address}", str(address))


def _is_local_name(host: str) -> bool:
    # RFC 6761: localhost and its subdomains are loopback whatever a resolver says.
    return host == "localhost" or host.endswith(".localhost")


def check_base_url(url: str, *, allow_private: bool, resolve: Resolver = resolve_host) -> None:
    """Refuse (ProviderUrlRefused) a base URL a key may not be sent to. With ``allow_private``
    only the URL's shape is checked, without resolving; otherwise every address the host
    resolves to must be public."""
    parts = parse_base_url(url)
    if allow_private:
        return
    host = (parts.hostname or "").rstrip(".")
    if _is_local_name(host):
        raise ProviderUrlRefused(MSG_PRIVATE.replace("{address}", host))
    literal = literal_address(host)
    if literal is not None:
        addresses: list[Address] = [literal]
    else:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
        resolved = []
        for text in resolve(host, port):
            address = literal_address(text)
            if address is None:  # not an address: refuse rather than guess
                raise ProviderUrlRefused(MSG_UNRESOLVED.replace("{host}", host))
            resolved.append(address)
        addresses = resolved
    if not addresses:
        raise ProviderUrlRefused(MSG_UNRESOLVED.replace("{host}", host))
    for address in addresses:
        refusal = address_refusal(address, allow_private=False)
        if refusal:
            raise ProviderUrlRefused(refusal)
