"""Members' signed answers in the log, on both stores, tried as a forger holding the database
would try them: an answer written straight into the store, well formed and well chained, passes
the chain and the tree, and fails `verify` at its own position unless the member's key in force
signed exactly what its event records; the same checks refuse such an answer before it is given
(audit.keys.KeyBook.check_answer, which the API and the CLI call)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from audit.answers import Signed, checked_answers
from audit.chain_check import BreakReason
from audit.keys import KeyBook, KeyRequest, revocation_signature
from audit.signing import MemberKey
from audit.verify import verify_log
from domain.commands import Concur, command_of
from domain.decider import decide, evolve
from domain.errors import Refusal, Rule
from domain.nrc import NRC
from domain.state import DecisionState
from domain.statements import AnswerSignature
from store.councils import Councils
from store.decision_events import new_event
from store.eventstore import EventStore

ORIGIN = "nrc.example/concord"
OPERATOR = "operator:secretariat"


class Decision:
    """One decision's events, decided by the rules and appended to the store as a worker would."""

    def __init__(self, store: EventStore, decision_id: str) -> None:
        self.store, self.decision_id = store, decision_id
        self.state: DecisionState | None = None

    async def give(self, command: Any, at: datetime | None = None) -> int:
        """Decide and store `command`; the position of its first event."""
        events = decide(self.state, command, at or datetime.now(UTC))
        version = self.state.version if self.state else 0
        stored = await self.store.append(
            self.decision_id, version, [new_event(event) for event in events]
        )
        for event in events:
            self.state = evolve(self.state, event)
        return stored[0].position

    async def do(self, kind: str, actor: str, **fields: Any) -> int:
        return await self.give(command_of(kind, self.decision_id, actor, **fields))

    async def round_open(self) -> None:
        await self.do("submit_proposal", "POL", title="T", text="Text", area="crisis_management")
        await self.do("refer", "chair")
        await self.do("complete_review", "chair", outcome="forward")
        deadline = (datetime.now(UTC) + timedelta(days=2)).isoformat()
        await self.do("open_round", "chair", deadline=deadline)

    def concurrence(self, member: str, **over: Any) -> Concur:
        assert self.state is not None
        fields: dict[str, Any] = {"round": 1, "text_hash": self.state.round(1).text_hash} | over
        command = command_of("concur", self.decision_id, member, **fields)
        assert isinstance(command, Concur)
        return command


@pytest.fixture
async def rus(store: EventStore) -> MemberKey:
    """RUS's key, in force since a moment ago."""
    key = MemberKey.generate("RUS")
    await KeyBook(store, ORIGIN).register(KeyRequest.made(ORIGIN, key), OPERATOR)
    return key


async def test_an_answer_its_member_signed_verifies_and_is_shown_signed_others_unsigned(
    store: EventStore, rus: MemberKey
) -> None:
    d = Decision(store, "d-1")
    await d.round_open()
    signed = rus.sign_answer(d.concurrence("RUS"), ORIGIN, "cli-1")
    await KeyBook(store, ORIGIN).check_answer(signed)  # what the API asks before giving it
    at = await d.give(signed)
    await d.do("concur", "NOR", round=1, text_hash=d.state.round(1).text_hash if d.state else "")

    report = await verify_log(store, origin=ORIGIN)
    assert report.ok, report.breaks
    assert (report.answers_signed, report.answers_unsigned) == (1, 1)
    shown = [a async for a in checked_answers(store, ORIGIN, "d-1")]
    assert [(a.member, a.status, a.key_id, a.key_flagged) for a in shown] == [
        ("RUS", Signed.BY_MEMBER, rus.key_id, True),  # a first key: on the chair's authority
        ("NOR", Signed.UNSIGNED, None, False),
    ]
    assert shown[0].position == at and shown[1].recorded_by == "member:NOR"


def _over(**fields: Any) -> Callable[[Decision, MemberKey], Concur]:
    """RUS's concurrence, signed over other fields than the ones recorded."""

    def forged(d: Decision, key: MemberKey) -> Concur:
        honest = d.concurrence("RUS")
        signed = key.sign_answer(d.concurrence("RUS", **fields), ORIGIN, "k")
        return honest.model_copy(update={"signature": signed.signature})

    return forged


def _another_decision(d: Decision, key: MemberKey) -> Concur:
    honest = d.concurrence("RUS")
    elsewhere = honest.model_copy(update={"decision_id": "d-other"})
    signed = key.sign_answer(elsewhere, ORIGIN, "k")
    return honest.model_copy(update={"signature": signed.signature})


def _another_log(d: Decision, key: MemberKey) -> Concur:
    return key.sign_answer(d.concurrence("RUS"), "other.example/log", "k")


def _another_members_key(d: Decision, key: MemberKey) -> Concur:
    """NOR's concurrence, signed with RUS's key."""
    nor = d.concurrence("NOR")
    signed = key.sign_answer(d.concurrence("RUS"), ORIGIN, "k")
    return nor.model_copy(update={"signature": signed.signature})


def _unregistered_key(d: Decision, key: MemberKey) -> Concur:
    return MemberKey.generate("RUS").sign_answer(d.concurrence("RUS"), ORIGIN, "k")


def _forged_bytes(d: Decision, key: MemberKey) -> Concur:
    signed = key.sign_answer(d.concurrence("RUS"), ORIGIN, "k")
    assert signed.signature is not None
    other = MemberKey.generate("RUS").sign(b"anything")
    return signed.model_copy(
        update={"signature": signed.signature.model_copy(update={"signature": other})}
    )


