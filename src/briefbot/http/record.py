"""Record/replay as the transport at the top of the chain, so it sees every exchange of every stage.

Layout of a recording folder, one exchange per pair of files:
  `<fingerprint16>-<seq:04d>.json`  request (method, url, safe headers, body) and response (status,
                                    headers, body file, truncated flag) or the transport error raised
  `<fingerprint16>-<seq:04d>.body`  the response body exactly as received (still content-encoded)
The fingerprint hashes method, URL, conditional headers and the canonical body (JSON re-serialised
with sorted keys), never volatile headers (auth, SDK retry counters, idempotency keys), so the same
request replays whatever the SDK stamped on it; `seq` orders repeats of the same request. The body
file is created first with O_EXCL to claim a sequence number, so clients sharing a folder never
collide; the JSON is written last, so a JSON file always describes a complete exchange.

Secrets stay out of both files (issue 17.9): credential headers are never written; the credentials
a request carried (its Authorization token and the Basic password inside it, a URL's userinfo
password, `api_key=`-style query values) are masked wherever they appear in the exchange, response
bodies included; and an error answer (status >= 400) is also masked for secret shapes (`Bearer ...`,
`sk-...`), since that is where servers echo what they were sent. A body that had to be masked is
stored decoded (its Content-Encoding dropped), so it replays as the masked text. The fingerprint
is left alone: it is a hash, and recordings made before stay valid.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import zlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx2

from briefbot._fs import atomic_write
from briefbot.errors import BlockedAddressError, BriefbotError, FetchError, ReplayMissError
from briefbot.http.redact import header_secrets, redact, redact_secrets, redact_url, url_secrets

# Request headers that change what a server answers; everything else is noise for matching.
_MATCH_HEADERS = ("if-none-match", "if-modified-since", "range")
# Never written to disk: credentials.
_SECRET_HEADERS = {
    "authorization",
    "proxy-authorization",
    "cookie",
    "api-key",
    "x-api-key",
    "openai-organization",
}
_SECRET_RESPONSE_HEADERS = {"set-cookie"}
_REPLAY_CHUNK = 64 * 1024


def _canonical_body(body: bytes) -> bytes:
    if not body:
        return b""
    try:
        return json.dumps(
            json.loads(body), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        ).encode()
    except (ValueError, UnicodeDecodeError):
        return body


def fingerprint(method: str, url: str, headers: httpx2.Headers, body: bytes) -> str:
    """Stable hash of what a request asks for (see module docstring for what is left out)."""
    digest = hashlib.sha256()
    digest.update(method.upper().encode() + b"\n" + url.encode() + b"\n")
    for name in _MATCH_HEADERS:
        if name in headers:
            digest.update(f"{name}: {headers[name]}\n".encode())
    digest.update(b"\n" + _canonical_body(body))
    return digest.hexdigest()[:16]


def _body_for_json(body: bytes) -> dict[str, Any]:
    if not body:
        return {}
    try:
        return {"json": json.loads(body)}
    except (ValueError, UnicodeDecodeError):
        pass
    try:
        return {"text": body.decode("utf-8")}
    except UnicodeDecodeError:
        return {"base64": base64.b64encode(body).decode("ascii")}


def _error_record(exc: BaseException, secrets: list[str] | None = None) -> dict[str, str]:
    return {"type": type(exc).__name__, "message": redact(str(exc), secrets or [])}


def _request_secrets(request: httpx2.Request) -> list[str]:
    found = url_secrets(str(request.url))
    for name in _SECRET_HEADERS:
        for value in request.headers.get_list(name):
            found += header_secrets(value)
    return found


def _decoded(body: bytes, encoding: str) -> bytes | None:
    """The body without its Content-Encoding (gzip, deflate), or None for one this cannot undo."""
    layers = [e.strip().lower() for e in encoding.split(",") if e.strip() and e.strip() != "identity"]
    for layer in reversed(layers):
        if layer not in ("gzip", "x-gzip", "deflate"):
            return None
        try:
            wbits = 16 + zlib.MAX_WBITS if layer != "deflate" else zlib.MAX_WBITS
            try:
                body = zlib.decompress(body, wbits)
            except zlib.error:
                body = zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate under "deflate"
        except zlib.error:
            return None
    return body


def _mask_body(path: Path, meta: dict[str, Any], secrets: list[str]) -> None:
    """Mask secrets in a recorded body file (see the module docstring); a clean body is left as is."""
    response = meta["response"]
    error = response["status"] >= 400
    if not secrets and not error:
        return  # the common case, every page and feed: nothing to look for
    headers = response["headers"]
    encoding = ", ".join(v for k, v in headers if k.lower() == "content-encoding")
    raw = path.read_bytes()
    plain = _decoded(raw, encoding) if encoding else raw
    if plain is None:
        # An encoding we cannot undo (br, zstd): the body cannot be checked, so it is not kept.
        path.write_bytes(b"")
        response["body_withheld"] = f"Content-Encoding {encoding}: not checked for secrets"
        return
    text = plain.decode("utf-8", errors="surrogateescape")
    masked = redact(text, secrets) if error else redact_secrets(text, secrets)
    if masked == text:
        return
    body = masked.encode("utf-8", errors="surrogateescape")
    path.write_bytes(body)
    skip = {"content-encoding", "content-length"}
    response["headers"] = [[k, v] for k, v in headers if k.lower() not in skip]
    response["headers"].append(["content-length", str(len(body))])
    response["masked"] = True


def _mask_tree(value: Any, secrets: list[str]) -> Any:
    """Every string in a recorded exchange's description, masked."""
    if isinstance(value, str):
        return redact(value, secrets)
    if isinstance(value, list):
        return [_mask_tree(v, secrets) for v in value]
    if isinstance(value, dict):
        return {k: _mask_tree(v, secrets) for k, v in value.items()}
    return value


