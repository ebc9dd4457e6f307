"""The dashboard's page layer: HTML responses, shells filled on the server with what must not
wait for a script (who is signed in, which buttons their role has), and security headers.

The screens themselves are drawn by the ES modules under ``static/js`` from the JSON API.
"""

from __future__ import annotations

import hashlib
import html
import uuid
from functools import cache
from pathlib import Path
from string import Template
from typing import Literal
from urllib.parse import urlencode

from fastapi import Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.orm import Session
from starlette.types import Scope

from formats.limits import MAX_LABEL_CHARS
from formats.npz import FEATURES_ARRAY, LABELS_ARRAY
from formats.options import LOSSES, OPTION_RANGES, default_epochs_text
from formats.worth_a_look import WORTH_A_LOOK_TITLE

from ..audits import service as audits_service
from ..audits.models import MAX_AUDIT_NAME_CHARS
from ..audits.repository import NEAR_THRESHOLD_BAND
from ..audits.schemas import AuditConfigIn
from ..auth import service as auth_service
from ..auth.schemas import Principal
from ..auth.session import CSRF_COOKIE, cookie_key_digest, new_csrf_token, set_csrf_cookie
from ..errors import NotFound, Unauthorized
from ..text import isolated
from ..thumbnails.service import CARD_PX, STRIP_PX
from .vocabulary import DECISION_WORDS, vocabulary_json

PACKAGE_DIR = Path(__file__).parent
STATIC_DIR = PACKAGE_DIR / "static"
TEMPLATES_DIR = PACKAGE_DIR / "templates"
# Pages run only our own files: no inline code, no other origins, no framing.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: blob:; script-src 'self'; style-src 'self'; "
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'"
)
PAGE_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "X-Frame-Options": "DENY",
    # Pages show live data; and the same URL answers JSON to API clients.
    "Cache-Control": "no-store",
    "Vary": "Accept, Cookie",
}


class Html(str):
    """Markup that is already safe to insert into a template."""


NOTHING = Html("")


class SignInRequired(Exception):
    """A page was asked for without a valid sign-in cookie; the browser goes to sign in."""

    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


def accepts_html(scope: Scope) -> bool:
    accept = dict(scope.get("headers", [])).get(b"accept", b"")
    return b"text/html" in accept


@cache
def asset_version() -> str:
    """A digest of the static files: their URLs change whenever a file does, so browsers may
    cache them forever."""
    digest = hashlib.sha256()
    for path in sorted(STATIC_DIR.rglob("*")):
        if path.is_file():
            digest.update(path.relative_to(STATIC_DIR).as_posix().encode())
            digest.update(path.read_bytes())
    return digest.hexdigest()[:12]


def static_url() -> str:
    return f"/static/{asset_version()}"


@cache
def _template(name: str) -> Template:
    return Template((TEMPLATES_DIR / name).read_text(encoding="utf-8"))


def render(template: str, /, **values: str) -> Html:
    """A template with ``$name`` placeholders; plain strings are escaped, :class:`Html` not."""
    escaped = {
        key: value if isinstance(value, Html) else html.escape(value)
        for key, value in values.items()
    }
    return Html(_template(template).substitute(escaped))


def browser_principal(request: Request, session: Session) -> Principal:
    """Who the sign-in cookie names; without a valid one, :class:`SignInRequired`."""
    digest = cookie_key_digest(request)
    if digest is not None:
        try:
            return auth_service.authenticate_digest(session, digest)
        except Unauthorized:
            pass
    target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    raise SignInRequired(target)


def safe_next(target: str | None) -> str:
    """Where to go after signing in: only a path of this site, never another host."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def sign_in_redirect(next_path: str) -> RedirectResponse:
    return RedirectResponse(f"/sign-in?{urlencode({'next': next_path})}", status_code=303)


def page_response(content: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(content, status_code=status, headers=PAGE_HEADERS)


def _module(script: str | None) -> Html:
    if script is None:
        return NOTHING
    return Html(f'<script type="module" src="{static_url()}/js/{html.escape(script)}"></script>')


def signed_in_page(
    request: Request,
    principal: Principal,
    *,
    title: str,
    script: str | None,
    content: Html,
    breadcrumbs: Html = NOTHING,
    status: int = 200,
) -> Response:
    """A page in the layout with the header bar, sign-out form and the page's module."""
    known_csrf = request.cookies.get(CSRF_COOKIE)
    csrf = known_csrf or new_csrf_token()
    account = render("account.html", user=principal.name, role=principal.role, csrf=csrf)
    body = _layout(
        title=title,
        script=_module(script),
        role=principal.role,
        user=principal.name,
        account=account,
        breadcrumbs=breadcrumbs,
        content=content,
    )
    response = page_response(body, status)
    if known_csrf is None:
        # A signed-in browser whose CSRF cookie is gone (cleared by hand) gets a new one.
        set_csrf_cookie(request, response, csrf)
    return response


