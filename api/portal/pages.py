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

from api.commands import resend_by_key
from api.errors import RateLimited
from api.portal import i18n
from api.portal.sessions import COOKIE, SIGN_IN_COOKIE, SIGN_IN_LIFETIME
from api.principals import Caller, Role, acting
from api.services import Services, services
from audit.snapshots import state_at
from audit.verify import stream_break
from domain import commands as cmd
from domain.declarations import DECLARED, Giver
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
from store.sessions import PortalSession
from workflows.messages import Receipt

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

    def __init__(self, caller: Caller, session: PortalSession) -> None:
        self.caller = caller
        self.session = session

    def context(self) -> dict[str, Any]:
        return {"caller": self.caller, "csrf": self.session.csrf}


async def visitor(request: Request, found: Found) -> Visitor:
    """The caller whose session cookie came with the request; Unauthenticated without one, or
    when its session has ended, or its token has since been revoked or has expired. The
    request counts against the token's rate, as the API's own requests do."""
    cookie = request.cookies.get(COOKIE)
    if not cookie:  # not a bad session, only none yet: not counted against the address
        raise Unauthenticated("sign in with your access token")
    read: list[PortalSession] = []

    async def session_caller() -> Caller:
        read.append(await found.store.sessions.read(cookie))
        return await found.tokens.caller_by_id(read[0].token_id)

    caller = await found.caller_at(request, session_caller)
    return Visitor(caller, read[0])


SignedIn = Annotated[Visitor, Depends(visitor)]


def checked(visit: Visitor, csrf: str) -> None:
    """Refuse a form that does not carry the session's CSRF token."""
    if not hmac.compare_digest(csrf.encode(), visit.session.csrf.encode()):
        raise Forbidden("this form did not come from your session's page: open it again")


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
        stored, state = await _stream(found, decision_id)
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
            chair=visit.caller.role is Role.OPERATOR,
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
        stored, state = await _stream(found, decision_id)
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
            broken=(
                None if broken is None else (_version_at(stored, broken.position), broken.message)
            ),
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

    @routes.get("/board/{decision_id}/stream")
    async def board_stream(
        decision_id: str, request: Request, visit: SignedIn, found: Found, speech: Spoken
    ) -> StreamingResponse:
        """The board's grid again each time the decision's log grows (server-sent events),
        until the browser goes or the session or its token stops being valid."""
        may_watch(visit.caller)
        await _state(found, decision_id)

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
        return await _given(request, found, visit, speech, given, back, _("Recorded"))

    @routes.post("/decisions/{decision_id}/{action}")
    async def answer(
        decision_id: str,
        action: str,
        request: Request,
        visit: SignedIn,
        found: Found,
        speech: Spoken,
    ) -> HTMLResponse:
        """A delegation's answer or report, given from its decision page in its own name."""
        _ = speech
        back = f"/portal/decisions/{decision_id}"
        given = (decision_id, action, False)
        title = _("Your answer is recorded")
        return await _given(request, found, visit, speech, given, back, title)

    return routes


async def _stream(found: Services, decision_id: str) -> tuple[list[StoredEvent], DecisionState]:
    """The decision's stored events and the state they make; NotFound when it has none."""
    stored = await found.store.stream(decision_id)
    state = replay(domain_event(e) for e in stored)
    if state is None:
        raise NotFound(f"there is no decision {decision_id}")
    return stored, state


async def _state(found: Services, decision_id: str) -> DecisionState:
    """The decision as its stored events make it; NotFound when it has none."""
    return (await _stream(found, decision_id))[1]


def _ordered(rounds: Sequence[ConsensusRound]) -> list[ConsensusRound]:
    """Open rounds first, then the latest."""
    return sorted(rounds, key=lambda r: (not r.is_open, -r.number))