def _rebuild_error(record: dict[str, str], request: httpx2.Request) -> Exception:
    kind, message = record.get("type", ""), record.get("message", "")
    ours = {cls.__name__: cls for cls in (FetchError, BlockedAddressError, ReplayMissError)}
    if kind in ours:
        return ours[kind](message)
    cls = getattr(httpx2, kind, None)
    if isinstance(cls, type) and issubclass(cls, httpx2.TransportError):
        return cls(message, request=request)
    return FetchError(f"{redact_url(str(request.url))}: {message} (replayed {kind})")


async def _request_body(request: httpx2.Request) -> bytes:
    return await request.aread()


class _TeeStream(httpx2.AsyncByteStream):
    """Passes the body through while appending it to the claimed body file; writes the JSON at close."""

    def __init__(
        self,
        inner: httpx2.AsyncByteStream,
        recorder: RecordingTransport,
        name: str,
        meta: dict,
        secrets: list[str],
    ) -> None:
        self._inner, self._recorder, self._name, self._meta = inner, recorder, name, meta
        self._secrets = secrets
        self._handle = open(recorder.folder / f"{name}.body", "wb")  # noqa: SIM115  # closed in aclose
        self._complete = False
        self._error: dict[str, str] | None = None

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                self._handle.write(chunk)
                yield chunk
        except (httpx2.TransportError, FetchError) as exc:
            # A timeout or the raw size cap mid-body: replay must end the body the same way.
            self._error = _error_record(exc, self._secrets)
            raise
        self._complete = True

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        finally:
            if not self._handle.closed:
                self._handle.close()
                self._meta["response"]["truncated"] = not self._complete
                if self._error is not None:
                    self._meta["response"]["error_after_body"] = self._error
                _mask_body(self._recorder.folder / f"{self._name}.body", self._meta, self._secrets)
                self._recorder.write_meta(self._name, self._meta)


