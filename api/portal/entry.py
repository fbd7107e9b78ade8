"""The portal's way in and out: signing in with an access token, signing out, and the language
switch."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated, Final

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from api.portal import i18n
from api.portal.pages import Found, SignedIn, Speech, Spoken, checked, page
from api.portal.sessions import COOKIE, SIGN_IN_COOKIE, SIGN_IN_LIFETIME
from api.services import Services
from domain.errors import NotFound, Unauthenticated

LANGUAGE_KEPT: Final = timedelta(days=365)

routes = APIRouter(prefix="/portal", include_in_schema=False)


def sign_in_form(
    request: Request, found: Services, speech: Speech, status: int = 200, trouble: str = ""
) -> HTMLResponse:
    """The sign-in page, with a fresh sign-in cookie and the CSRF token of its form."""
    _ = speech
    nonce, csrf = found.sign_ins.challenge()
    response = page(speech, "sign_in.html", status, title=_("Sign in"), problem=trouble, csrf=csrf)
    response.set_cookie(
        SIGN_IN_COOKIE,
        nonce,
        max_age=int(SIGN_IN_LIFETIME.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/portal/sign-in",
    )
    return response


@routes.get("/language/{language}")
async def switch_language(
    language: str, going: Annotated[str, Query(alias="next", max_length=500)] = "/portal"
) -> Response:
    """Keep the language chosen with the switch (a cookie), and go back to the page."""
    if language not in i18n.LANGUAGES:
        raise NotFound(f"the portal speaks {', '.join(i18n.LANGUAGES)}, not {language}")
    back = going if going.startswith("/portal") and "//" not in going else "/portal"
    response = RedirectResponse(back, status_code=303)
    response.set_cookie(
        i18n.COOKIE,
        language,
        max_age=int(LANGUAGE_KEPT.total_seconds()),
        samesite="strict",
        path="/portal",
    )
    return response


@routes.get("/sign-in")
async def sign_in_page(request: Request, found: Found, speech: Spoken) -> HTMLResponse:
    _ = speech
    return sign_in_form(request, found, speech)


@routes.post("/sign-in")
async def sign_in(
    request: Request,
    found: Found,
    speech: Spoken,
    token: Annotated[str, Form(max_length=200)] = "",
    csrf: Annotated[str, Form(max_length=100)] = "",
) -> Response:
    _ = speech
    found.sign_ins.check(request.cookies.get(SIGN_IN_COOKIE), csrf)
    try:
        caller = await found.caller_at(request, lambda: found.tokens.caller(token.strip()))
    except Unauthenticated:
        return sign_in_form(
            request,
            found,
            speech,
            401,
            _("That access token is not valid: it is unknown, revoked or expired."),
        )
    cookie, _session = await found.store.sessions.open(caller.token_id)
    response = RedirectResponse("/portal", status_code=303)
    response.delete_cookie(SIGN_IN_COOKIE, path="/portal/sign-in")
    response.set_cookie(
        COOKIE,
        cookie,
        max_age=int(found.store.sessions.lifetime.total_seconds()),
        httponly=True,
        samesite="strict",
        secure=request.url.scheme == "https",
        path="/portal",
    )
    return response


@routes.post("/sign-out")
async def sign_out(
    request: Request, visit: SignedIn, found: Found, csrf: Annotated[str, Form()] = ""
) -> Response:
    checked(visit, csrf)
    await found.store.sessions.close(request.cookies.get(COOKIE, ""))
    response = RedirectResponse("/portal/sign-in", status_code=303)
    response.delete_cookie(COOKIE, path="/portal")
    return response
