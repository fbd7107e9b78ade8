"""Test-only: SQL run straight on a store's database, around the store, on an engine of its own:
how the tests tamper with rows on purpose, and set up tables of their own."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncConnection

from store.engine import WRITE_OPTION, create_store_engine
from tests.pg import shown
from tests.shutdown import stopped


@asynccontextmanager
async def raw_transaction(url: str) -> AsyncIterator[AsyncConnection]:
    """A writing transaction on the database at `url`, committed when the block ends."""
    engine = create_store_engine(url)
    try:
        async with engine.execution_options(**{WRITE_OPTION: True}).begin() as connection:
            yield connection
    finally:
        await stopped(f"the engine of the database at {shown(url)}", engine.dispose())
