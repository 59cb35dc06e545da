"""The web app's safety rules: where it may listen, who may use it, and what a page may load.

- A non-loopback bind needs an access token; on loopback it is optional.
- Every state change is a POST carrying a CSRF token bound to a per-browser cookie.
- Every response carries a Content-Security-Policy that allows no inline script and nothing off-site,
  so even a string that slipped past autoescaping could not run.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from urllib.parse import urlencode

from starlette.datastructures import MutableHeaders
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from briefbot.errors import ConfigError

TOKEN_ENV = "BRIEFBOT_TOKEN"
TOKEN_COOKIE = "briefbot_access"
CSRF_COOKIE = "briefbot_csrf"
CSRF_FIELD = "csrf"

CONTENT_SECURITY_POLICY = (
    # No script at all: the pages work without it, so nothing injected could run either.
    "default-src 'none'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; base-uri 'none'; frame-ancestors 'none'"
)
_SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "same-origin",
    "x-frame-options": "DENY",
}


def is_loopback(host: str) -> bool:
    """True when `host` (a name or address) only ever means this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        pass
    # A name other than `localhost`: loopback only if every address it resolves to is.
    try:
        infos = socket.getaddrinfo(host, None)
    except OSError as exc:
        raise ConfigError(f"--host {host!r} does not resolve: {exc}") from None
    return all(ipaddress.ip_address(info[4][0]).is_loopback for info in infos)


def check_bind(host: str, token: str | None) -> None:
    """Refuse to listen beyond this machine without an access token."""
    if token is not None and len(token) < 16:
        raise ConfigError("the access token (--token or BRIEFBOT_TOKEN) must be at least 16 characters")
    if not is_loopback(host) and not token:
        raise ConfigError(
            f"--host {host!r} is not a loopback address: anyone on the network could approve briefs; "
            f"set an access token with --token or the {TOKEN_ENV} environment variable"
        )


class SecurityHeadersMiddleware:
    """Adds the CSP and its companions to every response, errors included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS.items():
                    headers[name] = value
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessTokenMiddleware:
    """With a token set, every request must present it: `?token=` once (then a cookie), or a bearer header."""

    def __init__(self, app: ASGIApp, *, token: str | None) -> None:
        self.app = app
        self.token = token

    def _presented(self, request: Request) -> str | None:
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer "):
            return auth[7:].strip()
        return request.query_params.get("token") or request.cookies.get(TOKEN_COOKIE)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not self.token:
            await self.app(scope, receive, send)
            return
        request = Request(scope)
        presented = self._presented(request)
        if presented is None or not hmac.compare_digest(presented.encode(), self.token.encode()):
            response: Response = PlainTextResponse(
                "403 Forbidden: this briefbot server needs its access token; open it once with ?token=...",
                status_code=403,
            )
        elif "token" in request.query_params:
            # Move the token from the URL into a cookie so it does not linger in history or Referer.
            rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
            target = request.url.path + ("?" + urlencode(rest) if rest else "")
            response = RedirectResponse(target, status_code=303)
            response.set_cookie(TOKEN_COOKIE, self.token, httponly=True, samesite="strict")
        else:
            await self.app(scope, receive, send)
            return
        await response(scope, receive, send)


class Csrf:
    """Double-submit CSRF tokens: a random per-browser cookie, and forms carry its HMAC under the app's secret.

    A cross-site page can make the browser POST, but cannot read the cookie to forge the field.
    """

    def __init__(self, secret: bytes | None = None) -> None:
        self.secret = secret or secrets.token_bytes(32)

    def browser_id(self, request: Request) -> str | None:
        return request.cookies.get(CSRF_COOKIE)

    @staticmethod
    def new_browser_id() -> str:
        return secrets.token_urlsafe(24)

    def token_for(self, browser_id: str) -> str:
        return hmac.new(self.secret, browser_id.encode(), hashlib.sha256).hexdigest()

    def valid(self, request: Request, submitted: str | None) -> bool:
        browser_id = self.browser_id(request)
        if not browser_id or not submitted:
            return False
        return hmac.compare_digest(self.token_for(browser_id), submitted)

    @staticmethod
    def set_cookie(response: Response, browser_id: str) -> None:
        response.set_cookie(CSRF_COOKIE, browser_id, httponly=True, samesite="strict")
