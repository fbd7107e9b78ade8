"""A delegation's signing key in its browser: the page that shows the key in force for it and
makes a new one (api/portal/static/sign.js, WebCrypto's Ed25519, the private key never leaving
the browser), and the registration of that key in the council's key registry (audit.keys): a
first key on the chair's authority, as every first key is; a new one endorsed by the key in
force when this browser holds it, the member's own change then."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.portal.i18n import N_
from api.portal.pages import Found, SignedIn, Spoken, Visitor, checked, page
from api.principals import Role
from audit.keys import KeyBook, KeyRequest
from domain.errors import Forbidden
from domain.keys import KeyPeriod

routes = APIRouter(prefix="/portal", include_in_schema=False)


@routes.get("/keys")
async def keys(visit: SignedIn, found: Found, speech: Spoken) -> HTMLResponse:
    return await _page(visit, found, speech, registered=None)


@routes.post("/keys")
async def register(request: Request, visit: SignedIn, found: Found, speech: Spoken) -> HTMLResponse:
    """Record the key this browser made for the signed-in delegation."""
    member = _member(visit)
    form = await request.form()
    checked(visit, str(form.get("csrf", "")))
    endorsement = str(form.get("endorsement", "")) or None
    made = KeyRequest(
        origin=found.origin,
        member=member,
        key_id=str(form.get("key_id", "")),
        public_key=str(form.get("public_key", "")),
        possession=str(form.get("possession", "")),
        endorsement=endorsement,
    )
    stored = await KeyBook(found.store, found.origin).register(made, f"member:{member}")
    return await _page(visit, found, speech, registered=str(stored.payload["key_id"]), status=201)


async def _page(
    visit: Visitor, found: Found, speech: Spoken, registered: str | None, status: int = 200
) -> HTMLResponse:
    _ = speech
    member = _member(visit)
    registry = await KeyBook(found.store, found.origin).registry()
    current: KeyPeriod | None = registry.current(member)
    return page(
        speech,
        "keys.html",
        status,
        title=_("Your signing key"),
        member=member,
        origin=found.origin,
        current=current,
        registered=registered,
        **visit.context(),
    )


def _member(visit: Visitor) -> str:
    if visit.caller.role is not Role.MEMBER:
        raise Forbidden(N_("a signing key is a delegation's own: sign in with its token"))
    return visit.caller.name
