"""The portal in the Council's working languages: English, French and Russian.

The language is the one chosen with the switch (`/portal/language/<code>`, kept in a cookie),
else the best of the browser's `Accept-Language`, else English. Catalogues are Babel's `.po`
files under `locales/`, read when first needed (nothing to compile); decision texts are shown
as written."""

from __future__ import annotations

import gettext
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