def sign_in_page(next_path: str, *, error: str = "", status: int = 200) -> HTMLResponse:
    message = Html(render("form_error.html", message=error) if error else "")
    content = render("sign_in.html", next=safe_next(next_path), error=message)
    body = _layout(
        title="Sign in",
        script=_module(None),
        role="",
        user="",
        account=NOTHING,
        breadcrumbs=NOTHING,
        content=content,
    )
    return page_response(body, status)


def _layout(**values: str) -> Html:
    """The layout around a page, with what every page's scripts read from its body: the
    thumbnail sizes the server makes, and the vocabulary (see :mod:`.vocabulary`)."""
    return render(
        "layout.html",
        static=static_url(),
        card_px=str(CARD_PX),
        strip_px=str(STRIP_PX),
        vocabulary=vocabulary_json(),
        **values,
    )


def audits_content(principal: Principal) -> Html:
    upload = NOTHING
    if principal.is_admin:
        upload = render(
            "upload_form.html",
            loss_options=_loss_options(),
            k_range=_offered_range("k"),
            epochs_range=_offered_range("epochs"),
            window=str(AuditConfigIn.model_fields["window"].default),
            default_epochs=default_epochs_text(),
            name_chars=str(MAX_AUDIT_NAME_CHARS),
            column_chars=str(MAX_LABEL_CHARS),
            npz_features=FEATURES_ARRAY,
            npz_labels=LABELS_ARRAY,
        )
    return render("audits.html", upload_form=upload)


def _offered_range(option: str) -> Html:
    """A number input's ``min``, ``max`` and ``step``: what the server accepts for ``option``
    (:data:`formats.options.OPTION_RANGES`)."""
    allowed = OPTION_RANGES[option]
    low, high = allowed.offered()
    return Html(f'min="{low:.12g}" max="{high:.12g}" step="{allowed.step:.12g}"')


def _loss_options() -> Html:
    default = AuditConfigIn.model_fields["loss"].default
    return Html(
        "".join(
            f'<option value="{name}"{" selected" if name == default else ""}>{name}</option>'
            for name in LOSSES
        )
    )


def review_content(audit_id: uuid.UUID, name: str) -> Html:
    """The review queue's shell, its decision filter, bulk buttons and shortcut list worded
    by the vocabulary."""
    words = {
        decision: {k: html.escape(v or "") for k, v in w.items()}
        for decision, w in DECISION_WORDS.items()
    }
    keyed = {decision: word for decision, word in words.items() if word["key"]}
    options = [f'<option value="{d}">{w["text"]}</option>' for d, w in words.items()]
    bulk = [
        f'<button type="button" class="button small" data-bulk="{d}">{w["bulk"]}</button>'
        for d, w in keyed.items()
    ]
    shortcuts = [f"<dt><kbd>{w['key']}</kbd></dt><dd>{w['describe']}</dd>" for w in keyed.values()]
    return render(
        "review.html",
        audit_id=str(audit_id),
        name=name,
        near_band=str(NEAR_THRESHOLD_BAND),
        worth_title=WORTH_A_LOOK_TITLE,
        decision_options=Html("".join(options)),
        bulk_buttons=Html("".join(bulk)),
        decision_shortcuts=Html("".join(shortcuts)),
        decision_keys=Html(" ".join(f"<kbd>{w['key']}</kbd>" for w in keyed.values())),
    )


def breadcrumbs(*trail: tuple[str, str]) -> Html:
    """``Audits / name / Review``: (text, href) steps; the last one is the current page."""
    steps = [("Audits", "/"), *trail]
    items = [
        f'<li><a href="{html.escape(href)}">{html.escape(text)}</a></li>'
        for text, href in steps[:-1]
    ]
    items.append(f'<li aria-current="page">{html.escape(steps[-1][0])}</li>')
    return Html(f'<ol class="breadcrumbs">{"".join(items)}</ol>')


def audit_page(
    request: Request,
    session: Session,
    principal: Principal,
    audit_id: uuid.UUID,
    view: Literal["overview", "review"],
) -> Response:
    """An audit's overview or review page; the not-found page (404) when it does not exist."""
    try:
        # Isolated: bidirectional controls in the name must not reorder the rest of the page.
        name = isolated(audits_service.require_audit(session, audit_id).name)
    except NotFound:
        content = render("not_found.html", audit_id=str(audit_id))
        return signed_in_page(
            request, principal, title="Audit not found", script=None, content=content, status=404
        )
    trail = [(name, f"/audits/{audit_id}")]
    if view == "overview":
        admin = render("audit_admin_actions.html") if principal.is_admin else NOTHING
        title, script = name, "overview.js"
        content = render("overview.html", audit_id=str(audit_id), name=name, admin_actions=admin)
    else:
        trail.append(("Review", f"/audits/{audit_id}/review"))
        title, script = f"Review · {name}", "queue.js"
        content = review_content(audit_id, name)
    return signed_in_page(
        request,
        principal,
        title=title,
        script=script,
        content=content,
        breadcrumbs=breadcrumbs(*trail),
    )
