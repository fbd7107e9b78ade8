"""The bearer token of each request, checked: the caller it stands for, within its rate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from api.principals import Caller
from api.services import Services, services
from domain.errors import Unauthenticated

bearer = HTTPBearer(
    auto_error=False,
    description="An access token from `concord tokens issue` (a member, an operator or an "
    "auditor): `Authorization: Bearer <token>`.",
)


async def authenticated(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
    found: Annotated[Services, Depends(services)],
) -> Caller:
    """The caller the request's token stands for; Unauthenticated (401) without a valid one,
    RateLimited (429) past the token's rate or after too many bad tokens from one address."""
    return await found.caller_at(request, lambda: _presented(found, credentials))


async def _presented(found: Services, credentials: HTTPAuthorizationCredentials | None) -> Caller:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise Unauthenticated("an access token is required: Authorization: Bearer <token>")
    return await found.tokens.caller(credentials.credentials)


Authenticated = Annotated[Caller, Depends(authenticated)]
