"""The auditors' pages: a decision's timeline, its refusals and its state at an instant, and the
whole log verified."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import HTMLResponse
from pydantic import AwareDatetime

from api.portal.pages import Found, SignedIn, Spoken, decision_stream, may_watch, page
from audit.snapshots import state_at
from audit.verify import stream_break
from store.records import StoredEvent

routes = APIRouter(prefix="/portal", include_in_schema=False)


@routes.get("/audit/{decision_id}")
async def audit(
    decision_id: str,
    visit: SignedIn,
    found: Found,
    speech: Spoken,
    as_of: Annotated[AwareDatetime | None, Query()] = None,
) -> HTMLResponse:
    """A decision for its auditors: its timeline, whether its events still hash to what
    was recorded, the commands refused on it, and its state at an instant of the timeline."""
    _ = speech
    may_watch(visit.caller)
    stored, state = await decision_stream(found, decision_id)
    broken = stream_break(stored)
    at_state = None
    if as_of is not None:
        at_state, _snapshot = await state_at(found.store, decision_id, as_of, found.signer)
    refused = await found.store.refusals.read(decision_id=decision_id, limit=200)
    return page(
        speech,
        "audit.html",
        title=_("Audit: %(title)s") % {"title": state.title},
        state=state,
        events=stored,
        broken=(None if broken is None else (_version_at(stored, broken.position), broken.message)),
        at=as_of is not None,
        as_of=as_of,
        at_state=at_state,
        refusals=refused,
        **visit.context(),
    )


@routes.get("/verify")
async def verify(visit: SignedIn, found: Found, speech: Spoken) -> HTMLResponse:
    """The whole log verified now: every hash and link of the events, the side logs and
    the Merkle tree (what `concord audit verify` does)."""
    _ = speech
    may_watch(visit.caller)
    report = await found.verification.report()
    return page(
        speech,
        "verified.html",
        200 if report.ok else 409,
        title=_("The whole log verified"),
        report=report,
        **visit.context(),
    )


def _version_at(stream: Sequence[StoredEvent], position: int) -> int:
    return next(e.stream_version for e in stream if e.position == position)
