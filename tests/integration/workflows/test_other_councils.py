"""A council that is not the NATO-Russia Council: the Arctic Council's own file (its areas, its
levels, no preparatory committee, a two-yearly Ministerial) runs a decision from proposal
through the chair's review and a round of its eight members to adoption."""

from __future__ import annotations

from datetime import UTC, datetime
from importlib.resources import files

import pytest
import yaml
from temporalio.testing import WorkflowEnvironment
from temporalio.worker import Worker

from domain.council import Council as CouncilFile
from domain.council import checked_council
from domain.errors import InvalidInput, Rule
from domain.roster import RosterBook
from runtime.decisions import DecisionClient
from store.eventstore import EventStore
from tests.integration.workflows.council import Council
from tests.shutdown import stopped

ARCTIC: CouncilFile = checked_council(
    yaml.safe_load(files("domain.councils").joinpath("arctic.yaml").read_text(encoding="utf-8"))
)
EIGHT = ("CAN", "DNK", "FIN", "ISL", "NOR", "RUS", "SWE", "USA")


@pytest.fixture
async def arctic(
    env: WorkflowEnvironment, store: EventStore, task_queue: str, worker: Worker
) -> Council:
    async def rosters() -> RosterBook:
        return ARCTIC.roster_book()

    decisions = DecisionClient(env.client, task_queue, search_attributes=False, rosters=rosters)
    return Council(env, decisions, store, decision_id="d-arctic-shipping")


async def test_an_arctic_council_decision_is_reviewed_by_the_chair_and_adopted_by_the_eight(
    arctic: Council,
) -> None:
    try:
        # The NRC's areas and levels are not the Arctic Council's.
        with pytest.raises(InvalidInput) as nrc_area:
            await arctic.proposed("NOR", area="crisis_management")
        assert nrc_area.value.field == "area"
        assert "marine_environment" in nrc_area.value.reason
        with pytest.raises(InvalidInput) as nrc_level:
            await arctic.proposed("NOR", area="marine_environment", level="ambassadors")
        assert nrc_level.value.field == "level"
        assert "ministers, senior_arctic_officials" in nrc_level.value.reason

        await arctic.proposed(
            "NOR",
            title="Polar Code guidelines",
            text="The Arctic States adopt guidelines for shipping under the Polar Code.",
            area="marine_environment",
            level="ministers",
        )
        state = await arctic.state()
        assert (state.area, state.body, state.level) == (
            "marine_environment",
            "AC-MIN",
            "ministers",
        )

        # Without a preparatory committee, the chair reviews the proposal.
        referral = await arctic.do("refer", "chair")
        assert referral.event_types == ("ReferredToPreparatoryCommittee",)
        assert (await arctic.store.stream(arctic.decision_id))[-1].payload["committee"] == "chair"
        await arctic.do("complete_review", "chair", outcome="forward")

        # The Arctic Council gives capitals two days at least.
        short = await arctic.refused(
            Rule.SILENCE_TOO_SHORT, "open_round", "chair", deadline=await arctic.later(days=1)
        )
        assert "AC-MIN lasts at least 2 days" in short.message
        number = await arctic.round_open(days=7)
        assert (await arctic.state()).round(number).members == EIGHT
        await arctic.all_concur(number)
        state = await arctic.state()
        assert state.status.value == "adopted" and state.adopted_round == number

        # A meeting is asked at the decision's own level unless another of the council's is named.
        requested = await arctic.do("request_meeting", "ISL", reason="Oil spill in the Barents Sea")
        [event] = (await arctic.store.stream(arctic.decision_id))[-1:]
        assert requested.event_types == ("ExtraordinaryMeetingRequested",)
        assert event.payload["level"] == "ministers"
        with pytest.raises(InvalidInput) as unknown:
            await arctic.do("request_meeting", "ISL", reason="r", level="foreign_ministers")
        assert unknown.value.field == "level"

        # A plan reports back, by default, to the body that decided (there is no committee).
        await arctic.do(
            "plan_implementation",
            "chair",
            action_items=[
                {"item_id": "A1", "description": "Guidelines", "assignee": {"kind": "all_members"}}
            ],
            report_back_deadline=await arctic.later(days=365),
        )
        plan = (await arctic.state()).plan
        assert plan is not None and plan.monitoring_body == "AC-MIN"
    finally:
        await stopped(f"decision {arctic.decision_id}'s workflow", arctic.end())


def test_the_ministerial_sits_in_may_of_the_odd_years_counted_from_its_own_day() -> None:
    ministerial = ARCTIC.body("AC-MIN")
    assert ministerial is not None and ministerial.cadence is not None
    after = datetime(2026, 12, 6, tzinfo=UTC)
    assert ministerial.cadence.next_sitting(ARCTIC.anchor, after) == datetime(
        2027, 5, 10, 10, tzinfo=UTC
    )
    assert ARCTIC.anchor == datetime(1996, 9, 19, tzinfo=UTC)
