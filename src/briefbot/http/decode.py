"""Content-Encoding decoding that can never produce more than the cap.

httpx2's own decoders inflate each network chunk in one call, so a 64 KB chunk of a stacked
`gzip, gzip` bomb could expand to gigabytes before any size check runs. Here every layer inflates
at most `_STEP` bytes at a time and the caller stops pulling as soon as the cap is passed.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from briefbot.errors import FetchError

_STEP = 64 * 1024


class _Layer:
    def __init__(self, encoding: str) -> None:
        self.encoding = encoding
        self._gzip = encoding in ("gzip", "x-gzip")
        self._obj = self._new()
        self._sniff = b""  # "deflate" framing is decided on its first two bytes
        self._decided = self._gzip

    def _new(self) -> zlib._Decompress:
        # 16+MAX_WBITS: gzip framing; MAX_WBITS: zlib framing (what "deflate" should be).
        return zlib.decompressobj(16 + zlib.MAX_WBITS if self._gzip else zlib.MAX_WBITS)

    def feed(self, data: bytes) -> Iterator[bytes]:
        if not self._decided:
            data = self._sniff + data
            if len(data) < 2:
                self._sniff = data
                return
            self._decided = True
            # Some servers send raw deflate under "deflate": no valid zlib header means raw.
            try:
                zlib.decompressobj(zlib.MAX_WBITS).decompress(data[:2])
            except zlib.error:
                self._obj = zlib.decompressobj(-zlib.MAX_WBITS)
        pending = data
        while True:
            if self._obj.eof:
                rest = self._obj.unused_data + pending
                if not rest or not self._gzip:
                    return  # trailing garbage after a deflate stream is ignored, as browsers do
                self._obj = self._new()  # concatenated gzip members
                pending = rest
            out = self._obj.decompress(pending, _STEP)
            pending = self._obj.unconsumed_tail
            if out:
                yield out
            if not pending and len(out) < _STEP and not self._obj.eof:
                return

    def flush(self) -> Iterator[bytes]:
        if not self._obj.eof:
            out = self._obj.flush()
            if out:
                yield out


class BoundedDecoder:
    """Decode a Content-Encoding chain incrementally; raise FetchError past `cap` decoded bytes."""

    def __init__(self, content_encoding: str, *, cap: int, url: str) -> None:
        names = [part.strip().lower() for part in content_encoding.split(",") if part.strip()]
        layers: list[_Layer] = []
        for name in reversed(names):  # the last encoding applied is the first to undo
            if name == "identity":
                continue
            if name not in ("gzip", "x-gzip", "deflate"):
                raise FetchError(f"{url}: unsupported Content-Encoding {name!r}")
            layers.append(_Layer(name))
        self._layers = layers
        self._cap, self._url, self.size = cap, url, 0

    def _through(self, index: int, data: bytes) -> Iterator[bytes]:
        if index == len(self._layers):
            yield data
            return
        for piece in self._layers[index].feed(data):
            yield from self._through(index + 1, piece)

    def _count(self, pieces: Iterator[bytes]) -> Iterator[bytes]:
        for piece in pieces:
            self.size += len(piece)
            if self.size > self._cap:
                raise FetchError(f"{self._url}: decoded body exceeds the size cap of {self._cap} bytes")
            yield piece

    def decode(self, chunk: bytes) -> Iterator[bytes]:
        try:
            yield from self._count(self._through(0, chunk))
        except zlib.error as exc:
            raise FetchError(f"{self._url}: corrupt compressed body ({exc})") from exc

    def finish(self) -> Iterator[bytes]:
        try:
            for index, layer in enumerate(self._layers):
                for piece in layer.flush():
                    yield from self._count(self._through(index + 1, piece))
        except zlib.error as exc:
            raise FetchError(f"{self._url}: corrupt compressed body ({exc})") from exc
