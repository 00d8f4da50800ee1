"""Sign-out and password change for API clients and pages (sign-in: ``routes/auth.py``)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from backend.accounts import auth, users
from backend.api.authn import request_token, set_session_cookie
from backend.api.deps import ClientDep, PrincipalDep, SessionDep
from backend.api.errors import error_response
from backend.services.errors import RateLimited, Unauthenticated
from backend.sessions import service
from backend.sessions.schemas import PasswordChange, TokenPublic
from backend.settings import auth_settings

router = APIRouter(prefix="/api/v1/auth", tags=["auth 登录"])


@router.post(
    "/logout",
    status_code=204,
    summary="Sign out: revoke the token of this request",
    response_class=Response,
)
def logout(request: Request, session: SessionDep, principal: PrincipalDep) -> Response:
    """Revokes the bearer token (or session cookie) this request carries; the cookie is
    removed. Other sessions of the user stay signed in (a password change ends them all)."""
    service.sign_out(session, request_token(list(request.scope["headers"])))
    response = Response(status_code=204)
    response.delete_cookie(auth.cookie_name(), path="/")
    return response


@router.post(
    "/password",
    summary="Change one's own password (revokes every earlier token)",
    response_model=TokenPublic,
    responses={
        401: {"description": "the current password is wrong"},
        429: {"description": "too many failed attempts from this client: wait Retry-After"},
    },
)
def change_password(
    request: Request,
    session: SessionDep,
    principal: PrincipalDep,
    client: ClientDep,
    body: PasswordChange,
) -> Any:
    """Checks the current password (throttled like sign-in), sets the new one and bumps the
    user's token generation: every token issued before — other browsers, API clients, this
    one — is refused from now on. Answers a fresh token (and a fresh cookie for pages)."""
    try:
        users.authenticate(session, principal.username, body.current_password, client=client)
    except (Unauthenticated, RateLimited) as exc:
        return error_response(exc)
    generation = service.change_password(
        session, username=principal.username, new_password=body.new_password
    )
    token = auth.issue_token(principal.username, generation=generation)
    minutes = auth_settings().token_minutes
    response = JSONResponse(
        TokenPublic(access_token=token, expires_in=minutes * 60).model_dump(),
        headers={"Cache-Control": "no-store"},
    )
    if request.cookies.get(auth.cookie_name()):
        set_session_cookie(response, request, token)
    return response
