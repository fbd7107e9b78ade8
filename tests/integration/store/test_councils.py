"""The council in force is the one the log records; an import is a batch of its stream."""

from __future__ import annotations

from importlib.resources import files

import pytest
import yaml

from audit.verify import verify_log
from domain.council import COUNCIL_STREAM, checked_council
from domain.errors import Refusal
from domain.nrc import NRC
from store.councils import Councils, file_digest
from store.eventstore import EventStore
from store.projections import ProjectionRunner
from store.queries import list_decisions
from store.read_models import DecisionsProjection
from tests.unit.domain.test_councils import nordic

DIGEST = file_digest("council file text")


async def test_the_shipped_nrc_is_in_force_until_a_council_is_imported(store: EventStore) -> None:
    councils = Councils(store)
    assert await councils.recorded() is None
    assert await councils.in_force() == NRC
    imported = await councils.import_council(
        checked_council(nordic()), "nordic.yaml", DIGEST, "operator:secretariat"
    )
    assert [e.decision_id for e in imported.stored] == [COUNCIL_STREAM] * len(imported.stored)
    assert imported.stored[0].payload["digest"] == DIGEST
    assert imported.stored[0].recorded_by == "operator:secretariat"
    in_force = await Councils(store).in_force()
    assert in_force.code == "NORDIC"
    assert in_force.roster_book() == checked_council(nordic()).roster_book()


async def test_the_same_file_imported_twice_records_once(store: EventStore) -> None:
    councils = Councils(store)
    first = await councils.import_council(NRC, "nrc.yaml", DIGEST, "operator:secretariat")
    again = await councils.import_council(NRC, "nrc.yaml", DIGEST, "operator:secretariat")
    assert first.stored and not again.stored
    assert await store.stream_version(COUNCIL_STREAM) == len(first.stored)


async def test_another_council_cannot_replace_the_recorded_one(store: EventStore) -> None:
    councils = Councils(store)
    await councils.import_council(NRC, "nrc.yaml", DIGEST, "operator:secretariat")
    with pytest.raises(Refusal, match="cannot be imported"):
        await councils.import_council(
            checked_council(nordic()), "nordic.yaml", DIGEST, "operator:secretariat"
        )
    assert (await councils.in_force()).code == "NRC"


async def test_the_councils_stream_verifies_and_the_decision_read_model_passes_it_by(
    store: EventStore,
) -> None:
    await Councils(store).import_council(NRC, "nrc.yaml", DIGEST, "operator:secretariat")
    runner = ProjectionRunner(store, [DecisionsProjection()])
    await runner.catch_up()
    assert await list_decisions(store) == []
    assert await store.projections.position(DecisionsProjection.name) == (await store.head())[0]
    report = await verify_log(store, workers=1)
    assert report.ok, report


async def test_a_councils_own_areas_and_levels_are_recorded_and_read_back(
    store: EventStore,
) -> None:
    arctic = checked_council(
        yaml.safe_load(files("domain.councils").joinpath("arctic.yaml").read_text("utf-8"))
    )
    imported = await Councils(store).import_council(
        arctic, "arctic.yaml", DIGEST, "operator:secretariat"
    )
    assert "CouncilScopeDefined" in [e.type for e in imported.stored]
    in_force = await Councils(store).in_force()
    assert in_force == arctic
    assert [v.code for v in in_force.levels] == ["ministers", "senior_arctic_officials"]
    assert in_force.roster_book().latest.has_area("marine_environment")
