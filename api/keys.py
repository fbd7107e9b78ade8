"""The council's key registry over HTTP: every delegation's keys, when each was in force and on
whose authority (`GET /keys`), and a key put in force from the request its holder signed
(`POST /keys`): by the delegation for itself, or by the secretariat for any member (audit.keys
decides each change again from its signatures)."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from api.auth import Authenticated
from api.errors import ERRORS, REFUSED
from api.services import Found
from audit.keys import KeyBook, KeyRequest
from domain.errors import Forbidden
from domain.keys import KeyPeriod
from domain.roster import MemberCode
from domain.statements import KeyId, Origin, PublicKey, SignatureText
from runtime.access import Role


class Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class KeyView(Frozen):
    """One key of a member and when it was in force; `flagged` when the member's own earlier
    key did not put it in force (the chair's authority)."""

    member: str
    key_id: str
    public_key: str
    since: datetime
    until: datetime | None
    ended: str | None
    authority: Literal["member", "chair"]
    flagged: bool

    @classmethod
    def of(cls, period: KeyPeriod) -> KeyView:
        return cls.model_validate(period.document())


class KeyList(Frozen):
    keys: list[KeyView]


class KeyRegistration(Frozen):
    """A key's request, as `concord keys generate` writes it: the new key's proof of possession
    and, for a rotation, the endorsement of the key in force, both over the change's statement
    (docs/auditing.md). `origin` defaults to this installation's log."""

    origin: Origin | None = None
    member: MemberCode
    key_id: KeyId
    public_key: PublicKey
    possession: SignatureText
    endorsement: SignatureText | None = None


def router() -> APIRouter:
    routes = APIRouter(responses=ERRORS)

    @routes.get("/keys", response_model=KeyList, tags=["keys"])
    async def keys(caller: Authenticated, found: Found) -> KeyList:
        """Every delegation's keys, by member, oldest first."""
        registry = await KeyBook(found.store, found.origin).registry()
        periods = registry.listed()
        return KeyList(keys=[KeyView.of(p) for p in periods])

    @routes.post("/keys", response_model=KeyView, status_code=201, responses=REFUSED, tags=["keys"])
    async def register(body: KeyRegistration, caller: Authenticated, found: Found) -> KeyView:
        """Put a key in force for a member, now: the delegation's own request (a member's token
        registers its own key only), or one the secretariat records. A first key, or one its
        member's key in force did not endorse, is on the chair's authority, and shown so."""
        if caller.role is Role.AUDITOR or (
            caller.role is Role.MEMBER and caller.name != body.member
        ):
            raise Forbidden(f"{caller.principal} may not register a key for {body.member}")
        book = KeyBook(found.store, found.origin)
        made = KeyRequest(**(body.model_dump() | {"origin": body.origin or found.origin}))
        await book.register(made, caller.principal)
        current = (await book.registry()).current(body.member)
        assert current is not None, "the key just registered is in force"
        return KeyView.of(current)

    return routes
