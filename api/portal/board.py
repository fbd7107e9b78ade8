"""The secretariat's board: a decision's rounds as answers arrive, without a reload, and the
chair's commands given from it."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Final

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, StreamingResponse

from api.portal.giving import give
from api.portal.pages import (
    Found,
    SignedIn,
    Spoken,
    decision_record,
    decision_state,
    decision_stream,
    key_registry,
    may_watch,
    ordered,
    page,
    templates,
)
from api.portal.sessions import COOKIE
from api.principals import Role
from domain.errors import Unauthenticated
from domain.values import IN_FORCE, TERMINAL, Status

BOARD_INTERVAL_S: Final = 0.5
_OPEN: Final = frozenset(Status) - TERMINAL - {Status.SUSPENDED}
APPLIES: Final[dict[str, frozenset[Status]]] = {
    "refer": frozenset({Status.PROPOSED}),
    "review": frozenset({Status.IN_REVIEW}),
    "open-round": frozenset({Status.IN_REVIEW}),
    "extend": frozenset({Status.IN_REVIEW, Status.UNDER_CONSENSUS, Status.IN_IMPLEMENTATION}),
    "remind": frozenset({Status.UNDER_CONSENSUS, Status.IN_IMPLEMENTATION}),
    "close-round": frozenset({Status.UNDER_CONSENSUS}),
    "plan": frozenset({Status.ADOPTED}),
    "complete": frozenset({Status.IN_IMPLEMENTATION}),
    "supersede": IN_FORCE | {Status.COMPLETED},
    "suspend": _OPEN,
    "resume": frozenset({Status.SUSPENDED}),
}
"""The states in which each of the chair's actions on the board can be given: the board shows
these first and the others out of the way. The procedure's rules still decide each one."""

routes = APIRouter(prefix="/portal", include_in_schema=False)


@routes.get("/board/{decision_id}")
async def board(decision_id: str, visit: SignedIn, found: Found, speech: Spoken) -> HTMLResponse:
    _ = speech
    may_watch(visit.caller)
    stored, state = await decision_stream(found, decision_id)
    return page(
        speech,
        "board.html",
        title=_("Board: %(title)s") % {"title": state.title},
        state=state,
        rounds=ordered(state.rounds),
        record=decision_record(stored, await key_registry(found)),
        chair=visit.caller.role is Role.OPERATOR,
        applies={action for action, states in APPLIES.items() if state.status in states},
        **visit.context(),
    )


@routes.get("/board/{decision_id}/stream")
async def board_stream(
    decision_id: str, request: Request, visit: SignedIn, found: Found, speech: Spoken
) -> StreamingResponse:
    """The board's grid again each time the decision's log grows (server-sent events),
    until the browser goes or the session or its token stops being valid."""
    may_watch(visit.caller)
    await decision_state(found, decision_id)

    async def grids() -> AsyncIterator[str]:
        shown = -1
        while not await request.is_disconnected():
            try:  # signed out, expired or revoked since: the stream ends
                await found.store.sessions.read(request.cookies.get(COOKIE))
                await found.tokens.caller_by_id(visit.session.token_id)
            except Unauthenticated:
                return
            version = await found.store.stream_version(decision_id)
            if version != shown:
                shown = version
                stored, state = await decision_stream(found, decision_id)
                html = templates.get_template("board_grid.html").render(
                    **speech.context(),
                    state=state,
                    rounds=ordered(state.rounds),
                    record=decision_record(stored, await key_registry(found)),
                )
                lines = "".join(f"data: {line}\n" for line in html.splitlines())
                yield f"event: grid\n{lines}\n"
            await asyncio.sleep(BOARD_INTERVAL_S)

    return StreamingResponse(
        grids(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
    )


@routes.post("/chair/{decision_id}/{action}")
async def chair(
    decision_id: str,
    action: str,
    request: Request,
    visit: SignedIn,
    found: Found,
    speech: Spoken,
) -> HTMLResponse:
    """One of the chair's commands, given by the secretariat from the board."""
    _ = speech
    back = f"/portal/board/{decision_id}"
    given = (decision_id, action, True)
    return await give(request, found, visit, speech, given, back, _("Recorded"))
