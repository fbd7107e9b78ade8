"""What the portal's pages share: the templates and the page's language, the signed-in visitor
and the CSRF check of its forms, a decision read from the log, and the pages that say what went
wrong, in English, French or Russian. The pages themselves are by who reads them:
`api.portal.entry` (signing in and out, the language), `api.portal.delegation` (what a
delegation has to answer, a decision and its answers), `api.portal.board` (the secretariat's live
board and the chair's commands), `api.portal.auditing` (a decision's audit, the whole log
verified); `api.portal.routes` puts them together.

Each answer goes through `runtime.commands.Commands` as the API's do: the same principal from
the same token, the same rules, every refusal kept in the refusals log. Forms carry the
session's CSRF token; a post without it is refused and changes nothing."""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any, Final

from fastapi import Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from jinja2 import Environment, FileSystemLoader, select_autoescape

from api.errors import RateLimited
from api.portal import i18n
from api.portal.sessions import COOKIE
from api.principals import Caller, Role
from api.services import Services, services
from domain.council import KEYS_STREAM
from domain.errors import (
    ConcordError,
    Forbidden,
    InvalidInput,
    NotFound,
    Refusal,
    Unauthenticated,
)
from domain.evolve import replay
from domain.keys import KeyRegistry
from domain.state import ConsensusRound, DecisionState
from domain.transcript import Transcript, transcript
from store.council_events import registry_of
from store.decision_events import domain_event
from store.records import StoredEvent
from store.sessions import PortalSession

HERE: Final = Path(__file__).parent
STATIC: Final = HERE / "static"
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
            "outcome": self.outcome,
            "event_name": self.event,
            "rule_said": self.rule,
            "subject": self.subject,
            "when": self.when,
            "left": lambda deadline: self.left(deadline, now),
            "instant": instant,
            "tag_colour": lambda state: STATE_TAGS.get(state, "grey"),
        }


STATE_TAGS: Final = {
    "proposed": "grey",
    "in_review": "purple",
    "under_consensus": "yellow",
    "adopted": "green",
    "in_implementation": "turquoise",
    "completed": "teal",
    "withdrawn": "grey",
    "lapsed": "red",
    "superseded": "magenta",
    "suspended": "orange",
}
"""The colour of each state's tag (GOV.UK Frontend's `govuk-tag--<colour>`); its words say it."""


def instant(value: datetime | str | None) -> datetime | None:
    """An instant a read model holds, as a datetime: the lists keep some as ISO 8601 text."""
    if value is None or isinstance(value, datetime):
        return value
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


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
    visit = Visitor(caller, read[0])
    request.state.visitor = visit  # a page saying what went wrong still shows who is signed in
    return visit


SignedIn = Annotated[Visitor, Depends(visitor)]


class StaleForm(Forbidden):
    """A form that does not carry the session's CSRF token: sent from another site, or from a
    page of a session that has since ended."""


def checked(visit: Visitor, csrf: str) -> None:
    """Refuse a form that does not carry the session's CSRF token."""
    if not hmac.compare_digest(csrf.encode(), visit.session.csrf.encode()):
        raise StaleForm(i18n.N_("this form did not come from your session's page: open it again"))


async def decision_stream(
    found: Services, decision_id: str
) -> tuple[list[StoredEvent], DecisionState]:
    """The decision's stored events and the state they make; NotFound when it has none."""
    stored = await found.store.stream(decision_id)
    state = replay(domain_event(e) for e in stored)
    if state is None:
        raise NotFound(f"there is no decision {decision_id}")
    return stored, state


async def key_registry(found: Services) -> KeyRegistry:
    """The council's key registry, as its stream makes it: read once for a page, which gives it
    to what needs it (a decision's record, a member's key in force)."""
    return registry_of(await found.store.stream(KEYS_STREAM))


def decision_record(stored: Sequence[StoredEvent], registry: KeyRegistry) -> Transcript:
    """Who gave each answer of the decision whose events are `stored`, and how: signed, or
    recorded on a member's behalf (each page that shows an answer marks the second)."""
    return transcript((domain_event(e) for e in stored), registry.flagged())


async def decision_state(found: Services, decision_id: str) -> DecisionState:
    """The decision as its stored events make it; NotFound when it has none."""
    return (await decision_stream(found, decision_id))[1]


def ordered(rounds: Sequence[ConsensusRound]) -> list[ConsensusRound]:
    """Open rounds first, then the latest."""
    return sorted(rounds, key=lambda r: (not r.is_open, -r.number))


def may_watch(caller: Caller) -> None:
    if caller.role is Role.MEMBER:
        raise Forbidden(i18n.N_("the board is the secretariat's: a delegation sees its own page"))


def problem_page(request: Request, error: ConcordError) -> Response:
    """What a portal page shows when something was refused or went wrong: never a trace."""
    if isinstance(error, Unauthenticated):
        return RedirectResponse("/portal/sign-in", status_code=303)
    speech = speech_of(request)
    _ = speech
    back = request.headers.get("referer") or "/portal"
    visit: Visitor | None = getattr(request.state, "visitor", None)
    signed_in = visit.context() if visit is not None else {}
    # The portal's own messages are in its catalogues; the procedure's are worded by their rule,
    # and their particulars from the parameters the refusal carries, where its rule has them.
    message = speech.gettext(error.message)
    if isinstance(error, Refusal):
        message = speech.particulars(error.code, error.params) or message
        return problem(
            speech,
            _("Refused by the procedure"),
            message,
            _("The rule named above decided; nothing was recorded but the refusal itself."),
            409,
            back=back,
            code=error.code,
            **signed_in,
        )
    if isinstance(error, StaleForm):
        return problem(
            speech,
            _("This form has expired"),
            message,
            _("Open the page again and send the form from there; nothing was recorded."),
            403,
            back=back,
            **signed_in,
        )
    if isinstance(error, Forbidden):
        return problem(
            speech,
            _("Not yours to do"),
            message,
            _("Sign in with the token of whoever may do this."),
            403,
            back=back,
            **signed_in,
        )
    if isinstance(error, NotFound):
        return problem(
            speech, _("Not found"), message, _("Check the address."), 404, back, **signed_in
        )
    if isinstance(error, RateLimited):
        return problem(
            speech,
            _("Too many requests"),
            message,
            _("Wait a few seconds, then go back and try again."),
            429,
            back=back,
            **signed_in,
        )
    if isinstance(error, InvalidInput):
        return problem(
            speech,
            _("Not sent"),
            message,
            _("Go back, correct it and send it again; nothing was recorded."),
            422,
            back=back,
            **signed_in,
        )
    return problem(
        speech,
        _("Something went wrong"),
        message,
        _("Try again in a moment; if it persists, tell your secretariat."),
        503,
        back=back,
        **signed_in,
    )
