"""Helpers for the HTTP tests: real local servers and small payload builders."""

from __future__ import annotations

import gzip
import zlib
from collections.abc import Iterator
from contextlib import contextmanager

from pytest_httpserver import HTTPServer

from briefbot.http import HttpSettings


@contextmanager
def local_server(*, threaded: bool = False) -> Iterator[HTTPServer]:
    """A pytest-httpserver of our own, so a test can stop it (record, stop, replay)."""
    server = HTTPServer(host="127.0.0.1", port=0, threaded=threaded)
    server.start()
    try:
        yield server
    finally:
        if server.is_running():
            server.clear()
            server.stop()


def local_settings(**overrides: object) -> HttpSettings:
    """Settings for talking to a loopback test server, with waits short enough for tests."""
    values: dict[str, object] = {
        "allow_private_networks": True,
        "connect_timeout": 2.0,
        "read_timeout": 2.0,
        "total_timeout": 5.0,
        "retry_backoff": 0.01,
        "retry_wait_cap": 0.5,
    }
    values.update(overrides)
    return HttpSettings(**values)


def gzip_gzip_bomb(decoded_size: int) -> bytes:
    """`decoded_size` zero bytes, gzip-compressed twice (sent as `Content-Encoding: gzip, gzip`)."""
    inner = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1024 * 1024)
    parts = [inner.compress(block) for _ in range(decoded_size // len(block))]
    parts.append(inner.flush())
    return gzip.compress(b"".join(parts), compresslevel=9)
