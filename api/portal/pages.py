"""The portal's pages: sign-in, what a delegation has to answer, a decision with the controls
to answer its round, the receipt of each answer, the secretariat's live board, and pages that
say what went wrong, in English, French or Russian.

Each answer goes through `runtime.commands.Commands` as the API's do: the same principal from
the same token, the same rules, every refusal kept in the refusals log. Forms carry the
session's CSRF token; a post without it is refused and changes nothing."""

from __future__ import annotations

import asyncio
import difflib
import hmac
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import AwareDatetime, ValidationError

from api.portal import i18n
from api.portal.sessions import COOKIE, Session
from api.principals import Caller, Role, acting
from api.services import Services, services
from audit.snapshots import state_at
from audit.verify import stream_break
from domain import commands as cmd
from domain.errors import (
    ConcordError,
    Forbidden,
    InvalidInput,
    NotFound,
    Refusal,
    Unauthenticated,
)
from domain.evolve import replay
from domain.state import ConsensusRound, DecisionState
from store.decision_events import domain_event
from store.queries import list_decisions, pending_for_member
from store.records import StoredEvent

HERE: Final = Path(__file__).parent
STATIC: Final = HERE / "static"
BOARD_INTERVAL_S: Final = 0.5
LANGUAGE_KEPT: Final = timedelta(days=365)
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
Found = Annotated[Services, Depends(services)]


class Speech(i18n.Words):
    """The language of one request, and whether it was just chosen with the switch."""

    def __init__(self, language: str, here: str) -> None:
        super().__init__(language)
        self.here = here
        """The page to come back to after switching languages."""

    def context(self) -> dict[str, Any]:
        now = datetime.now(UTC)
        return {
            "_": self,
            "language": self.language,
            "languages": i18n.LANGUAGES,
            "here": self.here,
            "status": self.status,
            "role_name": self.role,
            "subject": self.subject,
            "when": self.when,
            "left": lambda deadline: self.left(deadline, now),
        }


def speech_of(request: Request) -> Speech:
    language = i18n.chosen(request.cookies.get(i18n.COOKIE), request.headers.get("accept-language"))
    here = request.url.path if request.method == "GET" else "/portal"
    return Speech(language, here)


Spoken = Annotated[Speech, Depends(speech_of)]


def page(speech: Speech, name: str, status: int = 200, **context: Any) -> HTMLResponse:
    html = templates.get_template(name).render(**speech.context(), **context)
    return HTMLResponse(html, status_code=status)


def problem(
    speech: Speech,
    title: str,
    message: str,
    advice: str,
    status: int,
    back: str = "/portal",
    **more: Any,
) -> HTMLResponse:
    return page(
        speech,
        "problem.html",
        status,
        title=title,
        message=message,
        advice=advice,
        back=back,
        **more,
    )


class Visitor:
    """The signed-in caller of a request, and its session."""

    def __init__(self, caller: Caller, session: Session) -> None:
        self.caller = caller
        self.session = session

    def context(self) -> dict[str, Any]:
        return {"caller": self.caller, "csrf": self.session.csrf}


async def visitor(request: Request, found: Found) -> Visitor:
    """The caller whose session cookie came with the request; Unauthenticated without one, or
    when its token has since been revoked or has expired."""
    session = found.sessions.read(request.cookies.get(COOKIE))
    caller = await found.tokens.caller(session.token)
    request.state.principal = caller.principal
    return Visitor(caller, session)


SignedIn = Annotated[Visitor, Depends(visitor)]


def checked(visit: Visitor, csrf: str) -> None:
    """Refuse a form that does not carry the session's CSRF token."""
    if not hmac.compare_digest(csrf.encode(), visit.session.csrf.encode()):
        raise Forbidden("this form did not come from your session's page: open it again")


