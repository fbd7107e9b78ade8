"""The portal's routes, under /portal: its pages by who reads them, each module's own."""

from __future__ import annotations

from fastapi import APIRouter

from api.portal import auditing, board, delegation, entry, keys


def router() -> APIRouter:
    portal = APIRouter(include_in_schema=False)
    for pages in (entry, delegation, keys, board, auditing):
        portal.include_router(pages.routes)
    return portal
