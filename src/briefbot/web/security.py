"""The web app's safety rules: where it may listen, who may use it, and what a page may load.

- A non-loopback bind needs an access token; on loopback it is optional.
- A request must name this server in its Host header: the bound address, a loopback name, or a name
  given with `--allowed-host`. Otherwise DNS rebinding would let any web page reach the server: the
  page's own name is re-pointed at 127.0.0.1, and the browser then treats our responses as that
  page's, cookies and form tokens included. The one thing the attacker cannot change is the Host
  header the browser sends, which carries the attacker's name.
- A POST from a browser must come from one of our own pages: its Origin (or Referer) names the host
  the request was sent to.
- Every state change is a POST carrying a CSRF token bound to a per-browser cookie.
- Every response carries a Content-Security-Policy that allows no inline script (only our static
  files) and nothing off-site, so even a string that slipped past autoescaping could not run.
"""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import secrets
import socket
from collections.abc import Collection, Iterable
from urllib.parse import urlencode, urlsplit

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
    # Script only from our own static files (the proposal page's keyboard and dialogs, review.js),
    # never inline: every page works without it, and nothing injected into a page could run.
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
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


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
_WILDCARD_BINDS = frozenset({"0.0.0.0", "::", ""})


def _host_name(value: str) -> str:
    return value.strip().strip("[]").lower()


def allowed_hosts(bind: str, extra: Iterable[str] = ()) -> frozenset[str]:
    """The host names a request may carry: the loopback names, the address bound (unless it is the
    wildcard, which no client names) and the `--allowed-host` names, each without a port."""
    names = set(LOOPBACK_HOSTS)
    if _host_name(bind) not in _WILDCARD_BINDS:
        names.add(_host_name(bind))
    for name in extra:
        host = _host_name(name)
        if not host or any(c in host for c in "/@ ") or (":" in host and not _is_ip(host)):
            raise ConfigError(f"--allowed-host {name!r}: give a bare host name or address, no scheme or port")
        names.add(host)
    return frozenset(names)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _hostname_of(netloc: str) -> str | None:
    """`name` from `name`, `name:port` or `[v6]:port`; None when it is not a well-formed host."""
    try:
        parts = urlsplit("//" + netloc)
        parts.port  # noqa: B018  # raises ValueError on a malformed port
    except ValueError:
        return None
    if not parts.hostname or parts.username is not None or parts.path:
        return None
    return parts.hostname


def _bad_request(text: str) -> Response:
    return PlainTextResponse(f"400 Bad Request: {text}", status_code=400)


class HostCheckMiddleware:
    """Refuses (400) a request whose Host is not one of ours, and a browser's POST from another origin.

    Host names are compared without their port: a rebinding page can pick the port but not the name.
    A POST's Origin must be exactly the address the request was sent to (scheme aside, which a TLS
    proxy changes); Referer stands in when Origin is missing. A POST with neither comes from a
    program, not a browser (browsers send Origin on every POST), and goes on to the CSRF check.
    `allowed=None` accepts any Host: only for an app called in-process, never for one that listens.
    """

    def __init__(self, app: ASGIApp, *, allowed: Collection[str] | None) -> None:
        self.app = app
        self.allowed = None if allowed is None else frozenset(_host_name(h) for h in allowed)

    def _refusal(self, request: Request) -> str | None:
        host = request.headers.get("host", "")
        name = _hostname_of(host)
        if name is None:
            return "the request does not name a host"
        if self.allowed is not None and name not in self.allowed:
            return "this server does not answer to that host name (see briefbot serve --allowed-host)"
        if request.method in ("GET", "HEAD", "OPTIONS"):
            return None
        source = request.headers.get("origin") or request.headers.get("referer")
        if source is None:
            return None
        origin = urlsplit(source)
        if origin.scheme not in ("http", "https") or origin.netloc.lower() != host.lower():
            return "the form was posted from a page of another site"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        refusal = self._refusal(Request(scope))
        if refusal is None:
            await self.app(scope, receive, send)
            return
        await _bad_request(refusal)(scope, receive, send)


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
