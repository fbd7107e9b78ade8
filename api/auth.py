"""The bearer token of each request, checked: the caller it stands for, within its rate."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from api.principals import Caller
from api.services import Services, services_of
from domain.errors import Unauthenticated

SCHEME = "HTTPBearer"
DESCRIPTION = (
    "An access token from `concord tokens issue` (a member, an operator or an auditor): "
    "`Authorization: Bearer <token>`."
)

bearer = HTTPBearer(auto_error=False, scheme_name=SCHEME, description=DESCRIPTION)
"""The token as presented, unchecked: for a route whose token is optional (it documents it)."""


class BearerToken(HTTPBearer):
    """The API's security scheme as a dependency that answers the caller itself. One
    dependency with nothing under it: FastAPI solves every dependency of a request again at
    each request, and the token, the services and the check as three cost about 15 us of the
    280 us the API spent on a command (in process, Temporal left out)."""

    async def __call__(self, request: Request) -> Caller:  # type: ignore[override]
        return await caller_of(request)


async def caller_of(request: Request) -> Caller:
    """The caller the request's token stands for; Unauthenticated (401) without a valid one,
    RateLimited (429) past the token's rate or after too many bad tokens from one address."""
    found = services_of(request)
    return await found.caller_at(request, lambda: _presented(found, request))


async def _presented(found: Services, request: Request) -> Caller:
    credentials = await bearer(request)
    if credentials is None:
        raise Unauthenticated("an access token is required: Authorization: Bearer <token>")
    return await found.tokens.caller(credentials.credentials)


authenticated = BearerToken(auto_error=False, scheme_name=SCHEME, description=DESCRIPTION)

Authenticated = Annotated[Caller, Depends(authenticated)]
"""Who calls the API: a principal from an access token, and what its role lets it do."""
