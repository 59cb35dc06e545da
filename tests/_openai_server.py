"""A small real HTTP server speaking the OpenAI Chat Completions REST API, for tests.

A scripted responder (like pydantic-ai's FunctionModel) decides each answer from what it is asked:
it receives the parsed request and returns a `Reply` — a JSON answer, a refusal, a cut-off answer,
an HTTP error with headers, a raw (malformed) body, or a delay. Every request is recorded.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Reply:
    content: str | None = None  # the assistant message content (the structured answer as JSON text)
    status: int = 200
    headers: dict[str, str] = field(default_factory=dict)
    raw_body: bytes | None = None  # sent as is instead of a completion (malformed responses, errors)
    finish_reason: str = "stop"
    refusal: str | None = None
    delay: float = 0.0  # seconds before answering (timeouts)
    usage: dict[str, Any] | None = field(
        default_factory=lambda: {
            "prompt_tokens": 1000,
            "completion_tokens": 100,
            "total_tokens": 1100,
            "prompt_tokens_details": {"cached_tokens": 400},
        }
    )

    @classmethod
    def json(cls, value: Any, **kwargs: Any) -> Reply:
        return cls(content=json.dumps(value), **kwargs)

    @classmethod
    def error(cls, status: int, message: str = "scripted error", **kwargs: Any) -> Reply:
        body = json.dumps({"error": {"message": message, "type": "test", "code": None}}).encode()
        return cls(status=status, raw_body=body, **kwargs)


@dataclass
class Request:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def messages(self) -> list[dict[str, Any]]:
        return self.body["messages"]

    @property
    def user(self) -> str:
        return "\n".join(m["content"] for m in self.messages if m["role"] == "user")


Responder = Callable[[Request, int], Reply]


class OpenAIServer:
    """`with OpenAIServer(responder) as server:` gives `server.base_url` (ending in /v1)."""

    def __init__(self, responder: Responder) -> None:
        self.responder = responder
        self.requests: list[Request] = []
        self.errors: list[Exception] = []
        self._lock = threading.Lock()
        self._stop = threading.Event()
        server = self

        class Handler(BaseHTTPRequestHandler):
            timeout = 10  # a stuck client cannot hold a handler thread forever

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                length = int(self.headers.get("content-length") or 0)
                body = json.loads(self.rfile.read(length) or b"{}")
                request = Request(
                    path=self.path, headers={k.lower(): v for k, v in self.headers.items()}, body=body
                )
                with server._lock:
                    server.requests.append(request)
                    index = len(server.requests)
                if self.path != "/v1/chat/completions":
                    self._send(404, json.dumps({"error": {"message": f"no route {self.path}"}}).encode(), {})
                    return
                try:
                    reply = server.responder(request, index)
                except Exception as exc:  # a broken script: fail the test loudly, not with a hang
                    server.errors.append(exc)
                    self._send(599, json.dumps({"error": {"message": repr(exc)}}).encode(), {})
                    return
                if reply.delay and server._stop.wait(reply.delay):
                    return
                if reply.raw_body is not None:
                    self._send(reply.status, reply.raw_body, reply.headers)
                    return
                message: dict[str, Any] = {
                    "role": "assistant",
                    "content": reply.content,
                    "refusal": reply.refusal,
                }
                completion = {
                    "id": f"chatcmpl-test-{index}",
                    "object": "chat.completion",
                    "created": 1_700_000_000,
                    "model": body.get("model"),
                    "choices": [
                        {
                            "index": 0,
                            "message": message,
                            "finish_reason": reply.finish_reason,
                            "logprobs": None,
                        }
                    ],
                    "usage": reply.usage,
                }
                if body.get("service_tier"):
                    completion["service_tier"] = body["service_tier"]
                self._send(reply.status, json.dumps(completion).encode(), reply.headers)

            def _send(self, status: int, payload: bytes, headers: dict[str, str]) -> None:
                try:
                    self.send_response(status)
                    self.send_header("content-type", "application/json")
                    self.send_header("content-length", str(len(payload)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(payload)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to tell it

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05})

    @property
    def base_url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> OpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()  # wake delayed handlers so they end now
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join()
        if self.errors and not exc[0]:
            raise AssertionError(f"the scripted responder failed: {self.errors[0]!r}") from self.errors[0]


def free_port_url() -> str:
    """A base URL on which nothing listens (connection refused)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


ITEM_RE = re.compile(r"^<<<BEGIN (DATA-[0-9A-F]+) ref=(new:\d+)>>>$", re.MULTILINE)


def fenced_items(text: str) -> list[tuple[str, str, str]]:
    """(ref, boundary, body) of every fenced item in a prompt, the body up to its own END line."""
    found = []
    position = 0
    # Read like a model should: a fence ends only at its own END line; anything inside is data.
    while (match := ITEM_RE.search(text, position)) is not None:
        boundary, ref = match.group(1), match.group(2)
        end = text.index(f"\n<<<END {boundary}>>>", match.end())
        found.append((ref, boundary, text[match.end() + 1 : end]))
        position = end + 1
    return found


def timeline_edit(request: Request) -> list[dict[str, Any]]:
    """A proposer's answer: one timeline entry citing the first item it was shown."""
    ref = fenced_items(request.user)[0][0]
    return [
        {
            "op": "add_timeline_entry",
            "date": "2026-05-28",
            "significance": "major",
            "text": f"Mistral AI and NVIDIA story reported [{ref}]",
            "summary": f"Mistral AI and NVIDIA news [{ref}].",
        }
    ]


def briefbot_model(
    *,
    triage_model: str = "cheap-1",
    label: Callable[[str, str], str] | None = None,
    edits: Callable[[Request], list[dict[str, Any]]] | None = None,
) -> Responder:
    """A FunctionModel-like script of briefbot's two stages: it reads the fenced items it is sent.

    Triage labels each item with `label(ref, body)` (default: irrelevant if the body says
    "irrelevant", else relevant); propose answers `edits(request)` (default: none).
    """

    def default_label(ref: str, body: str) -> str:
        return "irrelevant" if "irrelevant" in body.lower() else "relevant"

    def respond(request: Request, index: int) -> Reply:
        items = fenced_items(request.user)
        if request.body["model"] == triage_model:
            decide = label or default_label
            return Reply.json(
                {
                    "items": [
                        {
                            "ref": ref,
                            "relevance": decide(ref, body),
                            "reason": f"scripted for {ref}",
                            "perspectives": ["CAISI (NIST)", "Nobody Real"],
                            "tensions": [1, 9],
                        }
                        for ref, _, body in items
                    ]
                }
            )
        return Reply.json({"edits": edits(request) if edits else []})

    return respond
