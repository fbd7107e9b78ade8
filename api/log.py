"""The transparency log over HTTP, read-only, under /log/: the signed checkpoint and the C2SP
tlog-tiles (hash tiles and entry bundles) of the stored tree, with the spec's caching."""

from __future__ import annotations

from typing import Final

from fastapi import APIRouter
from fastapi.responses import PlainTextResponse, Response

from api.auth import Authenticated
from api.errors import ERRORS
from api.services import Found
from audit import checkpoint as cp
from audit.tiles import parse_path, tile_bytes
from audit.tree import StoredTree
from domain.errors import NotFound

IMMUTABLE: Final = "private, max-age=31536000, immutable"
"""A tile's content at its width never changes."""
FRESH: Final = "no-cache"
"""The checkpoint moves as the log grows."""


def router() -> APIRouter:
    routes = APIRouter(prefix="/log", tags=["transparency log"], responses=ERRORS)

    @routes.get(
        "/checkpoint",
        response_class=Response,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def checkpoint(caller: Authenticated, found: Found) -> Response:
        """The log's checkpoint (origin, tree size, root hash), signed with its key."""
        if found.signer is None:
            raise NotFound("this installation has no log signing key (`concord audit keygen`)")
        tree = StoredTree(found.store)
        made = await cp.current(tree, found.origin)
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
    async def tile(path: str, caller: Authenticated, found: Found) -> Response:
        """A hash tile (`tile/<L>/<N>[.p/<W>]`) or an entry bundle (`tile/entries/<N>[...]`)."""
        tile = parse_path(f"tile/{path}")
        size = await StoredTree(found.store).size()
        data = await tile_bytes(found.store, tile, size)
        return Response(
            data, media_type="application/octet-stream", headers={"Cache-Control": IMMUTABLE}
        )

    return routes
