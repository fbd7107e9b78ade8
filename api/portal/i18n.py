"""The portal in the Council's working languages: English, French and Russian.

The language is the one chosen with the switch (`/portal/language/<code>`, kept in a cookie),
else the best of the browser's `Accept-Language`, else English. Catalogues are Babel's `.po`
files under `locales/`, read when first needed (nothing to compile); decision texts are shown
as written."""

from __future__ import annotations

import gettext
from collections.abc import Mapping
from datetime import datetime
from functools import cache
from io import BytesIO
from pathlib import Path
from typing import Final

from babel.dates import format_datetime
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES: Final = Path(__file__).parent / "locales"
LANGUAGES: Final = {"en": "English", "fr": "Français", "ru": "Русский"}
"""Each language's code and its name, as its speakers write it."""
COOKIE: Final = "concord_lang"


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
refusal's own message, in English, follows it with the particulars)."""
PARTICULARS: Final = {
    "already_concurred": N_("%(member)s has already concurred in round %(round)s."),
    "already_objecting": N_("%(member)s stands objecting in round %(round)s."),
    "not_objecting": N_("%(member)s has no objection standing in round %(round)s."),
    "not_on_round_roster": N_("%(member)s is not among the members of round %(round)s."),
    "no_open_round": N_("Round %(round)s is closed."),
    "deadline_passed": N_("The deadline of round %(round)s has passed."),
    "stale_text": N_("Round %(round)s is on another text than the one answered."),
    "wrong_state": N_("The decision is %(status)s now."),
    "not_on_roster": N_("%(member)s is not on roster version %(version)s."),
    "item_completed": N_("Action item %(item)s is already completed."),
    "issue_resolved": N_("Implementation issue %(issue)s is already resolved."),
}
"""A refusal's particulars in the page's language, from the parameters the refusal carries (for
the rules whose refusals carry them; the others keep their English message)."""


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
        if code not in PARTICULARS:
            return None
        worded = dict(params)
        if "status" in worded:  # a state, as this language names it
            worded["status"] = self.status(worded["status"])
        try:
            return self.gettext(PARTICULARS[code]) % worded
        except KeyError:
            return None

    def subject(self, subject: str) -> str:
        """A round's subject: the decision, or one of its implementation issues."""
        _ = self.gettext
        if subject == "the decision":
            return _("the decision")
        return _("implementation issue %(number)s") % {"number": subject.rpartition(" ")[2]}

    def when(self, instant: datetime) -> str:
        return format_datetime(instant, "d MMMM y, HH:mm 'UTC'", locale=self.language)

    def left(self, deadline: datetime, now: datetime) -> str:
        """Time left before a deadline, as a person says it."""
        _, ngettext = self.gettext, self.ngettext
        seconds = int((deadline - now).total_seconds())
        if seconds <= 0:
            return _("the deadline has passed")
        days, rest = divmod(seconds, 86_400)
        hours, rest = divmod(rest, 3_600)
        minutes = rest // 60
        units = (
            (days, ngettext("%(n)s day", "%(n)s days", days)),
            (hours, ngettext("%(n)s hour", "%(n)s hours", hours)),
            (minutes, ngettext("%(n)s minute", "%(n)s minutes", minutes)),
        )
        said = [unit % {"n": n} for n, unit in units if n][:2]
        if not said:
            return _("ends in less than a minute")
        return _("ends in %(time)s") % {"time": " ".join(said)}