def router() -> APIRouter:
    routes = APIRouter(prefix="/portal", include_in_schema=False)

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
    async def sign_in_page(speech: Spoken) -> HTMLResponse:
        _ = speech
        return page(speech, "sign_in.html", title=_("Sign in"))

    @routes.post("/sign-in")
    async def sign_in(
        request: Request,
        found: Found,
        speech: Spoken,
        token: Annotated[str, Form(max_length=200)] = "",
    ) -> Response:
        _ = speech
        try:
            await found.tokens.caller(token.strip())
        except Unauthenticated:
            return page(
                speech,
                "sign_in.html",
                401,
                title=_("Sign in"),
                problem=_("That access token is not valid: it is unknown, revoked or expired."),
            )
        cookie, _session = found.sessions.open(token.strip())
        response = RedirectResponse("/portal", status_code=303)
        response.set_cookie(
            COOKIE,
            cookie,
            max_age=int(found.sessions.lifetime.total_seconds()),
            httponly=True,
            samesite="strict",
            secure=request.url.scheme == "https",
            path="/portal",
        )
        return response

    @routes.post("/sign-out")
    async def sign_out(visit: SignedIn, csrf: Annotated[str, Form()] = "") -> Response:
        checked(visit, csrf)
        response = RedirectResponse("/portal/sign-in", status_code=303)
        response.delete_cookie(COOKIE, path="/portal")
        return response

    @routes.get("")
    async def home(visit: SignedIn, found: Found, speech: Spoken) -> HTMLResponse:
        _ = speech
        caller = visit.caller
        pending = (
            await pending_for_member(found.store, caller.name)
            if caller.role is Role.MEMBER
            else None
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
    async def decision(
        decision_id: str, visit: SignedIn, found: Found, speech: Spoken
    ) -> HTMLResponse:
        stored = await found.store.stream(decision_id)
        state = replay(domain_event(e) for e in stored)
        if state is None:
            raise NotFound(f"there is no decision {decision_id}")
        member = visit.caller.name if visit.caller.role is Role.MEMBER else None
        return page(
            speech,
            "decision.html",
            title=state.title,
            state=state,
            rounds=_ordered(state.rounds),
            member=member,
            changes=_changes(state),
            reports=[e for e in stored if e.type == "ProgressReported" and e.actor == member],
            **visit.context(),
        )

    @routes.get("/board/{decision_id}")
    async def board(
        decision_id: str, visit: SignedIn, found: Found, speech: Spoken
    ) -> HTMLResponse:
        _ = speech
        may_watch(visit.caller)
        state = await _state(found, decision_id)
        return page(
            speech,
            "board.html",
            title=_("Board: %(title)s") % {"title": state.title},
            state=state,
            rounds=_ordered(state.rounds),
            **visit.context(),
        )

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
        stored = await found.store.stream(decision_id)
        state = replay(domain_event(e) for e in stored)
        if state is None:
            raise NotFound(f"there is no decision {decision_id}")
        broken = stream_break(stored)
        at_state = None
        if as_of is not None:
            at_state, _snapshot = await state_at(found.store, decision_id, as_of, found.signer)
        refused = await found.store.refusals(decision_id=decision_id, limit=200)
        return page(
            speech,
            "audit.html",
            title=_("Audit: %(title)s") % {"title": state.title},
            state=state,
            events=stored,
            broken=(
                None if broken is None else (_version_at(stored, broken.position), broken.message)
            ),
            at=as_of is not None,
            as_of=as_of,
            at_state=at_state,
            refusals=refused,
            **visit.context(),
        )

    @routes.get("/board/{decision_id}/stream")
    async def board_stream(
        decision_id: str, request: Request, visit: SignedIn, found: Found, speech: Spoken
    ) -> StreamingResponse:
        """The board's grid again each time the decision's log grows (server-sent events),
        until the browser goes or the session's token stops being valid."""
        may_watch(visit.caller)
        await _state(found, decision_id)

        async def grids() -> AsyncIterator[str]:
            shown = -1
            while not await request.is_disconnected():
                try:
                    await found.tokens.caller(visit.session.token)
                except Unauthenticated:
                    return
                version = await found.store.stream_version(decision_id)
                if version != shown:
                    shown = version
                    state = await _state(found, decision_id)
                    html = templates.get_template("board_grid.html").render(
                        **speech.context(), state=state, rounds=_ordered(state.rounds)
                    )
                    lines = "".join(f"data: {line}\n" for line in html.splitlines())
                    yield f"event: grid\n{lines}\n"
                await asyncio.sleep(BOARD_INTERVAL_S)

        return StreamingResponse(
            grids(), media_type="text/event-stream", headers={"Cache-Control": "no-store"}
        )

    @routes.post("/decisions/{decision_id}/{action}")
    async def answer(
        decision_id: str,
        action: str,
        visit: SignedIn,
        found: Found,
        speech: Spoken,
        csrf: Annotated[str, Form()] = "",
        round: Annotated[int, Form(ge=1)] = 1,
        text_hash: Annotated[str, Form(max_length=100)] = "",
        reasons: Annotated[str, Form(max_length=20_000)] = "",
        statement: Annotated[str, Form(max_length=20_000)] = "",
        item_id: Annotated[str, Form(max_length=40)] = "",
        summary: Annotated[str, Form(max_length=20_000)] = "",
        title: Annotated[str, Form(max_length=200)] = "",
        description: Annotated[str, Form(max_length=20_000)] = "",
        reason: Annotated[str, Form(max_length=20_000)] = "",
    ) -> HTMLResponse:
        _ = speech
        checked(visit, csrf)
        if action not in _FORMS:
            raise NotFound(f"there is no action {action}")
        actor, recorded_by = acting(visit.caller, None, chairs=False, kind=action)
        if visit.caller.role is not Role.MEMBER:
            raise Forbidden("a delegation answers a round in its own name, with its own token")
        envelope = {"decision_id": decision_id, "actor": actor, "recorded_by": recorded_by}
        fields = {
            "round": round,
            "text_hash": text_hash,
            "reasons": reasons,
            "statement": statement,
            "item_id": item_id or None,
            "summary": summary,
            "title": title,
            "description": description,
            "reason": reason,
        }
        try:
            command = _command(action, envelope, fields)
        except ValidationError as invalid:
            error = invalid.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or action
            return problem(
                speech,
                _("Not sent"),
                f"{field}: {error['msg']}",
                _("Go back, correct it and send it again; nothing was recorded."),
                422,
                back=f"/portal/decisions/{decision_id}",
                **visit.context(),
            )
        receipt = await found.commands.execute(command, None, "api")
        document = receipt.model_dump(mode="json")
        return page(
            speech,
            "receipt.html",
            201,
            title=_("Your answer is recorded"),
            receipt=receipt,
            rows=list(zip(receipt.event_types, receipt.event_ids, receipt.hashes, strict=True)),
            document=orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(),
            **visit.context(),
        )

    return routes


async def _state(found: Services, decision_id: str) -> DecisionState:
    """The decision as its stored events make it; NotFound when it has none."""
    state = replay(domain_event(e) for e in await found.store.stream(decision_id))
    if state is None:
        raise NotFound(f"there is no decision {decision_id}")
    return state


def _ordered(rounds: Sequence[ConsensusRound]) -> list[ConsensusRound]:
    """Open rounds first, then the latest."""
    return sorted(rounds, key=lambda r: (not r.is_open, -r.number))


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


def _version_at(stream: Sequence[StoredEvent], position: int) -> int:
    return next(e.stream_version for e in stream if e.position == position)


def may_watch(caller: Caller) -> None:
    if caller.role is Role.MEMBER:
        raise Forbidden("the board is the secretariat's: a delegation sees its own page")


Answer = (
    cmd.Concur
    | cmd.BreakSilence
    | cmd.WithdrawObjection
    | cmd.RegisterConcern
    | cmd.ReportProgress
    | cmd.RaiseIssue
    | cmd.RequestMeeting
)
_FORMS: Final[dict[str, tuple[type[Answer], tuple[str, ...]]]] = {
    "concur": (cmd.Concur, ("round", "text_hash")),
    "object": (cmd.BreakSilence, ("round", "text_hash", "reasons")),
    "withdraw": (cmd.WithdrawObjection, ("round",)),
    "concern": (cmd.RegisterConcern, ("round", "statement")),
    "progress": (cmd.ReportProgress, ("item_id", "summary")),
    "issue": (cmd.RaiseIssue, ("title", "description")),
    "meeting": (cmd.RequestMeeting, ("reason",)),
}
"""Each answer a page's form gives: its command and the form fields it takes."""


def _command(action: str, envelope: dict[str, str], fields: dict[str, Any]) -> Answer:
    """The command an answer's form stands for (ValidationError for bad fields)."""
    model, names = _FORMS[action]
    return model.model_validate(envelope | {name: fields[name] for name in names})


def problem_page(request: Request, error: ConcordError) -> Response:
    """What a portal page shows when something was refused or went wrong: never a trace."""
    if isinstance(error, Unauthenticated):
        return RedirectResponse("/portal/sign-in", status_code=303)
    speech = speech_of(request)
    _ = speech
    back = request.headers.get("referer") or "/portal"
    if isinstance(error, Refusal):
        return problem(
            speech,
            _("Refused by the procedure"),
            error.message,
            _("The rule named below decided; nothing was recorded but the refusal itself."),
            409,
            back=back,
            code=error.code,
        )
    if isinstance(error, Forbidden):
        return problem(
            speech,
            _("Not yours to do"),
            error.message,
            _("Sign in with the token of whoever may do this."),
            403,
            back=back,
        )
    if isinstance(error, NotFound):
        return problem(speech, _("Not found"), error.message, _("Check the address."), 404, back)
    if isinstance(error, InvalidInput):
        return problem(
            speech,
            _("Not sent"),
            error.message,
            _("Go back, correct it and send it again; nothing was recorded."),
            422,
            back=back,
        )
    return problem(
        speech,
        _("Something went wrong"),
        error.message,
        _("Try again in a moment; if it persists, tell your secretariat."),
        503,
        back=back,
    )
