"""Loopback HTTP plumbing shared by the bench servers (`_world_server`, `_llm_server`): a quiet
handler, a threading server that ignores clients hanging up, and one handler served on several
loopback addresses sharing one port."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class QuietHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 30

    def log_message(self, format: str, *args: object) -> None:
        pass

    def send(
        self,
        status: int,
        body: bytes,
        headers: dict[str, str],
        *,
        declared: int | None = None,
    ) -> None:
        try:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body) if declared is None else declared))
            if declared is not None:
                self.send_header("Connection", "close")
                self.close_connection = True
            self.end_headers()
            if status != 304:
                self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class _QuietHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # a client that hung up (a killed run, a timeout) is expected here, not news


class LoopbackServer:
    """One handler served on `hosts` loopback addresses (127.0.0.1, .2, ...) sharing one port."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], *, hosts: int = 1) -> None:
        self.httpds = [_QuietHTTPServer(("127.0.0.1", 0), handler)]
        port = self.httpds[0].server_address[1]
        for k in range(2, hosts + 1):
            self.httpds.append(_QuietHTTPServer((f"127.0.0.{k}", port), handler))
        self.threads = []
        for httpd in self.httpds:
            httpd.daemon_threads = True
            self.threads.append(
                threading.Thread(
                    target=httpd.serve_forever,
                    kwargs={"poll_interval": 0.05},
                    daemon=True,
                )
            )

    @property
    def base(self) -> str:
        host, port = self.httpds[0].server_address[:2]
        return f"http://{host}:{port}"

    def host_base(self, n: int) -> str:
        """The base URL of the n-th item's publisher (items spread over the addresses like sites)."""
        host, port = self.httpds[n % len(self.httpds)].server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self):
        for thread in self.threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        for httpd in self.httpds:
            httpd.shutdown()
            httpd.server_close()
        for thread in self.threads:
            thread.join()