def _claimed_long_before(d: Decision, key: MemberKey) -> Concur:
    return key.sign_answer(
        d.concurrence("RUS"), ORIGIN, "k", at=datetime.now(UTC) - timedelta(days=3)
    )


FORGERIES = [
    pytest.param(_over(text_hash="sha256:" + "1" * 64), "not ed25519", id="another-text-hash"),
    pytest.param(_over(round=2), "not ed25519", id="another-round"),
    pytest.param(_another_decision, "not ed25519", id="another-decision"),
    pytest.param(_another_log, "not ed25519", id="another-council-origin"),
    pytest.param(_another_members_key, "is RUS's key, not NOR's", id="another-members-key"),
    pytest.param(_unregistered_key, "is no registered key", id="a-key-never-registered"),
    pytest.param(_forged_bytes, "not ed25519", id="a-signature-by-another-key"),
    pytest.param(_claimed_long_before, "too far from its recording", id="claimed-days-before"),
]


@pytest.mark.parametrize(("forge", "says"), FORGERIES)
async def test_a_forged_answer_is_refused_before_it_is_given_and_fails_verify_at_its_position(
    store: EventStore, rus: MemberKey, forge: Callable[[Decision, MemberKey], Concur], says: str
) -> None:
    d = Decision(store, "d-1")
    await d.round_open()
    forged = forge(d, rus)
    with pytest.raises(Refusal) as refused:
        await KeyBook(store, ORIGIN).check_answer(forged)
    assert refused.value.rule is Rule.BAD_SIGNATURE
    assert says.replace("not ed25519", "the signature is not") in str(refused.value)

    at = await d.give(forged)  # the forger writes it anyway, through the store
    report = await verify_log(store, origin=ORIGIN)
    assert report.first_break is None and report.tree_break is None  # well chained
    assert report.answers_break is not None
    assert (report.answers_break.position, report.answers_break.reason) == (
        at,
        BreakReason.BAD_SIGNATURE,
    )
    [shown] = [a async for a in checked_answers(store, ORIGIN)]
    assert shown.status is Signed.BAD


async def test_a_revoked_key_and_a_key_not_yet_in_force_sign_nothing(
    store: EventStore, rus: MemberKey
) -> None:
    d = Decision(store, "d-1")
    await d.round_open()
    before = datetime.now(UTC) - timedelta(hours=2)
    early = rus.sign_answer(d.concurrence("RUS"), ORIGIN, "k1", at=before)
    early_at = await d.give(early, at=before)  # recorded before the key was registered
    report = await verify_log(store, origin=ORIGIN)
    assert report.answers_break is not None and report.answers_break.position == early_at
    assert "was not yet in force" in report.answers_break.message

    later = Decision(store, "d-2")
    await later.round_open()
    book = KeyBook(store, ORIGIN)
    await book.revoke("RUS", OPERATOR, revocation_signature(ORIGIN, rus), "device lost")
    late = rus.sign_answer(later.concurrence("RUS"), ORIGIN, "k2")
    with pytest.raises(Refusal, match="was revoked before"):
        await book.check_answer(late)
    await later.give(late)
    [_, revoked] = [a async for a in checked_answers(store, ORIGIN)]
    assert revoked.status is Signed.BAD and "was revoked before" in (revoked.finding or "")


async def test_an_unsigned_answer_written_into_the_store_is_shown_as_unsigned_not_as_the_members(
    store: EventStore, rus: MemberKey
) -> None:
    """A secretariat that records an answer in a member's name without its key cannot make it
    look signed: it is counted and shown unsigned, with who recorded it."""
    d = Decision(store, "d-1")
    await d.round_open()
    command = d.concurrence("RUS").model_copy(update={"recorded_by": OPERATOR})
    await d.give(command)
    report = await verify_log(store, origin=ORIGIN)
    assert report.ok and (report.answers_signed, report.answers_unsigned) == (0, 1)
    [shown] = [a async for a in checked_answers(store, ORIGIN)]
    assert (shown.status, shown.recorded_by) == (Signed.UNSIGNED, OPERATOR)


def test_a_signature_field_that_is_not_well_formed_is_named() -> None:
    with pytest.raises(ValueError, match="signature"):
        AnswerSignature(key_id="rsa:1", claimed_at="now", command_key="k", signature="x")


async def test_an_unsigned_answer_the_council_required_signed_fails_verify_at_its_position(
    store: EventStore,
) -> None:
    """Once the council requires concurrences signed, a decision proposed after it may hold
    none unsigned: one written into the store is a break, while a decision proposed before
    the requirement keeps its unsigned answers as they were given."""
    before = Decision(store, "d-before")
    await before.round_open()
    councils = Councils(store)
    required = NRC.model_copy(update={"signed_answers": ("concur",)})
    await councils.import_council(required, "nrc.yaml", "sha256:" + "2" * 64, OPERATOR)
    assert (await councils.in_force()).signed_answers == ("concur",)
    after = Decision(store, "d-after")
    await after.round_open()
    await before.give(before.concurrence("RUS"))
    await after.do("register_concern", "NOR", round=1, statement="Not required signed")
    forged_at = await after.give(after.concurrence("USA"))  # the rules would refuse it

    report = await verify_log(store, origin=ORIGIN)
    assert report.first_break is None and report.answers_break is not None
    assert (report.answers_break.position, report.answers_break.reason) == (
        forged_at,
        BreakReason.MISSING_SIGNATURE,
    )
    shown = {a.decision_id + a.member: a.status async for a in checked_answers(store, ORIGIN)}
    assert shown == {
        "d-beforeRUS": Signed.UNSIGNED,
        "d-afterNOR": Signed.UNSIGNED,
        "d-afterUSA": Signed.MISSING,
    }