async def _given(
    request: Request,
    found: Services,
    visit: Visitor,
    speech: Speech,
    given: tuple[str, str, bool],
    back: str,
    title: str,
) -> HTMLResponse:
    """Give the command a page's form stands for (`given`: the decision, the action, and
    whether it is the chair's): a delegation's own answers on its decision's page, the chair's
    commands on the board; its receipt, or a page saying what was wrong."""
    _ = speech
    decision_id, action, chairs = given
    form = await request.form()
    checked(visit, str(form.get("csrf", "")))
    forms = _CHAIR if chairs else _ANSWERS
    if action not in forms:
        raise NotFound(f"there is no action {action} here")
    model, names = forms[action]
    actor, recorded_by = acting(visit.caller, None, chairs=chairs, kind=action)
    if not chairs and visit.caller.role is not Role.MEMBER:
        raise Forbidden("a delegation answers in its own name, with its own token")
    envelope = {"decision_id": decision_id, "actor": actor, "recorded_by": recorded_by}
    try:
        fields = {name: _form_value(name, str(form.get(name, ""))) for name in names}
        command = model.model_validate(
            envelope | {name: value for name, value in fields.items() if value is not None}
        )
    except (ValidationError, ValueError) as invalid:
        return problem(
            speech,
            _("Not sent"),
            _invalid_message(invalid),
            _("Go back, correct it and send it again; nothing was recorded."),
            422,
            back=back,
            **visit.context(),
        )
    with resend_by_key(None):  # a form carries no key: a late command is looked for first
        if isinstance(command, cmd.SupersedeDecision):
            receipt = (await found.commands.supersede(command, None, "api")).superseded
        else:
            receipt = await found.commands.execute(command, None, "api")
    return _receipt_page(speech, receipt, visit, back, title)


def _receipt_page(
    speech: Speech, receipt: Receipt, visit: Visitor, back: str, title: str
) -> HTMLResponse:
    document = receipt.model_dump(mode="json")
    return page(
        speech,
        "receipt.html",
        201,
        title=title,
        receipt=receipt,
        rows=list(zip(receipt.event_types, receipt.event_ids, receipt.hashes, strict=True)),
        document=orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(),
        back=back,
        **visit.context(),
    )


def _invalid_message(invalid: ValidationError | ValueError) -> str:
    if isinstance(invalid, ValidationError):
        error = invalid.errors()[0]
        field = ".".join(str(part) for part in error["loc"])
        return f"{field}: {error['msg']}"
    return str(invalid)


def _forms(given_by: Giver) -> dict[str, tuple[type[cmd.AnyCommand], tuple[str, ...]]]:
    return {
        declared.form.action: (cmd.COMMAND_CLASSES[declared.kind], declared.form.fields)
        for declared in DECLARED
        if declared.form is not None and declared.given_by is given_by
    }


_ANSWERS: Final = _forms(Giver.MEMBER)
"""Each answer a decision's page gives by its form: its command and the fields it takes."""
_CHAIR: Final = _forms(Giver.CHAIR)
"""Each of the chair's commands the board gives by its form, and the fields it takes."""


def _form_value(name: str, value: str) -> object:
    """A board form's field as its command takes it: None when left empty (the command's
    default then applies); a `datetime-local` deadline as UTC; the plan's items, one per line
    as `id | description | member code, or "all" | due date (optional)`."""
    value = value.strip()
    if not value:
        return None
    if name.endswith("deadline") and len(value) == 16:
        return f"{value}:00Z"
    if name == "action_items":
        return [_action_item(line) for line in value.splitlines() if line.strip()]
    return value


def _action_item(line: str) -> dict[str, object]:
    parts = [part.strip() for part in line.split("|")]
    if len(parts) not in (3, 4):
        raise ValueError(f"action item {line!r}: write `id | description | member or all | due`")
    who = parts[2]
    assignee = {"kind": "all_members"} if who.lower() == "all" else {"kind": "member", "code": who}
    item: dict[str, object] = {"item_id": parts[0], "description": parts[1], "assignee": assignee}
    if len(parts) == 4 and parts[3]:
        item["due"] = f"{parts[3]}T00:00:00Z" if len(parts[3]) == 10 else parts[3]
    return item


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
    if isinstance(error, RateLimited):
        return problem(
            speech,
            _("Too many requests"),
            error.message,
            _("Wait a few seconds, then go back and try again."),
            429,
            back=back,
        )
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
