"""The key registry in the log, on both stores: a delegation's request recorded, rotated by its
own key, refused when signed for another log, for a non-member or a second time, and read back
the same by any process."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from audit.chain_check import BreakReason
from audit.keys import KeyBook, KeyRequest, revocation_signature
from audit.signing import MemberKey
from audit.verify import verify_log
from domain.council import KEYS_STREAM
from domain.council_events import KeyAuthority, MemberKeyRegistered, MemberKeyRevoked
from domain.errors import Refusal, Rule
from domain.statements import key_change
from store.council_events import council_event, new_council_event
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


# A forger holding the database: changes appended through the store itself, so that every row is
# well formed and chained, and only their signatures can give them away.


async def forged(store: EventStore, event: MemberKeyRegistered | MemberKeyRevoked) -> int:
    """Append `event` to the registry's stream as the store would; its position."""
    [stored] = await store.append(
        KEYS_STREAM, await store.stream_version(KEYS_STREAM), [new_council_event(event)]
    )
    return stored.position


def swapped_in(
    member: str, key: MemberKey, version: int, at: datetime, **claims: object
) -> MemberKeyRegistered:
    statement = key_change(ORIGIN, member, "register", key.public_key)
    fields: dict[str, object] = {
        "stream_id": KEYS_STREAM,
        "stream_version": version,
        "occurred_at": at,
        "actor": member,
        "recorded_by": "operator:secretariat",
        "member": member,
        "key_id": key.key_id,
        "public_key": key.public_key,
        "possession": key.sign(statement),
        "authority": KeyAuthority.MEMBER,
        "endorsed_by": None,
        "endorsement": None,
    }
    fields.update(claims)
    return MemberKeyRegistered.model_validate(fields)


async def test_an_honest_registry_verifies_with_every_change_checked(store: EventStore) -> None:
    book = KeyBook(store, ORIGIN)
    first, second = MemberKey.generate("RUS"), MemberKey.generate("RUS")
    await book.register(KeyRequest.made(ORIGIN, first), "operator:secretariat")
    await book.register(KeyRequest.made(ORIGIN, second, first), "operator:secretariat")
    report = await verify_log(store, origin=ORIGIN)
    assert report.ok and report.key_changes_checked == 2
    unchecked = await verify_log(store)
    assert unchecked.ok and unchecked.key_changes_checked == 0


@pytest.mark.parametrize(
    "forgery",
    ["endorsed-by-the-secretariats-key", "member-authority-without-endorsement", "no-possession"],
)
async def test_a_key_swapped_in_the_members_name_fails_verify_while_the_chain_holds(
    store: EventStore, forgery: str
) -> None:
    rus = MemberKey.generate("RUS")
    await KeyBook(store, ORIGIN).register(KeyRequest.made(ORIGIN, rus), "operator:secretariat")
    secretariats = MemberKey.generate("RUS")
    statement = key_change(ORIGIN, "RUS", "register", secretariats.public_key)
    at = datetime.now(UTC)
    by_forgery: dict[str, dict[str, object]] = {
        "endorsed-by-the-secretariats-key": {
            "endorsed_by": rus.key_id,
            "endorsement": MemberKey.generate("RUS").sign(statement),
        },
        "member-authority-without-endorsement": {},
        "no-possession": {
            "endorsed_by": rus.key_id,
            "endorsement": rus.sign(b"something else RUS signed"),
            "possession": MemberKey.generate("RUS").sign(statement),
        },
    }
    claims = by_forgery[forgery]
    position = await forged(store, swapped_in("RUS", secretariats, 2, at, **claims))

    report = await verify_log(store, origin=ORIGIN)
    assert report.first_break is None and report.tree_break is None
    assert list(report.breaks) == ["key_registry"]
    found = report.key_registry_break
    assert found is not None and found.position == position
    assert found.reason is BreakReason.BAD_SIGNATURE
    assert f"council.keys v2 (RUS, {secretariats.key_id})" in found.message
