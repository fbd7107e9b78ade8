"""Each command of the procedure as a POST on its decision; the body is the command's own fields.

The principal comes from the token (`api.principals.acting`), never from the body; the body's
optional `actor` lets the secretariat record on a member's behalf. The workflow's rules then
decide as they do for every channel. An `Idempotency-Key` makes a retry return its receipt.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import re
import uuid
from collections.abc import Callable, Coroutine, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Annotated, Any, Final

from fastapi import APIRouter, Depends, Header, Path, Request, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, create_model
from starlette.exceptions import HTTPException

from api.auth import authenticated, caller_of
from api.errors import ERRORS, REFUSED
from api.principals import Caller, acting
from api.receipts import Receipt, SupersessionResult
from api.services import Services, services, services_of
from domain import commands as cmd
from domain.declarations import DECLARED, Giver
from domain.errors import Forbidden
from domain.values import MAX_NUMBER, ActorCode, CleanStatement, DecisionId
from runtime.decisions import Unacknowledged

DecisionPath = Annotated[
    str,
    Path(
        pattern=r"^[a-z0-9][a-z0-9-]{0,62}$",
        description="The decision's id, e.g. d-2004-terrorism.",
    ),
]
IDEMPOTENCY_KEY: Final = "Idempotency-Key"
IdempotencyKey = Annotated[
    str | None,
    Header(
        alias=IDEMPOTENCY_KEY,
        min_length=1,
        max_length=120,
        description="The same key with the same body returns the first receipt and records "
        "nothing new; with another body it is refused (422).",
    ),
]
_KEY: Final = TypeAdapter(IdempotencyKey)
ActorField = Annotated[
    ActorCode | None,
    Field(
        description="On whose behalf an operator records (a member, a body, `chair`); a "
        "member's token may only name itself.",
    ),
]


@dataclass(frozen=True)
class CommandRoute:
    path: str
    command: type[cmd.CommandBase]
    summary: str
    chair: bool = False
    """The chair's command: only an operator's token gives it."""
    path_fields: dict[str, Any] = field(default_factory=dict)


PATH_FIELDS: Final[dict[str, Any]] = {
    "round": Annotated[int, Path(ge=1, le=MAX_NUMBER)],
    "issue": Annotated[int, Path(ge=1, le=MAX_NUMBER)],
    "item_id": Annotated[str, Path(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$")],
}
"""How each field a command's path names is typed there."""

ROUTES: Final = tuple(
    CommandRoute(
        declared.path,
        cmd.COMMAND_CLASSES[declared.kind],
        declared.summary,
        declared.given_by is Giver.CHAIR,
        {name: PATH_FIELDS[name] for name in re.findall(r"{(\w+)}", declared.path)},
    )
    for declared in DECLARED
    if declared.path is not None
)
"""A POST on its decision for each command the declarations give a path."""


def body_model(
    command: type[cmd.CommandBase],
    excluded: frozenset[str] = frozenset(),
    extra: dict[str, Any] | None = None,
) -> type[BaseModel]:
    """The request body of `command`: its own fields (their types, limits and defaults), plus
    the optional `actor`; never the principal."""
    fields: dict[str, Any] = {
        name: (info.annotation, info)
        for name, info in command.model_fields.items()
        if name not in cmd.COMMAND_ENVELOPE | excluded
    }
    fields["actor"] = (ActorField, None)
    model: type[BaseModel] = create_model(
        f"{command.__name__}Request",
        __config__=ConfigDict(extra="forbid", frozen=True),
        **fields,
        **(extra or {}),
    )
    return model


def scoped(caller: Caller, key: str | None) -> str | None:
    """Keys are the caller's own: another principal's key can neither collide nor be probed."""
    return f"{caller.principal}/{key}" if key else None


@contextmanager
def resend_by_key(key: str | None, decision_id: str | None = None) -> Iterator[None]:
    """A command not acknowledged in time (503) tells the client how to send it again without
    giving it twice: with its Idempotency-Key (and a proposal with its `decision_id`, which may
    have been made up), or, without a key, after reading the decision."""
    try:
        yield
    except Unacknowledged as late:
        same = f" and decision_id {decision_id}" if decision_id else ""
        raise late.resent_with(
            f"send it again with the same Idempotency-Key{same} to get its receipt without "
            "giving it twice"
            if key
            else "this request had no Idempotency-Key: read the decision's events before "
            "sending it again, or it may be given twice"
        ) from None


