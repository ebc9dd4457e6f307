"""The browser's sign-in: the API key in an HttpOnly cookie, with a CSRF token beside it.

A browser attaches cookies to requests that other sites make it send, so a request that
changes something and authenticates by cookie must also prove it comes from our own pages:
it echoes the CSRF token (double submit: scripts on our origin can read the token cookie,
other sites cannot) and, when the browser names an Origin, that origin is ours. Bearer
requests carry no ambient credentials and need neither.

The key cookie never holds the key itself but a signed token (see :mod:`.tokens`) that
names the key by its stored digest and expires with the session, so a copied cookie is
worth one working day at most and never the key; the digest is looked up on every request,
so revoking the key signs its browsers out.
"""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import Response

from ..config import Settings, proxy_networks
from ..errors import Forbidden
from .service import hash_key
from .tokens import load_secret, sign, verify

KEY_COOKIE = "labelaudit_key"
CSRF_COOKIE = "labelaudit_csrf"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# A working day: a reviewer signs in once per shift, and a forgotten tablet signs itself out.
SESSION_SECONDS = 12 * 3600


def cookie_key_digest(request: Request) -> str | None:
    """The digest of the API key of the browser's session, or None without a valid,
    unexpired one."""
    token = request.cookies.get(KEY_COOKIE)
    return verify(_secret(request), token) if token else None


def start_session(request: Request, response: Response, key: str) -> None:
    """Name ``key`` in the browser by a signed token, with a fresh CSRF token for its scripts
    to echo."""
    token = sign(_secret(request), hash_key(key), SESSION_SECONDS)
    _set_session_cookie(request, response, KEY_COOKIE, token, httponly=True)
    set_csrf_cookie(request, response, new_csrf_token())


def _secret(request: Request) -> bytes:
    """The session secret, read once per app."""
    state = request.app.state
    if getattr(state, "session_secret", None) is None:
        settings: Settings = state.settings
        configured = settings.session_secret
        state.session_secret = load_secret(
            None if configured is None else configured.get_secret_value(), settings.data_dir
        )
    secret: bytes = state.session_secret
    return secret


def is_https(request: Request) -> bool:
    """Whether the browser reached us over TLS: directly, or through a trusted proxy that
    says so in X-Forwarded-Proto (its first value: the hop nearest the browser)."""
    if request.url.scheme == "https":
        return True
    forwarded = request.headers.get("x-forwarded-proto", "").split(",")[0].strip().lower()
    if forwarded != "https" or request.client is None:
        return False
    settings: Settings = request.app.state.settings
    try:
        peer = ipaddress.ip_address(request.client.host)
    except ValueError:
        return False
    return any(peer in network for network in proxy_networks(settings.trusted_proxies))


def new_csrf_token() -> str:
    return secrets.token_urlsafe(32)


def set_csrf_cookie(request: Request, response: Response, token: str) -> None:
    """The CSRF token in a cookie that the page's scripts can read (not HttpOnly)."""
    _set_session_cookie(request, response, CSRF_COOKIE, token, httponly=False)


def _set_session_cookie(
    request: Request, response: Response, name: str, value: str, *, httponly: bool
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=SESSION_SECONDS,
        httponly=httponly,
        secure=is_https(request),
        samesite="strict",
    )


def end_session(response: Response) -> None:
    for name in (KEY_COOKIE, CSRF_COOKIE):
        response.delete_cookie(name, httponly=name == KEY_COOKIE, samesite="strict")


def check_same_origin(request: Request) -> None:
    """Refuse a request whose browser says it comes from another site."""
    origin = request.headers.get("origin")
    if origin is not None and urlsplit(origin).netloc != request.headers.get("host"):
        raise Forbidden(
            f"requests from {origin} may not use this site's sign-in", code="cross_origin"
        )


def check_csrf(request: Request, submitted: str | None) -> None:
    """A cookie-authenticated unsafe request must echo the CSRF cookie and be same-origin."""
    check_same_origin(request)
    expected = request.cookies.get(CSRF_COOKIE, "")
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise Forbidden(
            f"signed-in browser requests that change data need the {CSRF_HEADER} header "
            f"(the {CSRF_COOKIE} cookie's value); reload the page and retry",
            code="csrf_failed",
        )
