"""A delegation's pages: what it has to answer, a decision with the controls to answer its round,
each answer's confirmation page, and its answers given in its own name."""

from __future__ import annotations

import difflib

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from api.portal.giving import confirmation, give
from api.portal.pages import (
    Found,
    SignedIn,
    Spoken,
    decision_record,
    decision_stream,
    key_registry,
    ordered,
    page,
)
from api.principals import Role
from domain.state import DecisionState
from store.councils import Councils
from store.queries import list_decisions, pending_for_member

routes = APIRouter(prefix="/portal", include_in_schema=False)


@routes.get("")
async def home(visit: SignedIn, found: Found, speech: Spoken) -> HTMLResponse:
    _ = speech
    caller = visit.caller
    pending = (
        await pending_for_member(found.store, caller.name) if caller.role is Role.MEMBER else None
    )
    return page(
        speech,
        "home.html",
        title=_("Your delegation") if pending is not None else _("Decisions"),
        pending=pending,
        decisions=await list_decisions(found.store, limit=200),
        **visit.context(),
    )


@routes.get("/decisions/{decision_id}")
async def decision(decision_id: str, visit: SignedIn, found: Found, speech: Spoken) -> HTMLResponse:
    stored, state = await decision_stream(found, decision_id)
    member = visit.caller.name if visit.caller.role is Role.MEMBER else None
    registry = await key_registry(found)
    record = decision_record(stored, registry)
    key, required = None, False
    if member is not None:
        current = registry.current(member)
        key = current.key_id if current else None
        required = bool((await Councils(found.store).in_force()).signed_answers)
    return page(
        speech,
        "decision.html",
        title=state.title,
        state=state,
        rounds=ordered(state.rounds),
        member=member,
        changes=_changes(state),
        reports=[e for e in stored if e.type == "ProgressReported" and e.actor == member],
        origin=found.origin,
        key=key,
        signatures_required=required,
        record=record,
        **visit.context(),
    )


@routes.post("/decisions/{decision_id}/{action}/check")
async def check(
    decision_id: str,
    action: str,
    request: Request,
    visit: SignedIn,
    found: Found,
    speech: Spoken,
) -> HTMLResponse:
    """A delegation's answer shown back to it before it is given: nothing is recorded yet."""
    return await confirmation(request, found, visit, speech, (decision_id, action))


@routes.post("/decisions/{decision_id}/{action}")
async def answer(
    decision_id: str,
    action: str,
    request: Request,
    visit: SignedIn,
    found: Found,
    speech: Spoken,
) -> HTMLResponse:
    """A delegation's answer or report, given from its confirmation page in its own name."""
    _ = speech
    back = f"/portal/decisions/{decision_id}"
    given = (decision_id, action, False)
    title = _("Your answer is recorded")
    return await give(request, found, visit, speech, given, back, title)


def _changes(state: DecisionState) -> list[tuple[str, str]]:
    """The current text against the revision before it, line by line: ("+" | "-" | " ", line);
    empty for a first revision."""
    if len(state.revisions) < 2:
        return []
    before = state.revisions[-2].text.splitlines()
    after = state.current_revision.text.splitlines()
    return [
        (line[0], line[2:]) for line in difflib.ndiff(before, after) if not line.startswith("? ")
    ]
