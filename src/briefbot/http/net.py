"""The network end of the HTTP chain: address rules at connect time, raw cap; host gates.

Why at connect time: checking a URL's host before the request leaves a gap (DNS rebinding: the name
resolves to a public address for the check and to 127.0.0.1 for the connection). Here the backend
resolves the name itself, refuses if ANY resolved address is refused, and connects to the very
IP it checked. Every new connection (so every redirect hop to a new host) passes through it.

Three policies, one per kind of client (`AddressPolicy`):
- PUBLIC, fetched URLs by default: public unicast addresses only.
- PRIVATE, fetched URLs with `allow_private_networks` (feeds on your own network): loopback, RFC 1918,
  unique local IPv6 and carrier-grade NAT open up (Tailscale lives in 100.64.0.0/10), but
  link-local (169.254.0.0/16, fe80::/10) stays closed. Link-local is where clouds put their control
  plane, and not only at the addresses listed below (AWS DNS at 169.254.169.253, time at
  169.254.169.123, credential agents at 169.254.170.x, whatever a provider adds next), while no one
  serves a feed there: a self-assigned address means DHCP failed, and fe80:: needs an interface
  scope that URLs do not carry.
- TRUSTED, the configured LLM endpoint: any address (a local Ollama on loopback) except the cloud
  metadata addresses. The endpoint is configuration, but what it answers is not: the openai SDK
  follows redirects, and a 302/303 turns its POST into a GET, which is all instance metadata
  needs to hand out credentials. No LLM is ever served from a metadata address, so refusing them
  costs nothing.

The metadata addresses (`_METADATA`) are refused under every policy, in every form that carries
them (IPv4-mapped, 6to4, NAT64, IPv4-compatible), and the test-only `allowed` exceptions cannot
exempt them: no setting reopens them.
"""

from __future__ import annotations

import enum
import ipaddress
import math
import socket
import time
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager

import anyio
import httpcore2
import httpx2
from httpcore2 import AsyncNetworkBackend, AsyncNetworkStream

from briefbot.errors import BlockedAddressError, FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_CGNAT = ipaddress.ip_network("100.64.0.0/10")
# Instance metadata and credential endpoints, refused whatever the policy (see the module docstring).
_METADATA: dict[IPAddress, str] = {
    ipaddress.ip_address("169.254.169.254"): "AWS, GCP, Azure, Oracle, DigitalOcean, OpenStack",
    ipaddress.ip_address("169.254.170.2"): "AWS ECS task credentials",
    ipaddress.ip_address("169.254.170.23"): "AWS EKS Pod Identity",
    ipaddress.ip_address("fd00:ec2::254"): "AWS, IPv6",
    ipaddress.ip_address("fd00:ec2::23"): "AWS EKS Pod Identity, IPv6",
    ipaddress.ip_address("100.100.100.200"): "Alibaba Cloud",
    ipaddress.ip_address("168.63.129.16"): "Azure WireServer",
    ipaddress.ip_address("192.0.0.192"): "Oracle Cloud Classic",
}
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


class AddressPolicy(enum.Enum):
    """Which addresses a client may connect to (see the module docstring)."""

    PUBLIC = "public"
    PRIVATE = "private"
    TRUSTED = "trusted"


def _carried_ipv4(ip: ipaddress.IPv6Address) -> tuple[ipaddress.IPv4Address | None, str]:
    """The IPv4 address an IPv6 form smuggles, and the form's name; (None, "") for plain IPv6."""
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped, "IPv4-mapped"
    if ip.sixtofour is not None:
        return ip.sixtofour, "6to4"
    if any(ip in net for net in _NAT64):
        return ipaddress.IPv4Address(ip.packed[-4:]), "NAT64"
    if ip in _IPV4_COMPATIBLE and int(ip) > 1:
        return ipaddress.IPv4Address(ip.packed[-4:]), "IPv4-compatible"
    return None, ""


def blocked_reason(address: str | IPAddress, *, policy: AddressPolicy = AddressPolicy.PUBLIC) -> str | None:
    """Why `address` may not be connected to under `policy`, or None when it may."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return f"not an IP address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(ip.packed)  # drop a %scope suffix: it changes nothing here
        # Forms that smuggle an IPv4 address inside IPv6: judge the IPv4 address they carry.
        embedded, kind = _carried_ipv4(ip)
        if embedded is not None:
            inner = blocked_reason(embedded, policy=policy)
            if inner is not None:
                return f"{kind} form of {embedded} ({inner})"
            if kind == "IPv4-compatible" and policy is AddressPolicy.PUBLIC:
                return "IPv4-compatible IPv6 (deprecated, reserved)"
            return None
    if ip in _METADATA:
        return f"cloud metadata address, refused whatever the settings: {_METADATA[ip]}"
    if policy is AddressPolicy.TRUSTED:
        return None
    if ip.is_link_local:
        return "link-local"
    if policy is AddressPolicy.PRIVATE:
        return None
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback"
    if isinstance(ip, ipaddress.IPv4Address) and ip in _CGNAT:
        return "carrier-grade NAT (100.64.0.0/10)"
    if ip.is_multicast:
        return "multicast"
    if isinstance(ip, ipaddress.IPv6Address) and ip in ipaddress.ip_network("fc00::/7"):
        return "IPv6 unique local address"
    if ip.is_private:
        return "private network"
    if ip.is_reserved:
        return "reserved"
    if not ip.is_global:
        return "not globally routable"
    return None


def is_metadata(address: str | IPAddress) -> bool:
    """True for a cloud metadata address in any form: the one refusal nothing exempts."""
    return blocked_reason(address, policy=AddressPolicy.TRUSTED) is not None


class ConnectBlocked(BlockedAddressError):
    """Raised inside the connection pool; the transport re-raises it naming the URL."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host, self.address, self.reason = host, address, reason
        super().__init__(f"{host} resolves to {address}: {reason}")


