"""Cloud metadata addresses stay refused whatever the settings (issue 17, item 4).

`allow_private_networks` opens private networks to fetched URLs, `trusted=True` opens everything to
the LLM endpoint and `allow_addresses` exempts one test server; none of them reaches 169.254.169.254
and its kin, in any form. Every refusal happens before a connection, so no test touches the network.
"""

from __future__ import annotations

import asyncio
import socket
from typing import Any

import anyio
import pytest
from pytest_httpserver import HTTPServer

from _http_servers import local_server, local_settings
from briefbot.errors import BlockedAddressError
from briefbot.http import HttpSettings, fetch, make_client
from briefbot.http.net import AddressPolicy, ConnectBlocked, GuardedBackend, blocked_reason, is_metadata

METADATA = [
    "169.254.169.254",
    "169.254.170.2",
    "169.254.170.23",
    "100.100.100.200",
    "168.63.129.16",
    "192.0.0.192",
    "fd00:ec2::254",
    "fd00:ec2::23",
]
# The same endpoints smuggled inside IPv6: each is judged by the IPv4 address it carries.
METADATA_IN_IPV6 = [
    "::ffff:169.254.169.254",
    "::ffff:a9fe:a9fe",
    "::ffff:169.254.170.2",
    "::ffff:100.100.100.200",
    "::169.254.169.254",
    "2002:a9fe:a9fe::1",
    "64:ff9b::169.254.169.254",
    "64:ff9b::100.100.100.200",
]


def run(coro):
    return asyncio.run(coro)


async def _get(url: str, settings: HttpSettings):
    async with make_client(settings) as client:
        return await fetch(client, url)


def _redirecting_feed(server: HTTPServer, location: str) -> str:
    server.expect_request("/feed.xml").respond_with_data("", status=302, headers={"Location": location})
    return f"http://127.0.0.1:{server.port}/feed.xml"


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> dict[str, list[str]]:
    """Names answered from this dict instead of DNS (the guard resolves through anyio.getaddrinfo)."""
    answers: dict[str, list[str]] = {}
    real = anyio.getaddrinfo

    async def getaddrinfo(host: Any, port: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else host
        if name not in answers:
            return await real(host, port, **kwargs)
        infos = []
        for address in answers[name]:
            if ":" in address:
                infos.append((socket.AF_INET6, socket.SOCK_STREAM, 6, "", (address, port, 0, 0)))
            else:
                infos.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port)))
        return infos

    monkeypatch.setattr(anyio, "getaddrinfo", getaddrinfo)
    return answers


# --- the rule itself --------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", list(AddressPolicy))
@pytest.mark.parametrize("address", METADATA + METADATA_IN_IPV6)
def test_metadata_is_refused_under_every_policy(address: str, policy: AddressPolicy) -> None:
    reason = blocked_reason(address, policy=policy)
    assert reason is not None and "metadata" in reason
    assert is_metadata(address)


@pytest.mark.parametrize(
    "address",
    ["169.254.1.1", "169.254.169.253", "169.254.169.123", "fe80::1", "fe80::1%2", "::ffff:169.254.1.1"],
)
def test_private_policy_keeps_link_local_closed(address: str) -> None:
    reason = blocked_reason(address, policy=AddressPolicy.PRIVATE)
    assert reason is not None and "link-local" in reason
    assert blocked_reason(address, policy=AddressPolicy.PUBLIC) is not None


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "::1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "100.64.0.1",
        "100.100.100.100",  # Tailscale's MagicDNS, next door to Alibaba's metadata address
        "fd12:3456::1",
        "fd00:ec2::253",
        "::ffff:127.0.0.1",
        "::ffff:192.168.1.1",
        "93.184.215.14",
    ],
)
def test_private_policy_opens_private_networks(address: str) -> None:
    assert blocked_reason(address, policy=AddressPolicy.PRIVATE) is None
    assert not is_metadata(address)


@pytest.mark.parametrize("address", ["127.0.0.1", "::1", "10.0.0.7", "169.254.1.1", "fe80::1", "8.8.8.8"])
def test_trusted_policy_refuses_nothing_but_metadata(address: str) -> None:
    assert blocked_reason(address, policy=AddressPolicy.TRUSTED) is None


