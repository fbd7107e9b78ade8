"""The portal's pages: sign-in, what a delegation has to answer, a decision with the controls
to answer its round, the receipt of each answer, and pages that say what went wrong.

Each answer goes through `runtime.commands.Commands` as the API's do: the same principal from
the same token, the same rules, every refusal kept in the refusals log. Forms carry the
session's CSRF token; a post without it is refused and changes nothing."""

from __future__ import annotations

import asyncio
import hmac
from collections.abc import AsyncIterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

import orjson
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape
from pydantic import ValidationError

from api.portal.sessions import COOKIE, Session
from api.principals import Caller, Role, acting
from api.services import Services, services
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

HERE: Final = Path(__file__).parent
BOARD_INTERVAL_S: Final = 0.5
STATIC: Final = HERE / "static"
templates = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
Found = Annotated[Services, Depends(services)]


def left(deadline: datetime) -> str:
    """Time left before a deadline, as a person says it."""
    seconds = int((deadline - datetime.now(UTC)).total_seconds())
    if seconds <= 0:
        return "the deadline has passed"
    days, rest = divmod(seconds, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes = rest // 60
    parts = [(days, "day"), (hours, "hour"), (minutes, "minute")]
    said = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n][:2]
    return "ends in " + (" ".join(said) if said else "less than a minute")


templates.globals["left"] = left


def page(name: str, status: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(templates.get_template(name).render(**context), status_code=status)


def problem(
    title: str, message: str, advice: str, status: int, back: str = "/portal", **more: Any
) -> HTMLResponse:
    return page(
        "problem.html", status, title=title, message=message, advice=advice, back=back, **more
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

    @routes.get("/sign-in")
    async def sign_in_page() -> HTMLResponse:
        return page("sign_in.html", title="Sign in")

    @routes.post("/sign-in")
    async def sign_in(
        request: Request, found: Found, token: Annotated[str, Form(max_length=200)] = ""
    ) -> Response:
        try:
            await found.tokens.caller(token.strip())
        except Unauthenticated:
            return page(
                "sign_in.html",
                401,
                title="Sign in",
                problem="That access token is not valid: it is unknown, revoked or expired.",
            )
        cookie, _ = found.sessions.open(token.strip())
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
    async def home(visit: SignedIn, found: Found) -> HTMLResponse:
        caller = visit.caller
        pending = (
            await pending_for_member(found.store, caller.name)
            if caller.role is Role.MEMBER
            else None
        )
        decisions = await list_decisions(found.store, limit=200)
        return page(
            "home.html",
            title="Your delegation" if pending is not None else "Decisions",
            pending=pending,
            decisions=decisions,
            **visit.context(),
        )

    @routes.get("/decisions/{decision_id}")
    async def decision(decision_id: str, visit: SignedIn, found: Found) -> HTMLResponse:
        state = await _state(found, decision_id)
        member = visit.caller.name if visit.caller.role is Role.MEMBER else None
        return page(
            "decision.html",
            title=state.title,
            state=state,
            rounds=_ordered(state.rounds),
            member=member,
            **visit.context(),
        )

    @routes.get("/board/{decision_id}")
    async def board(decision_id: str, visit: SignedIn, found: Found) -> HTMLResponse:
        may_watch(visit.caller)
        state = await _state(found, decision_id)
        return page(
            "board.html",
            title=f"Board: {state.title}",
            state=state,
            rounds=_ordered(state.rounds),
            **visit.context(),
        )

    @routes.get("/board/{decision_id}/stream")
    async def board_stream(
        decision_id: str, request: Request, visit: SignedIn, found: Found
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
                        state=state, rounds=_ordered(state.rounds)
                    )
                    yield (
                        "event: grid\n"
                        + "".join(f"data: {line}\n" for line in html.splitlines())
                        + "\n"
                    )
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
        csrf: Annotated[str, Form()] = "",
        round: Annotated[int, Form(ge=1)] = 1,
        text_hash: Annotated[str, Form(max_length=100)] = "",
        reasons: Annotated[str, Form(max_length=20_000)] = "",
        statement: Annotated[str, Form(max_length=20_000)] = "",
    ) -> HTMLResponse:
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
        }
        try:
            command = _command(action, envelope, fields)
        except ValidationError as invalid:
            error = invalid.errors()[0]
            field = ".".join(str(part) for part in error["loc"]) or action
            return problem(
                "Not sent",
                f"{field}: {error['msg']}",
                "Go back, correct it and send it again; nothing was recorded.",
                422,
                back=f"/portal/decisions/{decision_id}",
                **visit.context(),
            )
        receipt = await found.commands.execute(command, None, "api")
        document = receipt.model_dump(mode="json")
        return page(
            "receipt.html",
            201,
            title="Your answer is recorded",
            receipt=receipt,
            rows=list(zip(receipt.event_types, receipt.event_ids, receipt.hashes, strict=True)),
            document=orjson.dumps(document, option=orjson.OPT_INDENT_2).decode(),
            **visit.context(),
        )

    return routes


Answer = cmd.Concur | cmd.BreakSilence | cmd.WithdrawObjection | cmd.RegisterConcern


async def _state(found: Services, decision_id: str) -> DecisionState:
    """The decision as its stored events make it; NotFound when it has none."""
    state = replay(domain_event(e) for e in await found.store.stream(decision_id))
    if state is None:
        raise NotFound(f"there is no decision {decision_id}")
    return state


def _ordered(rounds: Sequence[ConsensusRound]) -> list[ConsensusRound]:
    """Open rounds first, then the latest."""
    return sorted(rounds, key=lambda r: (not r.is_open, -r.number))


def may_watch(caller: Caller) -> None:
    if caller.role is Role.MEMBER:
        raise Forbidden("the board is the secretariat's: a delegation sees its own page")


_FORMS: Final[dict[str, tuple[type[Answer], tuple[str, ...]]]] = {
    "concur": (cmd.Concur, ("round", "text_hash")),
    "object": (cmd.BreakSilence, ("round", "text_hash", "reasons")),
    "withdraw": (cmd.WithdrawObjection, ("round",)),
    "concern": (cmd.RegisterConcern, ("round", "statement")),
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
    back = request.headers.get("referer") or "/portal"
    if isinstance(error, Refusal):
        return problem(
            "Refused by the procedure",
            error.message,
            "The rule named below decided; nothing was recorded but the refusal itself.",
            409,
            back=back,
            code=error.code,
        )
    if isinstance(error, Forbidden):
        return problem(
            "Not yours to do",
            error.message,
            "Sign in with the token of whoever may do this.",
            403,
            back=back,
        )
    if isinstance(error, NotFound):
        return problem("Not found", error.message, "Check the address.", 404, back=back)
    if isinstance(error, InvalidInput):
        return problem(
            "Not sent",
            error.message,
            "Go back, correct it and send it again; nothing was recorded.",
            422,
            back=back,
        )
    return problem(
        "Something went wrong",
        error.message,
        "Try again in a moment; if it persists, tell your secretariat.",
        503,
        back=back,
    )
