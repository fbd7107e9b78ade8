"""The commands the declarations give a command line (domain.declarations): each one's options
are its command's fields, each typed as the field is and named as cli.parsing.FLAGS names it;
the decision, on whose behalf, the idempotency key and --json are every command's."""

from __future__ import annotations

import inspect
from enum import Enum
from types import UnionType
from typing import Annotated, Any, Union, get_args, get_origin

import typer

from cli.parsing import FLAGS
from cli.sending import RoundOption, Signing, answer, send
from cli.session import ActorOption, Id, JsonOption, KeyOption, SignKeyOption, run
from domain.commands import COMMAND_CLASSES, COMMAND_ENVELOPE, AnyCommand
from domain.declarations import Declared

TextHashOption = Annotated[
    str | None,
    typer.Option("--text-hash", help="The text's hash (default: the round's current text)."),
]


class DeclaredCommand:
    """A declared command as typer runs it: a callable whose signature holds its options."""

    def __init__(self, declared: Declared) -> None:
        assert declared.cli is not None, f"{declared.kind} has no command line of its own"
        self.declared = declared
        self.model: type[AnyCommand] = COMMAND_CLASSES[declared.kind]
        self.__name__ = declared.cli.verb.replace("-", "_")
        self.__doc__ = f"{declared.cli.help}\n\nExample: {declared.cli.example}"
        self.__signature__ = inspect.Signature(self._parameters())
        self.__annotations__ = {
            p.name: p.annotation for p in self.__signature__.parameters.values()
        }

    def _parameters(self) -> list[inspect.Parameter]:
        assert self.declared.cli is not None
        said = self.declared.cli.fields
        keyword = inspect.Parameter.KEYWORD_ONLY
        given = [
            inspect.Parameter("decision_id", keyword, annotation=Id),
            inspect.Parameter("actor", keyword, annotation=ActorOption),
        ]
        for name, info in self.model.model_fields.items():
            if name in COMMAND_ENVELOPE or name == "signature":
                continue
            if name == "round" and self.declared.answers_round:
                annotation: Any = RoundOption
            elif name == "text_hash" and self.declared.bound_to_text:
                annotation = TextHashOption
            else:
                typed = _option_type(name, info.annotation)
                flag = FLAGS.get(name, "--" + name.replace("_", "-"))
                required = info.is_required()
                # A required option has no default (`...`); an optional one is left out of the
                # command unless given, so that the command's own default applies.
                option = typer.Option(... if required else None, flag, help=said.get(name, ""))
                typed_here = typed if required else typed | None
                given.append(
                    inspect.Parameter(name, keyword, annotation=typed_here, default=option)
                )
                continue
            given.append(inspect.Parameter(name, keyword, annotation=annotation, default=None))
        if self.declared.signed is not None:
            sign_key = inspect.Parameter(
                "sign_key", keyword, annotation=SignKeyOption, default=None
            )
            given.append(sign_key)
        given.append(inspect.Parameter("key", keyword, annotation=KeyOption, default=None))
        given.append(inspect.Parameter("as_json", keyword, annotation=JsonOption, default=False))
        return given

    def __call__(self, **given: Any) -> None:
        decision_id, actor = given.pop("decision_id"), given.pop("actor")
        key, as_json = given.pop("key"), given.pop("as_json")
        signing = Signing(given.pop("sign_key", None))
        if self.declared.answers_round:
            number, text_hash = given.pop("round"), given.pop("text_hash", None)
            run(
                answer(
                    self.model,
                    decision_id,
                    actor,
                    number,
                    text_hash,
                    key,
                    as_json,
                    signing,
                    **given,
                )
            )
        else:
            run(send(self.model, decision_id, actor, key, as_json, signing=signing, **given))


def _option_type(name: str, annotation: Any) -> type:
    """The type an option of the field takes on the command line: int, str or an enum's."""
    while get_origin(annotation) in (Annotated, Union, UnionType):
        present = [a for a in get_args(annotation) if a is not type(None)]
        annotation = present[0]
    if isinstance(annotation, type) and issubclass(annotation, int | str | Enum):
        return annotation
    raise TypeError(f"field {name} of type {annotation!r} has no option type")
