"""Archive one run's history from a process of its own: `python -m ... ADDRESS DB WORKFLOW RUN`.

Temporal's JSON export of one history differs between processes (the order of map entries), so
the archive must recognise a run archived by another process as the same run.
"""

from __future__ import annotations

import asyncio
import sys

from runtime.temporal import connect
from store.eventstore import open_store


async def archive(address: str, database_url: str, workflow_id: str, run_id: str) -> None:
    client = await connect(address, "default")
    history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
    store = await open_store(database_url)
    try:
        decision_id = workflow_id.removeprefix("decision-")
        await store.archive.keep(decision_id, workflow_id, run_id, history.to_json())
    finally:
        await store.close()


if __name__ == "__main__":
    asyncio.run(archive(*sys.argv[1:5]))