async def requested_command(
    found: Services,
    caller: Caller,
    kind: str,
    decision_id: str,
    body: BaseModel,
    chairs: bool,
    extra: dict[str, Any],
) -> cmd.Command:
    """The command the request asks for, as the token's principal; a Forbidden one is recorded
    in the refusals log before it is answered."""
    fields = {**body.model_dump(exclude={"actor"}), **extra}
    requested = getattr(body, "actor", None)
    try:
        actor, recorded_by = acting(caller, requested, chairs, kind)
    except Forbidden as forbidden:
        await found.commands.refused(
            forbidden,
            principal=caller.principal,
            decision_id=decision_id,
            kind=kind,
            fields={**body.model_dump(mode="json"), **extra},
            channel="api",
        )
        raise
    return cmd.COMMAND_ADAPTER.validate_python(
        {
            "kind": kind,
            "decision_id": decision_id,
            "actor": actor,
            "recorded_by": recorded_by,
            **fields,
        }
    )


def _kind(command: type[cmd.CommandBase]) -> str:
    default: str = command.model_fields["kind"].default
    return default


def _endpoint_signature(body: type[BaseModel], *leading: inspect.Parameter) -> inspect.Signature:
    """What FastAPI reads an endpoint's parameters from: `leading` (the path's), the body, the
    token, the request (its services), the key; a receipt answered."""
    parameter = inspect.Parameter
    return inspect.Signature(
        [
            *leading,
            parameter("body", parameter.KEYWORD_ONLY, annotation=body),
            parameter(
                "caller",
                parameter.KEYWORD_ONLY,
                annotation=Annotated[Caller, Depends(authenticated)],
            ),
            # The request, not a dependency that finds the services: FastAPI solves each of
            # a route's dependencies again at every request.
            parameter("request", parameter.KEYWORD_ONLY, annotation=Request),
            parameter("key", parameter.KEYWORD_ONLY, annotation=IdempotencyKey, default=None),
        ],
        return_annotation=Receipt,
    )


class CommandEndpoint:
    """The endpoint of one route: FastAPI reads its parameters (the path's, the body, the token,
    the key) from its signature, built from the route's command."""

    def __init__(self, route: CommandRoute) -> None:
        self.route = route
        self.kind = _kind(route.command)
        self.__name__ = self.kind
        self.__doc__ = None  # the route's summary says what it does; this class's text is not
        parameter = inspect.Parameter
        body = body_model(route.command, frozenset(route.path_fields))
        path: dict[str, Any] = {"decision_id": DecisionPath, **route.path_fields}
        self.__signature__ = _endpoint_signature(
            body,
            *(
                parameter(name, parameter.KEYWORD_ONLY, annotation=annotation)
                for name, annotation in path.items()
            ),
        )
        # The same declarations again, for a request that skips FastAPI's solving (`given`).
        self._path = {name: TypeAdapter(annotation) for name, annotation in path.items()}
        self._body = TypeAdapter(body)

    async def given(self, request: Request) -> dict[str, Any] | None:
        """The endpoint's parameters but the caller, when the request is one FastAPI would take
        as it is: its path, its key and its JSON body all valid by the same declarations. None
        when anything is off: FastAPI then solves the request, and refuses it as it always has.

        FastAPI solves every parameter and dependency of a request anew: a third of what the API
        spent on a command (in process, Temporal left out). A body that cannot be read is
        refused as FastAPI refuses it."""
        if request.headers.get("content-type") != "application/json":
            return None
        key = request.headers.get(IDEMPOTENCY_KEY)
        try:
            raw = await request.body()
        except HTTPException:
            raise
        except Exception as error:  # a client gone, a body past its length: as FastAPI says it
            raise HTTPException(400, "There was an error parsing the body") from error
        try:
            given = {
                name: adapter.validate_python(request.path_params[name])
                for name, adapter in self._path.items()
            }
            if key is not None:
                _KEY.validate_python(key)
            given["body"] = self._body.validate_python(json.loads(raw))
        except (ValueError, RecursionError):  # pydantic's and json's errors are ValueErrors
            return None
        return {**given, "key": key, "request": request}

    async def __call__(self, **given: Any) -> Receipt:
        found = services_of(given["request"])
        caller: Caller = given["caller"]
        extra = {name: given[name] for name in self.route.path_fields}
        command = await requested_command(
            found, caller, self.kind, given["decision_id"], given["body"], self.route.chair, extra
        )
        with resend_by_key(given["key"]):
            return Receipt.of(
                await found.commands.execute(command, scoped(caller, given["key"]), "api")
            )


