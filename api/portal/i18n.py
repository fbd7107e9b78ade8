"""The portal in the Council's working languages: English, French and Russian.

The language is the one chosen with the switch (`/portal/language/<code>`, kept in a cookie),
else the best of the browser's `Accept-Language`, else English. Catalogues are Babel's `.po`
files under `locales/`, read when first needed (nothing to compile); decision texts are shown
as written."""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from pydantic import TypeAdapter

LOCALES: Final = Path(__file__).parent / "locales"
LANGUAGES: Final = {"en": "English", "fr": "Français", "ru": "Русский"}
"""Each language's code and its name, as its speakers write it."""
COOKIE: Final = "concord_lang"
_SPAN: Final = TypeAdapter(timedelta)


def N_(message: str) -> str:
    """Marks a message for the catalogues without translating it here."""
    return message


STATUSES: Final = {
    "proposed": N_("proposed"),
    "in_review": N_("in review"),
    "under_consensus": N_("under consensus"),
    "adopted": N_("adopted"),
    "in_implementation": N_("in implementation"),
    "completed": N_("completed"),
    "withdrawn": N_("withdrawn"),
    "lapsed": N_("lapsed"),
    "superseded": N_("superseded"),
    "suspended": N_("suspended"),
    # A sitting's, for the refusals of its record.
    "convened": N_("convened"),
    "recorded": N_("recorded"),
}
ROLES: Final = {"member": N_("member"), "operator": N_("operator"), "auditor": N_("auditor")}
OUTCOMES: Final = {
    "adopted_by_silence": N_("adopted by silence"),
    "adopted_by_unanimous_concurrence": N_("adopted by every member's concurrence"),
    "failed": N_("failed"),
    "cancelled": N_("cancelled"),
}
"""A closed round's outcome, as a page says it."""
EVENTS: Final = {
    "ProposalSubmitted": N_("proposal submitted"),
    "ReferredToPreparatoryCommittee": N_("referred to the Preparatory Committee"),
    "ProposalAmended": N_("proposal amended"),
    "ReviewCompleted": N_("review completed"),
    "ReturnedToProposer": N_("returned to the proposer"),
    "ReviewDeadlineMissed": N_("review deadline missed"),
    "ConsensusRoundOpened": N_("round opened"),
    "ConcurrenceRecorded": N_("concurrence"),
    "SilenceBroken": N_("objection (silence broken)"),
    "ObjectionWithdrawn": N_("objection withdrawn"),
    "ConcernRegistered": N_("concern registered"),
    "DeadlineExtended": N_("deadline extended"),
    "RemindersSent": N_("reminders sent"),
    "ConsensusReached": N_("consensus reached"),
    "ConsensusFailed": N_("consensus failed"),
    "DecisionAdopted": N_("decision adopted"),
    "DecisionLapsed": N_("decision lapsed"),
    "ImplementationPlanned": N_("implementation planned"),
    "ProgressReported": N_("progress reported"),
    "ActionItemCompleted": N_("action item completed"),
    "ReportDeadlineMissed": N_("report deadline missed"),
    "ImplementationIssueRaised": N_("implementation issue raised"),
    "IssueResolutionProposed": N_("resolution of an issue proposed"),
    "ImplementationIssueResolved": N_("implementation issue resolved"),
    "ExtraordinaryMeetingRequested": N_("extraordinary meeting requested"),
    "DecisionCompleted": N_("decision completed"),
    "DecisionWithdrawn": N_("decision withdrawn"),
    "DecisionSuperseded": N_("decision superseded"),
    "DecisionSupersedes": N_("supersedes an earlier decision"),
    "DecisionSuspended": N_("decision suspended"),
    "DecisionResumed": N_("decision resumed"),
    "AgendaItemScheduled": N_("put on a sitting's agenda"),
}
"""Each event of a decision's log, as a page names it (its type stays in the page for auditors)."""
RULES: Final = {
    "no_such_decision": N_("There is no such decision."),
    "decision_exists": N_("A decision with this id already exists."),
    "not_on_roster": N_("Not a member of the roster in force."),
    "council_change": N_("The council cannot be changed this way."),
    "already_on_agenda": N_("The decision is already on that sitting's agenda."),
    "not_on_round_roster": N_("Not among the members this round was opened to."),
    "wrong_role": N_("Not the role that gives this command."),
    "acting_for_another": N_("A delegation acts in its own name only."),
    "wrong_state": N_("The decision is not in a state that takes this command."),
    "deadline_passed": N_("The deadline has passed."),
    "deadline_not_reached": N_("The deadline has not been reached yet."),
    "deadline_not_later": N_("A new deadline must be later than the one it replaces."),
    "deadline_in_past": N_("The deadline lies in the past."),
    "silence_too_short": N_("The silence procedure would be shorter than the council's minimum."),
    "reasons_required": N_("Breaking silence needs its reasons."),
    "stale_text": N_("The text has changed since it was read: read it again."),
    "text_unchanged": N_("The text is the same as before."),
    "text_already_failed": N_("This text already failed to reach consensus."),
    "review_not_forwarded": N_("The review did not forward the proposal."),
    "already_concurred": N_("This delegation has already concurred in this round."),
    "already_objecting": N_("This delegation stands objecting: withdraw the objection first."),
    "not_objecting": N_("This delegation has no objection standing in this round."),
    "no_open_round": N_("No round is open."),
    "round_open": N_("A round is still open."),
    "no_such_round": N_("There is no such round."),
    "no_standing_objection": N_("No objection stands in this round."),
    "chair_cannot_block": N_("The chair convenes and records; it cannot break silence."),
    "not_proposer": N_("Only the proposer may do this."),
    "no_such_item": N_("There is no such action item."),
    "item_not_assigned": N_("This action item is not assigned to this delegation."),
    "item_completed": N_("This action item is already completed."),
    "joint_item": N_("A joint action item is completed by its monitoring body."),
    "items_outstanding": N_("Action items are still outstanding."),
    "no_such_issue": N_("There is no such implementation issue."),
    "issue_resolved": N_("This implementation issue is already resolved."),
    "issues_open": N_("Implementation issues are still open."),
    "already_reminded": N_("Reminders were already sent."),
    "nothing_to_remind": N_("No one is left to remind."),
    "report_received": N_("The report back was already received."),
    "already_flagged": N_("This missed deadline was already flagged."),
    "self_supersession": N_("A decision cannot supersede itself."),
    "successor_not_adopted": N_("The later decision has not been adopted."),
    "supersession_cycle": N_("The supersession would go round in a circle."),
    "already_supersedes": N_("The decision already records this supersession."),
    "not_suspended": N_("The decision is not suspended."),
    "webhook_limit": N_("The limit of webhooks is reached."),
    "key_registered": N_("This key was registered before: a key is registered once."),
    "bad_signature": N_("The signature is not the delegation's key's over this answer."),
    "no_key": N_("The delegation has no key in force."),
    "signature_required": N_("The council requires this answer signed by the delegation's key."),
}
"""What each rule of the procedure says, as a refusal page words it in the page's language (the
refusal's particulars follow it)."""
PARTICULARS: Final[dict[str, str | tuple[str, ...]]] = {
    "no_such_decision": N_("Decision %(decision)s does not exist."),
    "decision_exists": N_("Decision %(decision)s already exists."),
    "not_on_roster": (
        N_("%(member)s is not on the roster that applies here."),
        N_("%(body)s has no members on roster version %(version)s."),
    ),
    "council_change": (
        N_("The council %(council)s cannot take this change."),
        N_("The key registry changed while a key of %(member)s was being recorded: try again."),
    ),
    "already_on_agenda": N_("The decision is already on the agenda of sitting %(meeting)s."),
    "not_on_round_roster": N_("%(member)s is not among the members of round %(round)s."),
    "wrong_role": N_("%(actor)s may not give this command."),
    "acting_for_another": N_("%(member)s acts only in its own name, not as %(actor)s."),
    "wrong_state": N_("It is %(status)s now."),
    "deadline_passed": N_("The deadline of round %(round)s has passed."),
    "deadline_not_reached": N_("As of %(now)s, it is not due yet."),
    "deadline_not_later": N_("The new deadline, %(deadline)s, is not later than %(previous)s."),
    "deadline_in_past": N_("The deadline, %(deadline)s, is not later than now (%(now)s)."),
    "silence_too_short": N_("A silence procedure of %(body)s lasts at least %(minimum)s."),
    "reasons_required": N_("%(actor)s gave no reasons."),
    "stale_text": N_("Round %(round)s is on another text than the one answered."),
    "text_unchanged": N_("The text is identical to revision %(revision)s."),
    "text_already_failed": N_("Revision %(revision)s already failed to reach consensus."),
    "review_not_forwarded": N_("Revision %(revision)s has not been forwarded from review."),
    "already_concurred": N_("%(member)s has already concurred in round %(round)s."),
    "already_objecting": N_("%(member)s stands objecting in round %(round)s."),
    "not_objecting": N_("%(member)s has no objection standing in round %(round)s."),
    "no_open_round": N_("Round %(round)s is closed."),
    "round_open": N_("Implementation issue %(issue)s already has round %(round)s open."),
    "no_such_round": N_("Decision %(decision)s has no round %(round)s."),
    "no_standing_objection": N_(
        "No objection stands in round %(round)s; it closes by silence on %(deadline)s."
    ),
    "chair_cannot_block": N_("The chair cannot break silence in round %(round)s."),
    "not_proposer": N_("%(proposer)s proposed this decision, not %(actor)s."),
    "no_such_item": N_("The plan has no action item %(item)s."),
    "item_not_assigned": N_("Action item %(item)s is not assigned to %(actor)s."),
    "item_completed": N_("Action item %(item)s is already completed."),
    "joint_item": N_("Action item %(item)s is completed by the chair or %(body)s."),
    "items_outstanding": N_("These action items are still outstanding: %(items)s."),
    "no_such_issue": N_("Decision %(decision)s has no implementation issue %(issue)s."),
    "issue_resolved": N_("Implementation issue %(issue)s is already resolved."),
    "issues_open": N_("These implementation issues are still open: %(issues)s."),
    "already_reminded": N_("Reminders of the deadline of %(deadline)s were already sent."),
    "nothing_to_remind": N_("Decision %(decision)s awaits no answer or report to remind of."),
    "report_received": N_("The report back was received on %(received)s."),
    "already_flagged": N_("The missed deadline of %(deadline)s was already flagged."),
    "self_supersession": N_("Decision %(decision)s cannot supersede itself."),
    "successor_not_adopted": N_("Decision %(decision)s is %(status)s: it has not been adopted."),
    "supersession_cycle": N_("Decision %(decision)s is itself superseded by %(successor)s."),
    "already_supersedes": N_(
        "Decision %(decision)s already records that it supersedes %(superseded)s."
    ),
    "not_suspended": N_("Decision %(decision)s is %(status)s, not suspended."),
    "webhook_limit": N_("%(principal)s already has the most webhooks allowed: %(count)s."),
    "key_registered": N_("Key %(key)s was registered before, for %(member)s."),
    "bad_signature": N_("A signature given for %(member)s does not verify."),
    "no_key": N_("%(member)s has no key in force."),
    "signature_required": N_("The council requires %(member)s to sign this answer with its key."),
}
"""A refusal's particulars in the page's language, from the parameters the refusal carries: for
every rule, a wording, or several where its refusals carry different particulars (the first whose
every name the refusal carries is used)."""


