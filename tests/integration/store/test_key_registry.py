"""The key registry in the log, on both stores: a delegation's request recorded, rotated by its
own key, refused when signed for another log, for a non-member or a second time, and read back
the same by any process."""

from __future__ import annotations

import pytest

from audit.keys import KEYS_STREAM, KeyBook, KeyRequest, revocation_signature
from audit.signing import MemberKey
from domain.errors import Refusal, Rule
from store.council_events import council_event
from store.eventstore import EventStore

ORIGIN = "nrc.example/concord"


async def test_a_first_key_a_rotation_and_a_revocation_are_kept_in_the_registrys_stream(
    store: EventStore,
) -> None:
    book = KeyBook(store, ORIGIN)
    first, second = MemberKey.generate("RUS"), MemberKey.generate("RUS")
    stored = await book.register(KeyRequest.made(ORIGIN, first), "operator:secretariat")
    assert (stored.decision_id, stored.actor, stored.type) == (
        KEYS_STREAM,
        "chair",
        "MemberKeyRegistered",
    )
    rotated = await book.register(KeyRequest.made(ORIGIN, second, first), "operator:secretariat")
    assert rotated.actor == "RUS" and rotated.payload["authority"] == "member"
    revoked = await book.revoke(
        "RUS", "operator:secretariat", revocation_signature(ORIGIN, second), "device retired"
    )
    assert revoked.actor == "RUS" and revoked.payload["reason"] == "device retired"

    registry = await KeyBook(store, ORIGIN).registry()
    [old, new] = registry.periods["RUS"]
    assert (old.key_id, old.ended, old.flagged) == (first.key_id, "rotated", True)
    assert (new.key_id, new.ended, new.flagged) == (second.key_id, "revoked", False)
    assert old.until == new.since == rotated.occurred_at
    assert new.until == revoked.occurred_at
    events = [council_event(e) for e in await store.stream(KEYS_STREAM)]
    assert [e.type for e in events] == ["MemberKeyRegistered"] * 2 + ["MemberKeyRevoked"]


@pytest.mark.parametrize(
    ("request_for", "rule", "says"),
    [
        (lambda: KeyRequest.made("other.example/log", MemberKey.generate("RUS")),
         Rule.BAD_SIGNATURE, "signed for the log 'other.example/log'"),
        (lambda: KeyRequest.made(ORIGIN, MemberKey.generate("XXX")),
         Rule.NOT_ON_ROSTER, "XXX is not a member of NRC"),
        (lambda: KeyRequest.made(ORIGIN, MemberKey.generate("RUS"), MemberKey.generate("RUS")),
         Rule.BAD_SIGNATURE, "no key in force to endorse"),
    ],
    ids=["another-log", "not-a-member", "endorsed-by-no-key"],
)  # fmt: skip
async def test_a_request_that_does_not_hold_is_refused_and_records_nothing(
    store: EventStore, request_for: object, rule: Rule, says: str
) -> None:
    assert callable(request_for)
    with pytest.raises(Refusal) as refused:
        await KeyBook(store, ORIGIN).register(request_for(), "operator:secretariat")
    assert refused.value.rule is rule and says in str(refused.value)
    assert await store.stream(KEYS_STREAM) == []


async def test_a_request_whose_possession_was_forged_is_refused(store: EventStore) -> None:
    key, other = MemberKey.generate("RUS"), MemberKey.generate("RUS")
    honest = KeyRequest.made(ORIGIN, key)
    forged = KeyRequest(**{**honest.__dict__, "possession": other.sign(b"register")})
    with pytest.raises(Refusal) as refused:
        await KeyBook(store, ORIGIN).register(forged, "operator:secretariat")
    assert refused.value.rule is Rule.BAD_SIGNATURE
    await KeyBook(store, ORIGIN).register(honest, "operator:secretariat")
    with pytest.raises(Refusal) as again:
        await KeyBook(store, ORIGIN).register(honest, "operator:secretariat")
    assert again.value.rule is Rule.KEY_REGISTERED
    assert len(await store.stream(KEYS_STREAM)) == 1