class CommandAPIRoute(APIRoute):
    """A command's route: FastAPI declares it (the OpenAPI document) and answers every request
    it would refuse; a request its endpoint takes as it is (`CommandEndpoint.given`) is answered
    without FastAPI's solving, its token checked as the dependency checks it."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        solved = super().get_route_handler()
        endpoint = self.endpoint
        assert isinstance(endpoint, CommandEndpoint)

        async def handler(request: Request) -> Response:
            given = await endpoint.given(request)
            if given is None:
                return await solved(request)
            receipt = await endpoint(**given, caller=await caller_of(request))
            return Response(receipt.model_dump_json(), 201, media_type="application/json")

        return handler


ProposalId = Annotated[
    DecisionId | None, Field(description="The new decision's id (default: one is made up).")
]
ProposalRequest = body_model(cmd.SubmitProposal, extra={"decision_id": (ProposalId, None)})


class SupersessionRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    superseded_by: DecisionId
    reason: CleanStatement = ""
    """Validated as the command validates it, so that a problem is named as the body's field."""


class ProposalEndpoint:
    """The endpoint that proposes a decision (its body, ProposalRequest, is built from the
    command at import; FastAPI reads it from the signature)."""

    def __init__(self) -> None:
        self.__name__ = "propose"
        self.__doc__ = None
        self.__signature__ = _endpoint_signature(ProposalRequest)

    async def __call__(self, **given: Any) -> Receipt:
        found = services_of(given["request"])
        caller: Caller = given["caller"]
        key: str | None = given["key"]
        body: BaseModel = given["body"]
        # A proposal sent again with its key is the same decision: its id, when not given,
        # is derived from the caller's key, and made up only when there is none.
        scoped_key = scoped(caller, key)
        made_up = (
            hashlib.sha256(scoped_key.encode()).hexdigest()[:12]
            if scoped_key
            else uuid.uuid4().hex[:12]
        )
        decision_id = getattr(body, "decision_id", None) or f"d-{made_up}"
        proposal = await requested_command(
            found,
            caller,
            "submit_proposal",
            decision_id,
            _without(body, "decision_id"),
            False,
            {},
        )
        assert isinstance(proposal, cmd.SubmitProposal)
        with resend_by_key(key, decision_id):
            return Receipt.of(await found.commands.propose(proposal, scoped_key, "api"))


def router() -> APIRouter:
    routes = APIRouter(tags=["commands"])
    for route in ROUTES:
        routes.add_api_route(
            "/decisions/{decision_id}" + route.path,
            CommandEndpoint(route),
            route_class_override=CommandAPIRoute,
            methods=["POST"],
            status_code=201,
            response_model=Receipt,
            summary=route.summary,
            responses={**ERRORS, **REFUSED},
        )

    routes.add_api_route(
        "/decisions",
        ProposalEndpoint(),
        methods=["POST"],
        status_code=201,
        response_model=Receipt,
        summary="Propose a decision",
        responses={**ERRORS, **REFUSED},
    )

    @routes.post(
        "/decisions/{decision_id}/supersession",
        status_code=201,
        response_model=SupersessionResult,
        summary="Record that a later, adopted decision supersedes this one (both streams)",
        responses={**ERRORS, **REFUSED},
    )
    async def supersede(
        decision_id: DecisionPath,
        body: SupersessionRequest,
        caller: Annotated[Caller, Depends(authenticated)],
        found: Annotated[Services, Depends(services)],
        key: IdempotencyKey = None,
    ) -> SupersessionResult:
        command = await requested_command(found, caller, "supersede", decision_id, body, True, {})
        assert isinstance(command, cmd.SupersedeDecision)
        with resend_by_key(key):
            return SupersessionResult.of(
                await found.commands.supersede(command, scoped(caller, key), "api")
            )

    return routes


class _Fields(BaseModel):
    model_config = ConfigDict(extra="allow", frozen=True)


def _without(body: BaseModel, name: str) -> BaseModel:
    """The body without one of its fields (the proposal's id goes to the path of the command)."""
    return _Fields(**{k: getattr(body, k) for k in type(body).model_fields if k != name})