def wordings(code: str) -> tuple[str, ...]:
    """The wordings of rule `code`'s particulars, in the order they are tried (none for a code
    that is no rule's)."""
    found = PARTICULARS.get(code, ())
    return (found,) if isinstance(found, str) else found


_UNITS: Final = (("day", 86_400), ("hour", 3_600), ("minute", 60), ("second", 1))
"""The units a span of time is said in, largest first, with their seconds."""
INSTANTS: Final = frozenset({"deadline", "previous", "now", "received"})
"""The particulars that are instants (ISO 8601): a page says them as its language says a date."""
SPANS: Final = frozenset({"minimum"})
"""The particulars that are spans of time (ISO 8601, as a council file writes them)."""


@cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language` (English: the messages as written)."""
    if language == "en" or language not in LANGUAGES:
        return gettext.NullTranslations()
    with (LOCALES / f"{language}.po").open("rb") as source:
        catalog = read_po(source, locale=language)
    compiled = BytesIO()
    write_mo(compiled, catalog)
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


def chosen(kept: str | None, accept_language: str | None) -> str:
    """The page's language: the one chosen with the switch, else the browser's best, else
    English."""
    if kept in LANGUAGES:
        return kept
    ranked: list[tuple[float, str]] = []
    for part in (accept_language or "").split(","):
        tag, _, weight = part.strip().partition(";q=")
        try:
            quality = float(weight) if weight else 1.0
        except ValueError:
            continue
        primary = tag.split("-")[0].strip().lower()
        if primary in LANGUAGES and quality > 0:
            ranked.append((quality, primary))
    return max(ranked, key=lambda pair: pair[0])[1] if ranked else "en"


class Words:
    """What a page says in one language: messages, statuses, instants, time left."""

    def __init__(self, language: str) -> None:
        self.language = language
        self.gettext = translations(language).gettext
        self.ngettext = translations(language).ngettext

    def __call__(self, message: str, **values: object) -> str:
        """A message in this language, its `%(name)s` places filled with `values`."""
        translated = self.gettext(message)
        return translated % values if values else translated

    def status(self, value: str) -> str:
        return self.gettext(STATUSES.get(value, value))

    def role(self, value: str) -> str:
        return self.gettext(ROLES.get(value, value))

    def outcome(self, value: str) -> str:
        return self.gettext(OUTCOMES.get(value, value))

    def event(self, value: str) -> str:
        return self.gettext(EVENTS.get(value, value))

    def rule(self, code: str) -> str | None:
        """What the rule `code` says, in this language; None for a code without a wording."""
        return self.gettext(RULES[code]) if code in RULES else None

    def particulars(self, code: str, params: Mapping[str, str]) -> str | None:
        """A refusal's particulars in this language, from its parameters; None when its rule
        has no such wording, or the refusal lacks a parameter the wording names."""
        worded = {name: self._particular(name, value) for name, value in params.items()}
        for wording in wordings(code):
            try:
                return self.gettext(wording) % worded
            except KeyError:
                continue
        return None

    def _particular(self, name: str, value: str) -> str:
        """One particular as this language says it: a state by its name, an instant as a date,
        a span in its largest whole unit; any other (or one that does not parse) as given."""
        if name == "status":
            return self.status(value)
        try:
            if name in INSTANTS:
                return self.when(datetime.fromisoformat(value).astimezone(UTC))
            if name in SPANS:
                return self.span(_SPAN.validate_python(value))
        except ValueError:
            pass
        return value

    def subject(self, subject: str) -> str:
        """A round's subject: the decision, or one of its implementation issues."""
        _ = self.gettext
        if subject == "the decision":
            return _("the decision")
        return _("implementation issue %(number)s") % {"number": subject.rpartition(" ")[2]}

    def when(self, instant: datetime) -> str:
        return format_datetime(instant, "d MMMM y, HH:mm 'UTC'", locale=self.language)

    def span(self, span: timedelta) -> str:
        """A span in its largest whole unit, as a person says it: `1 day`, `36 hours`."""
        seconds = span.total_seconds()
        for unit, size in _UNITS:
            if seconds >= size and seconds % size == 0:
                return self.count(int(seconds // size), unit)
        return self.gettext("%(n)s s") % {"n": format_decimal(seconds, locale=self.language)}

    def count(self, n: int, unit: str) -> str:
        """`n` of a unit of time (one of _UNITS), as this language says it."""
        ngettext = self.ngettext
        match unit:
            case "day":
                said = ngettext("%(n)s day", "%(n)s days", n)
            case "hour":
                said = ngettext("%(n)s hour", "%(n)s hours", n)
            case "minute":
                said = ngettext("%(n)s minute", "%(n)s minutes", n)
            case _:
                said = ngettext("%(n)s second", "%(n)s seconds", n)
        return said % {"n": n}

    def left(self, deadline: datetime, now: datetime) -> str:
        """Time left before a deadline, as a person says it."""
        _ = self.gettext
        seconds = int((deadline - now).total_seconds())
        if seconds <= 0:
            return _("the deadline has passed")
        said = []
        for unit, size in _UNITS[:-1]:  # to the minute
            n, seconds = divmod(seconds, size)
            if n:
                said.append(self.count(n, unit))
        said = said[:2]
        if not said:
            return _("ends in less than a minute")
        return _("ends in %(time)s") % {"time": " ".join(said)}
