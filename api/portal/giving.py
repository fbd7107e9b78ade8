"""A command given by a portal form: a delegation's answer from its decision's page, or one of
the chair's commands from the board. Each goes through `runtime.commands.Commands` as the API's
do: the same principal from the same token, the same rules, every refusal kept in the refusals
log; its receipt is a page, or a page says what was wrong."""

from __future__ import annotations

from typing import Final

import orjson
from fastapi import Request
from fastapi.responses import HTMLResponse
from pydantic import ValidationError

from api.commands import resend_by_key
from api.portal.i18n import N_
from api.portal.pages import Speech, Visitor, checked, page, problem
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
