"""Sign-in: OAuth2 password flow for API clients, a login form and session cookie for pages."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from fastapi.security import OAuth2PasswordRequestForm

from backend.accounts import auth, users
from backend.api.authn import request_token, set_session_cookie
from backend.api.deps import ClientDep, PrincipalDep, SessionDep
from backend.api.errors import error_response
from backend.api.html import page_response
from backend.api.schemas import Me, Token
from backend.services.errors import RateLimited, Unauthenticated
from backend.sessions import service as sessions
from backend.settings import auth_settings
from map_ui.templating import render_page

router = APIRouter(tags=["auth 登录"])

LangQuery = Literal["zh", "en"]
TEXT = {
    "zh": {
        "title": "登录 · 办公用房一张图",
        "heading": "办公用房一张图",
        "username": "用户名",
        "password": "密码",
        "submit": "登录",
    },
    "en": {
        "title": "Sign in · OfficeMap",
        "heading": "OfficeMap",
        "username": "Username",
        "password": "Password",
        "submit": "Sign in",
    },
}


@router.post(
    "/api/v1/auth/token",
    summary="OAuth2 password flow: a bearer token",
    response_model=None,
    responses={
        200: {"model": Token, "description": "a bearer token"},
        401: {"description": "unknown user or wrong password (one answer for both)"},
        429: {"description": "too many failed sign-ins from this client: wait Retry-After"},
    },
)
def token(
    form: Annotated[OAuth2PasswordRequestForm, Depends()], session: SessionDep, client: ClientDep
) -> dict[str, Any] | JSONResponse:
    """Exchange username and password for a signed JWT (Bearer).

    Failed sign-ins are throttled per client and per (user, client) with a growing delay;
    failures from one client never refuse the user signing in from another.
    """
    try:
        principal = users.authenticate(session, form.username, form.password, client=client)
    except (Unauthenticated, RateLimited) as exc:
        return error_response(exc)
    return {
        "access_token": sessions.issue_for(session, principal.username),
        "token_type": "bearer",
        "expires_in": auth_settings().token_minutes * 60,
    }


@router.get("/api/v1/auth/me", response_model=Me, summary="The signed-in user: roles and scope")
def me(principal: PrincipalDep) -> dict[str, Any]:
    scope = principal.scope
    return {
        "username": principal.username,
        "roles": sorted(principal.roles),
        "scope": {
            "unrestricted": scope.unrestricted,
            "regions": sorted(scope.regions),
            "agencies": sorted(scope.agencies),
        },
    }


def _safe_next(target: str | None) -> str:
    """Only same-site relative paths are followed after login (no open redirect)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/map"
    return target


def login_page(lang: LangQuery, next_url: str, error: str | None = None) -> str:
    t = TEXT[lang]
    return render_page(
        "login.html",
        lang=lang,
        title=t["title"],
        heading=t["heading"],
        labels=t,
        error=error,
        next_url=next_url,
    )


@router.get("/login", response_class=HTMLResponse, include_in_schema=False)
def login_form(next: str | None = None, lang: LangQuery = "zh") -> HTMLResponse:
    return page_response(login_page(lang, _safe_next(next)))


@router.post("/login", include_in_schema=False, response_model=None)
def login_submit(
    request: Request,
    session: SessionDep,
    client: ClientDep,
    username: Annotated[str, Form(max_length=80)],
    password: Annotated[str, Form(max_length=200)],
    next: Annotated[str | None, Form(max_length=2000)] = None,
    lang: LangQuery = "zh",
) -> HTMLResponse | RedirectResponse:
    """Check the form; on success set the HttpOnly, SameSite=Strict session cookie."""
    try:
        principal = users.authenticate(session, username, password, client=client)
    except (Unauthenticated, RateLimited) as exc:
        message = exc.message_zh if lang == "zh" else exc.message
        status = 429 if isinstance(exc, RateLimited) else 401
        return page_response(login_page(lang, _safe_next(next), message), status_code=status)
    response = RedirectResponse(_safe_next(next), status_code=303)
    set_session_cookie(response, request, sessions.issue_for(session, principal.username))
    return response


@router.api_route("/logout", methods=["GET", "POST"], include_in_schema=False)
def logout(request: Request, session: SessionDep) -> RedirectResponse:
    """Sign out: the presented token (cookie or bearer) is revoked, the cookie removed."""
    sessions.sign_out(session, request_token(list(request.scope["headers"])))
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(auth.cookie_name(), path="/")
    return response
