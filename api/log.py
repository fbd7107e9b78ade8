"""The transparency log over HTTP, read-only, under /log/: the signed checkpoint and the C2SP
tlog-tiles (hash tiles and entry bundles) of the stored tree, with the spec's caching.

The checkpoint and the hash tiles reveal nothing of a council's texts: anyone may fetch them (a
monitor anywhere recomputes the tree from them). Entry bundles hold the events themselves, and
need a token that may read them."""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import HTTPAuthorizationCredentials

from api.auth import bearer, caller_of
from api.errors import ERRORS
from api.services import Found
from audit import checkpoint as cp
from audit.cosigning import cosigned_note
from audit.tiles import parse_path, tile_bytes
from audit.tree import StoredTree
from domain.errors import NotFound

IMMUTABLE: Final = "public, max-age=31536000, immutable"
"""A hash tile's content at its width never changes, and is no one's secret."""
IMMUTABLE_PRIVATE: Final = "private, max-age=31536000, immutable"
"""An entry bundle's neither, but it needs a token: no shared cache may keep it."""
FRESH: Final = "no-cache"
"""The checkpoint moves as the log grows."""


def router() -> APIRouter:
    routes = APIRouter(prefix="/log", tags=["transparency log"], responses=ERRORS)

    @routes.get(
        "/checkpoint",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def checkpoint(found: Found) -> Response:
        """The log's checkpoint (origin, tree size, root hash), signed with its key (no token
        needed); its root established from the entries since the latest kept checkpoint, as the
        publisher establishes it, so a changed log gets no signature (500). An installation
        with witnesses serves the checkpoint published last, with their cosignatures."""
        if found.signer is None:
            raise NotFound("this installation has no log signing key (`concord audit keygen`)")
        if found.witnesses is not None:
            latest = await found.store.checkpoints.latest()
            if latest is None:
                raise NotFound("no checkpoint published yet: the schedule publishes them")
            cosigned = await cosigned_note(found.store, latest.signed, latest.size)
            return PlainTextResponse(cosigned, headers={"Cache-Control": FRESH})
        tree = StoredTree(found.store)
        made = await cp.checked(found.store, tree, found.origin, found.signer.verifier)
        return PlainTextResponse(found.signer.sign(made.text()), headers={"Cache-Control": FRESH})

    @routes.get(
        "/tile/{path:path}",
        response_class=Response,
        responses={
            200: {
                "content": {
                    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}
                }
            }
        },
    )
    async def tile(
        path: str,
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
        found: Found,
    ) -> Response:
        """A hash tile (`tile/<L>/<N>[.p/<W>]`, no token needed) or an entry bundle
        (`tile/entries/<N>[...]`, for a token that may read the events)."""
        tile = parse_path(f"tile/{path}")
        if tile.level is None:
            await caller_of(request)
        size = await StoredTree(found.store).size()
        data = await tile_bytes(found.store, tile, size)
        cache = IMMUTABLE if tile.level is not None else IMMUTABLE_PRIVATE
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": cache}
        )

    return routes
