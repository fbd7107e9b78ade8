"""Workflows that try the sandbox decisions run in: one that carries payloads every way a
decision does, one that reads the wall clock, one that keeps state in its module."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio import activity, workflow

runs_seen = 0
"""Module state a run changes: each run imports the module anew, so each sees its own."""


@activity.defn
async def greet(name: str) -> str:
    return f"hello, {name}"


@workflow.defn
class Carrier:
    """An activity, a local activity, an update and a query, each with its payloads."""

    def __init__(self) -> None:
        self._answer: str | None = None

    @workflow.run
    async def run(self, name: str) -> str:
        greeting = await workflow.execute_activity(
            greet, name, start_to_close_timeout=timedelta(seconds=10)
        )
        local = await workflow.execute_local_activity(
            greet, greeting, start_to_close_timeout=timedelta(seconds=10)
        )
        await workflow.wait_condition(lambda: self._answer is not None)
        return f"{local} / {self._answer}"

    @workflow.update
    async def answer(self, text: str) -> str:
        self._answer = text
        return text.upper()

    @workflow.query
    def answered(self) -> str | None:
        return self._answer


@workflow.defn
class WallClockReader:
    @workflow.run
    async def run(self) -> str:
        return datetime.now().isoformat()


@workflow.defn
class ModuleCounter:
    @workflow.run
    async def run(self) -> int:
        global runs_seen
        runs_seen += 1
        return runs_seen