@pytest.mark.parametrize("policy", list(AddressPolicy))
def test_guard_refuses_a_name_resolving_to_metadata_even_when_exempted(
    fake_dns: dict[str, list[str]], policy: AddressPolicy
) -> None:
    # A public answer beside the metadata one changes nothing; nor does a test-only exemption.
    fake_dns["instance-data.example"] = ["93.184.215.14", "::ffff:169.254.169.254"]
    backend = GuardedBackend(policy=policy, allowed=[("::ffff:169.254.169.254", 80)])
    with pytest.raises(ConnectBlocked) as caught:
        run(backend.connect_tcp("instance-data.example", 80, timeout=1.0))
    assert caught.value.address == "::ffff:169.254.169.254"
    assert "metadata" in caught.value.reason


# --- through fetch(), with allow_private_networks ------------------------------------------------


@pytest.mark.parametrize(
    ("location", "address"),
    [
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254"),
        ("http://169.254.170.2/v2/credentials/", "169.254.170.2"),
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "fd00:ec2::254"),
        ("http://[::ffff:169.254.169.254]/latest/meta-data/", "::ffff:169.254.169.254"),
        ("http://2852039166/latest/meta-data/", "169.254.169.254"),  # one decimal number
    ],
)
def test_feed_redirecting_to_metadata_is_refused_with_private_networks_allowed(
    httpserver: HTTPServer, location: str, address: str
) -> None:
    start = _redirecting_feed(httpserver, location)
    with pytest.raises(BlockedAddressError) as caught:
        run(_get(start, local_settings(allow_private_networks=True)))
    message = str(caught.value)
    assert location in message and address in message and "metadata" in message
    assert len(httpserver.log) == 1


def test_feed_redirecting_to_a_name_for_metadata_is_refused(
    httpserver: HTTPServer, fake_dns: dict[str, list[str]]
) -> None:
    fake_dns["metadata.google.internal"] = ["169.254.169.254"]
    location = "http://metadata.google.internal/computeMetadata/v1/"
    start = _redirecting_feed(httpserver, location)
    with pytest.raises(BlockedAddressError) as caught:
        run(_get(start, local_settings(allow_private_networks=True)))
    message = str(caught.value)
    assert "metadata.google.internal resolves to 169.254.169.254" in message and "metadata" in message


def test_feed_redirecting_to_link_local_is_refused_with_private_networks_allowed(
    httpserver: HTTPServer,
) -> None:
    start = _redirecting_feed(httpserver, "http://169.254.169.253/")
    with pytest.raises(BlockedAddressError, match=r"169\.254\.169\.253 \(link-local\)"):
        run(_get(start, local_settings(allow_private_networks=True)))


def test_metadata_url_is_refused_even_when_exempted_by_allow_addresses() -> None:
    settings = local_settings(allow_private_networks=False, allow_addresses=("169.254.169.254:80",))
    with pytest.raises(BlockedAddressError, match="metadata"):
        run(_get("http://169.254.169.254/latest/meta-data/", settings))


def test_private_networks_still_work_with_the_flag(httpserver: HTTPServer) -> None:
    # The flag's purpose survives: a feed on loopback, redirecting to another local server.
    with local_server() as inner:
        inner.expect_request("/feed.xml").respond_with_data("<rss/>")
        start = _redirecting_feed(httpserver, f"http://127.0.0.1:{inner.port}/feed.xml")
        result = run(_get(start, local_settings(allow_private_networks=True)))
    assert result.body == b"<rss/>" and result.redirects == [f"http://127.0.0.1:{inner.port}/feed.xml"]


# --- the trusted (LLM) client ---------------------------------------------------------------------


def test_trusted_client_reaches_loopback_but_not_metadata_through_a_redirect(httpserver: HTTPServer) -> None:
    # The openai SDK follows redirects, and a 302 turns its POST into a GET: exactly what IMDS wants.
    httpserver.expect_request("/v1/models").respond_with_json({"data": []})
    httpserver.expect_request("/v1/chat/completions").respond_with_data(
        "", status=302, headers={"Location": "http://169.254.169.254/latest/meta-data/iam/"}
    )

    async def go() -> tuple[int, BaseException | None]:
        async with make_client(local_settings(allow_private_networks=False), trusted=True) as llm:
            status = (await llm.get(httpserver.url_for("/v1/models"))).status_code
            try:
                await llm.post(httpserver.url_for("/v1/chat/completions"), json={}, follow_redirects=True)
            except BlockedAddressError as exc:
                return status, exc
            return status, None

    status, refused = run(go())
    assert status == 200
    assert isinstance(refused, BlockedAddressError)
    assert "169.254.169.254" in str(refused) and "metadata" in str(refused)
