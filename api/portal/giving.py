"""A command given by a portal form: a delegation's answer, shown back to it on a confirmation
page first and given from there, or one of the chair's commands from the board. Each goes
through `runtime.commands.Commands` as the API's do: the same principal from the same token, the
same rules, every refusal kept in the refusals log; its receipt is a page, or a page says what
was wrong."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Final

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError
from starlette.datastructures import FormData

from api.commands import resend_by_key
from api.portal.i18n import N_
from api.portal.pages import (
    Speech,
    Visitor,
    checked,
    decision_state,
    key_registry,
    page,
    problem,
)
from api.principals import Role, acting
from api.services import Services
from domain import commands as cmd
from domain.declarations import DECLARED, Giver
from domain.errors import Forbidden, NotFound
from workflows.messages import Receipt


async def give(
    request: Request,
    found: Services,
    visit: Visitor,
    speech: Speech,
    given: tuple[str, str, bool],
    back: str,
    title: str,
) -> HTMLResponse:
    """Give the command a page's form stands for (`given`: the decision, the action, and
    whether it is the chair's): a delegation's own answers from their confirmation page, the
    chair's commands from the board; its receipt, or a page saying what was wrong."""
    form = await request.form()
    command = _command(form, visit, speech, given)
    if isinstance(command, HTMLResponse):
        return command
    with resend_by_key(None):  # a form carries no key: a late command is looked for first
        if isinstance(command, cmd.SupersedeDecision):
            receipt = (await found.commands.supersede(command, None, "api")).superseded
        else:
            receipt = await found.commands.execute(command, None, "api")
    return _receipt_page(speech, receipt, visit, back, title)


async def confirmation(
    request: Request, found: Services, visit: Visitor, speech: Speech, given: tuple[str, str]
) -> HTMLResponse:
    """The page a delegation's answer goes through before it is given ("check your answer"):
    what will be recorded, on which decision and round, over which text, in whose name; its
    form, signed in the browser when a key is held there, gives it. Nothing is recorded here."""
    decision_id, action = given
    form = await request.form()
    command = _command(form, visit, speech, (decision_id, action, False))
    if isinstance(command, HTMLResponse):
        return command
    state = await decision_state(found, decision_id)
    _model, names = _ANSWERS[action]
    values = {name: str(form.get(name, "")).strip() for name in names}
    round_number = getattr(command, "round", None)
    text_hash = getattr(command, "text_hash", None)
    registry = await key_registry(found)
    current = registry.current(visit.caller.name)
    return page(
        speech,
        "confirm.html",
        title=speech(_CONFIRMING[action]),
        action=action,
        state=state,
        values=values,
        round=next((r for r in state.rounds if r.number == round_number), None),
        revision=next((r for r in state.revisions if r.text_hash == text_hash), None),
        member=visit.caller.name,
        origin=found.origin,
        key=current.key_id if current else None,
        signed_forms=SIGNED_FORMS,
        back=f"/portal/decisions/{decision_id}",
        **visit.context(),
    )


def _command(
    form: FormData, visit: Visitor, speech: Speech, given: tuple[str, str, bool]
) -> cmd.AnyCommand | HTMLResponse:
    """The command a form gives, checked as its command checks it; the page saying what was
    wrong when it is not one."""
    _ = speech
    decision_id, action, chairs = given
    checked(visit, str(form.get("csrf", "")))
    forms = _CHAIR if chairs else _ANSWERS
    if action not in forms:
        raise NotFound(f"there is no action {action} here")
    model, names = forms[action]
    actor, recorded_by = acting(visit.caller, None, chairs=chairs, kind=action)
    if not chairs and visit.caller.role is not Role.MEMBER:
        raise Forbidden(N_("a delegation answers in its own name, with its own token"))
    envelope: dict[str, object] = {
        "decision_id": decision_id,
        "actor": actor,
        "recorded_by": recorded_by,
    }
    signed = {name: str(form.get(f"signature_{name}", "")) for name in SIGNATURE_FIELDS}
    if not chairs and any(signed.values()):  # signed in the browser (static/sign.js)
        envelope["signature"] = signed
    try:
        fields = {name: _form_value(name, _entered(form, name)) for name in names}
        return model.model_validate(
            envelope | {name: value for name, value in fields.items() if value is not None}
        )
    except (ValidationError, ValueError) as invalid:
        return problem(
            speech,
            _("Not sent"),
            _invalid_message(invalid),
            _("Go back, correct it and send it again; nothing was recorded."),
            422,
            back=f"/portal/{'board' if chairs else 'decisions'}/{decision_id}",
            **visit.context(),
        )


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


SIGNATURE_FIELDS: Final = ("key_id", "claimed_at", "command_key", "signature")
"""An answer's signature, as a form carries it (`signature_<name>`)."""
SIGNED_FORMS: Final = {
    declared.form.action: (
        declared.kind,
        ",".join(
            f"{name}:int"
            if cmd.COMMAND_CLASSES[declared.kind].model_fields[name].annotation is int
            else name
            for name in declared.signed.fields
        ),
    )
    for declared in DECLARED
    if declared.form is not None
    and declared.signed is not None
    and set(declared.signed.fields) <= set(declared.form.fields)
}
"""Each answer form whose statement the browser can build from the form alone: the answer's
kind, and its signed fields as static/sign.js reads them (`name:int` for an integer). A form
that lacks a signed field (a meeting request, which does not name its level) is sent
unsigned."""
_ANSWERS: Final = _forms(Giver.MEMBER)
"""Each answer a decision's page gives by its form: its command and the fields it takes."""
_CONFIRMING: Final = {
    "concur": N_("Check your concurrence"),
    "object": N_("Check your objection"),
    "withdraw": N_("Check the withdrawal of your objection"),
    "concern": N_("Check your concern"),
    "progress": N_("Check your progress report"),
    "issue": N_("Check the issue you raise"),
    "meeting": N_("Check your request for a meeting"),
}
"""The title of each answer's confirmation page."""
_CHAIR: Final = _forms(Giver.CHAIR)
"""Each of the chair's commands the board gives by its form, and the fields it takes."""


def _entered(form: FormData, name: str) -> str:
    """A field as the form entered it; a moment (a deadline) entered as its day, month, year
    and UTC time of day in fields of their own, as ISO 8601 text (ValueError naming the field
    when they make no date)."""
    if f"{name}.year" not in form:
        return str(form.get(name, ""))
    parts = [str(form.get(f"{name}.{part}", "")).strip() for part in ("day", "month", "year")]
    time = str(form.get(f"{name}.time", "")).strip() or "00:00"
    if not any(parts):
        return ""
    try:
        day, month, year = (int(part) for part in parts)
        hour, minute = (int(unit) for unit in time.split(":")[:2])
        moment = datetime(year, month, day, hour, minute, tzinfo=UTC)
    except (ValueError, TypeError):
        shown = "/".join(parts) + f" {time}"
        raise ValueError(f"{name}: {shown!r} is not a day, month, year and time of day") from None
    return moment.isoformat().replace("+00:00", "Z")


def _form_value(name: str, value: str) -> object:
    """A form's field as its command takes it: None when left empty (the command's default
    then applies); the plan's items, one per line as `id | description | member code, or
    "all" | due date (optional)`."""
    value = value.strip()
    if not value:
        return None
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