class GuardedBackend(AsyncNetworkBackend):
    """Resolve, check every address, connect only to a checked IP (no DNS-rebinding gap)."""

    def __init__(
        self, *, policy: AddressPolicy = AddressPolicy.PUBLIC, allowed: Iterable[tuple[str, int]] = ()
    ) -> None:
        self._inner = httpcore2.AnyIOBackend()
        self._policy = policy
        # Test-only exceptions ("ip:port" of a local server); never set in production config.
        self._allowed = {(str(ipaddress.ip_address(ip)), int(port)) for ip, port in allowed}

    async def _resolve(self, host: str, port: int, timeout: float | None) -> list[str]:
        try:
            with anyio.fail_after(timeout):
                infos = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except TimeoutError as exc:
            raise httpcore2.ConnectTimeout(f"resolving {host} took over {timeout}s") from exc
        except OSError as exc:
            raise httpcore2.ConnectError(f"cannot resolve {host}: {exc}") from exc
        addresses: list[str] = []
        for _family, _type, _proto, _canon, sockaddr in infos:
            address = str(sockaddr[0]).split("%", 1)[0]
            if address not in addresses:
                addresses.append(address)
        return addresses

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        addresses = await self._resolve(host, port, timeout)
        if not addresses:
            raise httpcore2.ConnectError(f"{host} resolves to no address")
        # Refuse if any address is refused: a name mixing public and private answers is hostile.
        for address in addresses:
            reason = blocked_reason(address, policy=self._policy)
            if reason is None:
                continue
            if (address, port) in self._allowed and not is_metadata(address):
                continue
            raise ConnectBlocked(host, address, reason)
        last: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout=timeout, local_address=local_address, socket_options=socket_options
                )
            except (httpcore2.ConnectError, httpcore2.ConnectTimeout) as exc:
                last = exc
        assert last is not None
        raise last

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,
        socket_options: Iterable[httpcore2.SOCKET_OPTION] | None = None,
    ) -> AsyncNetworkStream:
        raise httpcore2.ConnectError("unix sockets are not allowed for fetched URLs")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


def _check_scheme(request: httpx2.Request) -> None:
    if request.url.scheme not in ("http", "https"):
        raise FetchError(f"{request.url}: only http and https URLs are fetched, not {request.url.scheme!r}")


class _CappedStream(httpx2.AsyncByteStream):
    """Raw-bytes cap: a backstop for callers that read responses without fetch()'s decoded cap."""

    def __init__(self, inner: httpx2.AsyncByteStream, *, url: str, cap: int) -> None:
        self._inner, self._url, self._cap = inner, url, cap

    async def __aiter__(self) -> AsyncIterator[bytes]:
        seen = 0
        async for chunk in self._inner:
            seen += len(chunk)
            if seen > self._cap:
                raise FetchError(f"{self._url}: response exceeds the size cap of {self._cap} bytes")
            yield chunk

    async def aclose(self) -> None:
        await self._inner.aclose()


class NetworkTransport(httpx2.AsyncBaseTransport):
    """httpx2's transport over a connection pool whose backend enforces an `AddressPolicy`."""

    def __init__(
        self,
        *,
        policy: AddressPolicy,
        allowed: Iterable[tuple[str, int]],
        max_connections: int,
        raw_cap: int | None,
    ) -> None:
        backend = GuardedBackend(policy=policy, allowed=allowed)
        # httpx2's transport takes no network backend, so the pool is built here with the same
        # TLS context and handed to it; the transport keeps request/exception mapping.
        self._transport = httpx2.AsyncHTTPTransport(trust_env=False)
        default_pool = self._transport._pool
        self._transport._pool = httpcore2.AsyncConnectionPool(
            ssl_context=default_pool._ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=min(max_connections, 20),
            keepalive_expiry=5.0,
            network_backend=backend,
        )
        self._raw_cap = raw_cap

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        _check_scheme(request)
        try:
            response = await self._transport.handle_async_request(request)
        except ConnectBlocked as exc:
            raise BlockedAddressError(
                f"{request.url}: refused to connect, {exc.host} resolves to {exc.address} ({exc.reason})"
            ) from None
        if self._raw_cap is not None:
            stream = response.stream
            assert isinstance(stream, httpx2.AsyncByteStream)
            response.stream = _CappedStream(stream, url=str(request.url), cap=self._raw_cap)
        return response

    async def aclose(self) -> None:
        await self._transport.aclose()


class _HostGate:
    def __init__(self, concurrency: int) -> None:
        self.slots = anyio.Semaphore(concurrency)
        self.lock = anyio.Lock()
        self.last_start = -math.inf


class HostGates:
    """At most N requests in flight per host, and a minimum gap between request starts to one host.

    fetch() holds a host's slot for one hop (send and read the body) and starts that hop's timeout
    only once it has the slot, so a long queue for one busy host never counts as a timeout.
    """

    def __init__(self, *, concurrency: int, min_interval: float) -> None:
        self._concurrency, self._min_interval = concurrency, min_interval
        self._gates: dict[str, _HostGate] = {}

    @asynccontextmanager
    async def slot(self, url: httpx2.URL) -> AsyncIterator[None]:
        key = f"{url.host}:{url.port or ''}"
        gate = self._gates.get(key)
        if gate is None:
            gate = self._gates[key] = _HostGate(self._concurrency)
        async with gate.slots:
            if self._min_interval > 0:
                async with gate.lock:
                    wait = gate.last_start + self._min_interval - time.monotonic()
                    if wait > 0:
                        await anyio.sleep(wait)
                    gate.last_start = time.monotonic()
            yield
