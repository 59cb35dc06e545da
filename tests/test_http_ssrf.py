"""The public-address rule: checked after DNS at connect time, and on every redirect hop."""

from __future__ import annotations

import asyncio

import pytest
from pytest_httpserver import HTTPServer

from _http_servers import local_server, local_settings
from briefbot.errors import BlockedAddressError
from briefbot.http import HttpSettings, fetch, make_client
from briefbot.http.net import blocked_reason


def run(coro):
    return asyncio.run(coro)


def url_for(server: HTTPServer, path: str) -> str:
    # An explicit IPv4 literal: "localhost" may also resolve to ::1, which no exception covers.
    return f"http://127.0.0.1:{server.port}{path}"


def strict(**overrides: object) -> HttpSettings:
    return local_settings(allow_private_networks=False, **overrides)


async def _get(url: str, settings: HttpSettings):
    async with make_client(settings) as client:
        return await fetch(client, url)


@pytest.mark.parametrize(
    ("url", "address", "why"),
    [
        ("http://127.0.0.1:{port}/", "127.0.0.1", "loopback"),
        ("http://169.254.169.254/latest/meta-data/", "169.254.169.254", "metadata"),
        ("http://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1", "IPv4-mapped form of 10.0.0.1"),
        ("http://100.64.0.1/", "100.64.0.1", "carrier-grade NAT"),
        ("http://localhost:{port}/", "127.0.0.1", "loopback"),
    ],
)
def test_non_public_targets_are_refused_naming_url_and_address(
    httpserver: HTTPServer, url: str, address: str, why: str
) -> None:
    # The loopback targets point at a live server: refusal must come from the rule, not a dead port.
    httpserver.expect_request("/").respond_with_data("secret")
    target = url.format(port=httpserver.port)
    with pytest.raises(BlockedAddressError) as caught:
        run(_get(target, strict()))
    message = str(caught.value)
    assert target in message and why in message
    if "localhost" in target:
        assert "127.0.0.1" in message or "::1" in message
    else:
        assert address in message
    assert len(httpserver.log) == 0


def test_env_variable_lifts_the_rule(monkeypatch: pytest.MonkeyPatch, httpserver: HTTPServer) -> None:
    httpserver.expect_request("/").respond_with_data("local feed")
    monkeypatch.setenv("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", "1")
    assert HttpSettings().allow_private_networks
    assert run(_get(httpserver.url_for("/"), HttpSettings())).body == b"local feed"
    monkeypatch.setenv("BRIEFBOT_ALLOW_PRIVATE_NETWORKS", "0")
    assert not HttpSettings().allow_private_networks


def test_redirect_from_an_allowed_server_to_loopback_is_refused(httpserver: HTTPServer) -> None:
    # The first server stands in for a public site (a test-only ip:port exception); it redirects
    # to a name resolving to loopback, where a second live server would answer.
    with local_server() as inner:
        inner.expect_request("/admin").respond_with_data("internal")
        redirect_to = f"http://localhost:{inner.port}/admin"
        httpserver.expect_request("/news").respond_with_data(
            "", status=302, headers={"Location": redirect_to}
        )
        settings = strict(allow_addresses=(f"127.0.0.1:{httpserver.port}",))
        with pytest.raises(BlockedAddressError) as caught:
            run(_get(url_for(httpserver, "/news"), settings))
        assert redirect_to in str(caught.value)
        assert len(httpserver.log) == 1 and len(inner.log) == 0


def test_allowed_address_exception_is_exact(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/ok").respond_with_data("fine")
    settings = strict(allow_addresses=(f"127.0.0.1:{httpserver.port}",))
    assert run(_get(url_for(httpserver, "/ok"), settings)).body == b"fine"


@pytest.mark.parametrize(
    "address",
    [
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "127.8.8.8",
        "0.0.0.0",
        "169.254.1.1",
        "100.127.255.255",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fe80::1",
        "fc00::1",
        "fd12:3456::1",
        "ff02::1",
        "::ffff:127.0.0.1",
        "::ffff:169.254.169.254",
        "::127.0.0.1",
        "2002:7f00:1::1",
        "2002:a00:1::1",
        "64:ff9b::10.0.0.1",
        "64:ff9b::127.0.0.1",
        "fd00:ec2::254",
        "192.0.2.1",
        "198.18.0.1",
    ],
)
def test_blocked_address_forms(address: str) -> None:
    assert blocked_reason(address) is not None


@pytest.mark.parametrize(
    "address", ["93.184.215.14", "1.1.1.1", "2606:4700:4700::1111", "::ffff:8.8.8.8", "64:ff9b::8.8.8.8"]
)
def test_public_addresses_pass(address: str) -> None:
    assert blocked_reason(address) is None


def test_trusted_client_may_reach_loopback_even_when_fetched_urls_may_not(httpserver: HTTPServer) -> None:
    httpserver.expect_request("/v1/models").respond_with_json({"data": []})

    async def both() -> tuple[int, BaseException | None]:
        settings = strict()
        async with make_client(settings, trusted=True) as llm, make_client(settings) as web:
            status = (await llm.get(httpserver.url_for("/v1/models"))).status_code
            try:
                await web.get(httpserver.url_for("/v1/models"))
            except BlockedAddressError as exc:
                return status, exc
            return status, None

    status, refused = run(both())
    assert status == 200 and isinstance(refused, BlockedAddressError)


def test_client_level_redirect_following_is_still_checked_per_hop(httpserver: HTTPServer) -> None:
    # Code that bypasses fetch() and lets httpx follow redirects still meets the connect-time rule.
    httpserver.expect_request("/hop").respond_with_data(
        "", status=302, headers={"Location": "http://127.0.0.1:9/"}
    )
    settings = strict(allow_addresses=(f"127.0.0.1:{httpserver.port}",))

    async def go() -> None:
        async with make_client(settings) as client:
            await client.get(url_for(httpserver, "/hop"), follow_redirects=True)

    with pytest.raises(BlockedAddressError, match="127.0.0.1:9"):
        run(go())
