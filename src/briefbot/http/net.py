"""The network end of the HTTP chain: public-address rule at connect time, raw cap; host gates.

Why at connect time: checking a URL's host before the request leaves a gap (DNS rebinding: the name
resolves to a public address for the check and to 127.0.0.1 for the connection). Here the backend
resolves the name itself, refuses if ANY resolved address is non-public, and connects to the very
IP it checked. Every new connection (so every redirect hop to a new host) passes through it.
"""

from __future__ import annotations

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
_METADATA = {ipaddress.ip_address("169.254.169.254"), ipaddress.ip_address("fd00:ec2::254")}
_NAT64 = (ipaddress.ip_network("64:ff9b::/96"), ipaddress.ip_network("64:ff9b:1::/48"))
_IPV4_COMPATIBLE = ipaddress.ip_network("::/96")


def blocked_reason(address: str | IPAddress) -> str | None:
    """Why `address` may not be connected to, or None when it is a public unicast address."""
    try:
        ip = ipaddress.ip_address(address) if isinstance(address, str) else address
    except ValueError:
        return f"not an IP address: {address!r}"
    if isinstance(ip, ipaddress.IPv6Address):
        ip = ipaddress.IPv6Address(ip.packed)  # drop a %scope suffix: it changes nothing here
        # Forms that smuggle an IPv4 address inside IPv6: judge the IPv4 address they carry.
        embedded: ipaddress.IPv4Address | None = None
        kind = ""
        if ip.ipv4_mapped is not None:
            embedded, kind = ip.ipv4_mapped, "IPv4-mapped"
        elif ip.sixtofour is not None:
            embedded, kind = ip.sixtofour, "6to4"
        elif any(ip in net for net in _NAT64):
            embedded, kind = ipaddress.IPv4Address(ip.packed[-4:]), "NAT64"
        elif ip in _IPV4_COMPATIBLE and int(ip) > 1:
            embedded, kind = ipaddress.IPv4Address(ip.packed[-4:]), "IPv4-compatible"
        if embedded is not None:
            inner = blocked_reason(embedded)
            if inner is not None:
                return f"{kind} form of {embedded} ({inner})"
            if kind == "IPv4-compatible":
                return "IPv4-compatible IPv6 (deprecated, reserved)"
            return None
    if ip in _METADATA:
        return "cloud metadata address"
    if ip.is_unspecified:
        return "unspecified address"
    if ip.is_loopback:
        return "loopback"
    if ip.is_link_local:
        return "link-local"
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


class ConnectBlocked(BlockedAddressError):
    """Raised inside the connection pool; the transport re-raises it naming the URL."""

    def __init__(self, host: str, address: str, reason: str) -> None:
        self.host, self.address, self.reason = host, address, reason
        super().__init__(f"{host} resolves to {address}: {reason}")


class GuardedBackend(AsyncNetworkBackend):
    """Resolve, check every address, connect only to a checked IP (no DNS-rebinding gap)."""

    def __init__(self, *, allowed: Iterable[tuple[str, int]] = ()) -> None:
        self._inner = httpcore2.AnyIOBackend()
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
        # Refuse if any address is non-public: a name mixing public and private answers is hostile.
        for address in addresses:
            reason = blocked_reason(address)
            if reason is not None and (address, port) not in self._allowed:
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
    """httpx2's transport over a connection pool whose backend enforces the public-address rule."""

    def __init__(
        self, *, guarded: bool, allowed: Iterable[tuple[str, int]], max_connections: int, raw_cap: int | None
    ) -> None:
        backend: AsyncNetworkBackend | None = GuardedBackend(allowed=allowed) if guarded else None
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
