"""The review dashboard's pages, and the sign-in and sign-out form posts."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Depends, FastAPI, Form, Request, Response
from fastapi.responses import RedirectResponse
from fastapi.routing import APIRoute
from fastapi.staticfiles import StaticFiles
from starlette.routing import Match
from starlette.types import Scope

from ..auth import service as auth_service
from ..auth.schemas import Principal
from ..auth.session import check_csrf, check_same_origin, end_session, start_session
from ..dependencies import SessionDep
from ..errors import Unauthorized
from . import pages as page_layer
from .pages import PAGE_HEADERS, STATIC_DIR, SignInRequired


class BrowserPageRoute(APIRoute):
    """A route for browsers only: a request that does not accept HTML goes on to the API
    route of the same path (``GET /audits/{id}`` is the overview page and the audit's JSON)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child_scope = super().matches(scope)
        if match is not Match.NONE and not page_layer.accepts_html(scope):
            return Match.NONE, {}
        return match, child_scope


def signed_in(request: Request, session: SessionDep) -> Principal:
    return page_layer.browser_principal(request, session)


SignedIn = Annotated[Principal, Depends(signed_in)]
pages = APIRouter(route_class=BrowserPageRoute, include_in_schema=False)
forms = APIRouter(include_in_schema=False)


@pages.get("/")
def audits_page(request: Request, principal: SignedIn) -> Response:
    content = page_layer.audits_content(principal)
    return page_layer.signed_in_page(
        request, principal, title="Audits", script="list.js", content=content
    )


@pages.get("/audits/{audit_id}")
def overview_page(
    audit_id: uuid.UUID, request: Request, session: SessionDep, principal: SignedIn
) -> Response:
    return page_layer.audit_page(request, session, principal, audit_id, "overview")


@pages.get("/audits/{audit_id}/review")
def review_page(
    audit_id: uuid.UUID, request: Request, session: SessionDep, principal: SignedIn
) -> Response:
    return page_layer.audit_page(request, session, principal, audit_id, "review")


@pages.get("/sign-in")
def sign_in_page(next: str = "/") -> Response:
    return page_layer.sign_in_page(next)


@forms.post("/sign-in")
def sign_in(
    request: Request,
    session: SessionDep,
    key: Annotated[str, Form(max_length=200)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    check_same_origin(request)
    try:
        auth_service.authenticate(session, key.strip())
    except Unauthorized:
        message = "That key is not valid. Check it, or ask an admin for a new one."
        return page_layer.sign_in_page(next, error=message, status=401)
    response = RedirectResponse(page_layer.safe_next(next), status_code=303)
    start_session(request, response, key.strip())
    return response


@forms.post("/sign-out")
def sign_out(request: Request, csrf_token: Annotated[str, Form()] = "") -> Response:
    check_csrf(request, csrf_token)
    response = RedirectResponse("/sign-in", status_code=303)
    end_session(response)
    return response


class StaticAssets(StaticFiles):
    """The dashboard's files under a versioned URL: cached for good, never sniffed."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def install_dashboard(app: FastAPI) -> None:
    """Pages first: for browsers they take precedence over the API's routes of the same path."""

    async def to_sign_in(_request: Request, exc: Exception) -> Response:
        assert isinstance(exc, SignInRequired)
        response = page_layer.sign_in_redirect(exc.next_path)
        response.headers.update(PAGE_HEADERS)
        return response

    app.add_exception_handler(SignInRequired, to_sign_in)
    app.include_router(pages)
    app.include_router(forms)
    app.mount(page_layer.static_url(), StaticAssets(directory=STATIC_DIR), name="static")