class RecordingTransport(httpx2.AsyncBaseTransport):
    """Passes every request to `inner` and writes the exchange to `folder`."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, folder: Path) -> None:
        self._inner, self.folder = inner, Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)

    def _claim(self, fp: str) -> str:
        seq = 0
        while True:
            name = f"{fp}-{seq:04d}"
            try:
                fd = os.open(self.folder / f"{name}.body", os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
            except FileExistsError:
                seq += 1
                continue
            os.close(fd)
            return name

    def write_meta(self, name: str, meta: dict) -> None:
        atomic_write(self.folder / f"{name}.json", json.dumps(meta, indent=2, ensure_ascii=False) + "\n")

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await _request_body(request)
        fp = fingerprint(request.method, str(request.url), request.headers, body)
        name = self._claim(fp)
        secrets = _request_secrets(request)
        meta: dict[str, Any] = {
            "fingerprint": fp,
            "request": _mask_tree(
                {
                    "method": request.method,
                    "url": str(request.url),
                    "headers": [
                        [k, v] for k, v in request.headers.items() if k.lower() not in _SECRET_HEADERS
                    ],
                    "body": _body_for_json(body),
                },
                secrets,
            ),
        }
        try:
            response = await self._inner.handle_async_request(request)
        except (httpx2.TransportError, BriefbotError) as exc:
            meta["error"] = _error_record(exc, secrets)
            self.write_meta(name, meta)
            raise
        meta["response"] = {
            "status": response.status_code,
            "http_version": response.extensions.get("http_version", b"HTTP/1.1").decode("ascii", "replace"),
            "headers": [
                [k, redact_secrets(v, secrets)]
                for k, v in response.headers.multi_items()
                if k.lower() not in _SECRET_RESPONSE_HEADERS
            ],
            "body_file": f"{name}.body",
        }
        stream = response.stream
        assert isinstance(stream, httpx2.AsyncByteStream)
        response.stream = _TeeStream(stream, self, name, meta, secrets)
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


class _ReplayStream(httpx2.AsyncByteStream):
    def __init__(self, body: bytes, error: Exception | None) -> None:
        self._body, self._error = body, error

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), _REPLAY_CHUNK):
            yield self._body[start : start + _REPLAY_CHUNK]
        if self._error is not None:
            raise self._error

    async def aclose(self) -> None:
        return None


class ReplayTransport(httpx2.AsyncBaseTransport):
    """Serves exchanges from a recording folder; a request it does not hold is an error, never a network call."""

    def __init__(self, folder: Path) -> None:
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise ReplayMissError(f"replay folder {self.folder} does not exist")
        self._next: dict[str, int] = {}

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        body = await _request_body(request)
        fp = fingerprint(request.method, str(request.url), request.headers, body)
        seq = self._next.get(fp, 0)
        self._next[fp] = seq + 1
        name = f"{fp}-{seq:04d}"
        path = self.folder / f"{name}.json"
        if not path.is_file():
            held = "" if seq == 0 else f" (it holds only {seq} such exchange(s))"
            raise ReplayMissError(
                f"replay {self.folder}: no recorded exchange for {request.method} {redact_url(str(request.url))}{held}"
            )
        try:
            meta = json.loads(path.read_text(encoding="utf-8"))
            if "error" in meta:
                raise _rebuild_error(meta["error"], request)
            recorded = meta["response"]
            body_bytes = (self.folder / recorded["body_file"]).read_bytes()
        except (OSError, ValueError, KeyError) as exc:
            raise ReplayMissError(
                f"replay {path}: unreadable recording for {request.method} {redact_url(str(request.url))}: {exc}"
            ) from exc
        after = recorded.get("error_after_body")
        return httpx2.Response(
            status_code=recorded["status"],
            headers=[(k, v) for k, v in recorded["headers"]],
            stream=_ReplayStream(body_bytes, _rebuild_error(after, request) if after else None),
            request=request,
            extensions={"http_version": recorded.get("http_version", "HTTP/1.1").encode("ascii")},
        )
