"""The key registry and signed answers, tried as a secretariat holding the database would try
them: a key swapped without the member's, an endorsement or a proof of possession forged, a key
registered twice, an answer signed by a key not (or no longer) in force, or over another text,
round, decision or council."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import rfc8785
from hypothesis import given
from hypothesis import strategies as st

from audit.signing import MemberKey, verify
from domain.council import COUNCIL_STREAM
from domain.council_events import (
    CouncilEnvelope,
    KeyAuthority,
    MemberKeyRegistered,
    MemberKeyRevoked,
)
from domain.errors import InvalidHistory, InvalidInput, Refusal, Rule
from domain.keys import KeyRegistry, answer_finding, registration, revocation
from domain.statements import (
    AnswerSignature,
    AnswerStatement,
    answer_statement,
    canonical,
    key_change,
    key_id_of,
    unb64,
)

ORIGIN = "nrc.example/concord"
T0 = datetime(2004, 12, 1, 9, tzinfo=UTC)
TEXT = "sha256:" + "a" * 64
OTHER_TEXT = "sha256:" + "b" * 64


class Council:
    """A council stream's key events, recorded one after another."""

    def __init__(self) -> None:
        self.events: list[MemberKeyRegistered | MemberKeyRevoked] = []

    @property
    def registry(self) -> KeyRegistry:
        return KeyRegistry.folded(self.events)

    def envelope(self, at: datetime) -> CouncilEnvelope:
        return {
            "stream_id": COUNCIL_STREAM,
            "stream_version": len(self.events) + 1,
            "occurred_at": at,
            "actor": "chair",
            "recorded_by": "operator:secretariat",
        }

    def register(
        self, key: MemberKey, at: datetime, endorsed_by: MemberKey | None = None, **kw: Any
    ) -> MemberKeyRegistered:
        statement = key_change(ORIGIN, key.member, "register", key.public_key)
        event = registration(
            self.registry,
            self.envelope(at),
            ORIGIN,
            key.member,
            key.public_key,
            kw.pop("possession", key.sign(statement)),
            verify,
            endorsement=kw.pop("endorsement", endorsed_by.sign(statement) if endorsed_by else None),
        )
        self.events.append(event)
        return event

    def revoke(self, key: MemberKey, at: datetime, by_itself: bool = True) -> MemberKeyRevoked:
        statement = key_change(ORIGIN, key.member, "revoke", key.public_key)
        event = revocation(
            self.registry,
            self.envelope(at),
            ORIGIN,
            key.member,
            verify,
            endorsement=key.sign(statement) if by_itself else None,
        )
        self.events.append(event)
        return event


def signed_concurrence(
    key: MemberKey, claimed: datetime, round: int = 1, text_hash: str = TEXT, **over: Any
) -> tuple[AnswerStatement, AnswerSignature]:
    statement = AnswerStatement(
        origin=over.get("origin", ORIGIN),
        decision_id=over.get("decision_id", "d-1"),
        kind="concur",
        member=key.member,
        fields={"round": round, "text_hash": text_hash},
        key_id=key.key_id,
        command_key="cli-1",
        claimed_at=claimed.strftime("%Y-%m-%dT%H:%M:%SZ"),
    )
    signed = AnswerSignature(
        key_id=key.key_id,
        claimed_at=statement.claimed_at,
        command_key="cli-1",
        signature=key.sign(statement.signed_bytes()),
    )
    return statement, signed


def as_recorded(
    signed: AnswerSignature, round: int = 1, text_hash: str = TEXT, **over: Any
) -> AnswerStatement:
    """The statement a verifier rebuilds from the answer's event as the log holds it."""
    return answer_statement(
        over.get("origin", ORIGIN),
        over.get("decision_id", "d-1"),
        "concur",
        over.get("member", "RUS"),
        {"round": round, "text_hash": text_hash},
        signed,
    )


# The bytes signed.

json_values = st.recursive(
    st.text() | st.integers(min_value=-(2**53) + 1, max_value=2**53 - 1) | st.booleans(),
    lambda inner: st.dictionaries(st.text(st.characters(max_codepoint=127)), inner, max_size=5),
    max_leaves=20,
)


@given(st.dictionaries(st.text(st.characters(max_codepoint=127)), json_values, max_size=8))
def test_a_statements_bytes_are_its_rfc_8785_canonical_json(document: dict[str, Any]) -> None:
    assert canonical(document) == rfc8785.dumps(document)


@pytest.mark.parametrize(
    "document",
    [{"n": 2**53}, {"x": 1.5}, {"é": "key"}, {"l": [1]}, {"s": "\ud800"}],
    ids=["unsafe-integer", "float", "non-ascii-key", "list", "lone-surrogate"],
)
def test_a_statement_holds_nothing_two_writers_could_encode_differently(
    document: dict[str, Any],
) -> None:
    with pytest.raises(ValueError):
        canonical(document)


def test_a_key_id_is_derived_from_the_key_and_nothing_else() -> None:
    key = MemberKey.generate("RUS")
    assert key.key_id == key_id_of(unb64(key.public_key))
    assert key.key_id.startswith("ed25519:") and len(key.key_id) == len("ed25519:") + 16
    assert MemberKey.generate("RUS").key_id != key.key_id
    with pytest.raises(ValueError):
        key_id_of(b"\x00" * 31)


# Keys in force.


def test_a_first_key_is_on_the_chairs_authority_and_flagged() -> None:
    council, rus = Council(), MemberKey.generate("RUS")
    event = council.register(rus, T0)
    assert event.authority is KeyAuthority.CHAIR and event.endorsed_by is None
    period = council.registry.in_force("RUS", T0)
    assert period is not None and period.key_id == rus.key_id and period.flagged
    assert council.registry.in_force("RUS", T0 - timedelta(seconds=1)) is None


def test_a_rotation_signed_by_the_old_key_is_the_members_own_and_ends_the_old_key() -> None:
    council, old, new = Council(), MemberKey.generate("RUS"), MemberKey.generate("RUS")
    council.register(old, T0)
    later = T0 + timedelta(days=30)
    event = council.register(new, later, endorsed_by=old)
    assert event.authority is KeyAuthority.MEMBER and event.endorsed_by == old.key_id
    registry = council.registry
    assert registry.in_force("RUS", later - timedelta(seconds=1)).key_id == old.key_id  # type: ignore[union-attr]
    current = registry.in_force("RUS", later)
    assert current is not None and current.key_id == new.key_id and not current.flagged
    assert registry.by_id[old.key_id].ended == "rotated"
    assert registry.by_id[old.key_id].until == later


def test_a_key_swapped_without_the_old_keys_signature_is_flagged_as_the_chairs() -> None:
    council, rus, swapped = Council(), MemberKey.generate("RUS"), MemberKey.generate("RUS")
    council.register(rus, T0)
    event = council.register(swapped, T0 + timedelta(days=1))
    assert event.authority is KeyAuthority.CHAIR
    assert council.registry.current("RUS").flagged  # type: ignore[union-attr]


def test_an_endorsement_not_signed_by_the_key_in_force_is_refused() -> None:
    council, rus = Council(), MemberKey.generate("RUS")
    secretariat, swapped = MemberKey.generate("RUS"), MemberKey.generate("RUS")
    council.register(rus, T0)
    with pytest.raises(Refusal) as refused:
        council.register(swapped, T0 + timedelta(days=1), endorsed_by=secretariat)
    assert refused.value.rule is Rule.BAD_SIGNATURE
    assert rus.key_id in str(refused.value)
    assert len(council.events) == 1


def test_a_registration_the_new_key_did_not_sign_is_refused() -> None:
    council, rus, other = Council(), MemberKey.generate("RUS"), MemberKey.generate("RUS")
    with pytest.raises(Refusal) as refused:
        council.register(rus, T0, possession=other.sign(b"anything"))
    assert refused.value.rule is Rule.BAD_SIGNATURE


def test_a_key_is_registered_once_for_one_member_and_never_again() -> None:
    council, rus = Council(), MemberKey.generate("RUS")
    council.register(rus, T0)
    council.revoke(rus, T0 + timedelta(days=1))
    for member in ("RUS", "USA"):
        again = MemberKey(member, rus.private)
        with pytest.raises(Refusal) as refused:
            council.register(again, T0 + timedelta(days=2))
        assert refused.value.rule is Rule.KEY_REGISTERED


def test_a_public_key_that_is_not_one_is_invalid_input() -> None:
    council = Council()
    with pytest.raises(InvalidInput) as invalid:
        registration(
            council.registry, council.envelope(T0), ORIGIN, "RUS", "AAAA", "x" * 86, verify
        )
    assert invalid.value.field == "public_key"


def test_a_revocation_by_the_key_itself_is_the_members_own_and_by_the_chair_flagged() -> None:
    council, rus, next_key = Council(), MemberKey.generate("RUS"), MemberKey.generate("RUS")
    council.register(rus, T0)
    assert council.revoke(rus, T0 + timedelta(days=1)).authority is KeyAuthority.MEMBER
    assert council.registry.current("RUS") is None
    council.register(next_key, T0 + timedelta(days=2))
    assert council.revoke(next_key, T0 + timedelta(days=3), by_itself=False).authority is (
        KeyAuthority.CHAIR
    )
    with pytest.raises(Refusal) as refused:
        council.revoke(next_key, T0 + timedelta(days=4))
    assert refused.value.rule is Rule.NO_KEY


def test_a_stream_that_revokes_a_key_not_in_force_is_invalid_history() -> None:
    council, rus = Council(), MemberKey.generate("RUS")
    council.register(rus, T0)
    revoked = council.revoke(rus, T0 + timedelta(days=1))
    with pytest.raises(InvalidHistory):
        KeyRegistry.folded([*council.events, revoked.model_copy(update={"stream_version": 3})])


# Answers.


def test_an_answer_signed_by_the_members_key_in_force_is_its_word() -> None:
    council, rus = Council(), MemberKey.generate("RUS")
    council.register(rus, T0)
    at = T0 + timedelta(hours=1)
    _, signed = signed_concurrence(rus, at)
    assert answer_finding(council.registry, as_recorded(signed), signed, at, verify) is None


@pytest.mark.parametrize(
    ("recorded", "finding"),
    [
        ({"text_hash": OTHER_TEXT}, "the signature is not"),
        ({"round": 2}, "the signature is not"),
        ({"decision_id": "d-2"}, "the signature is not"),
        ({"origin": "other.example/log"}, "the signature is not"),
        ({"member": "USA"}, "is RUS's key, not USA's"),
    ],
    ids=["another-text", "another-round", "another-decision", "another-council", "another-member"],
)
def test_a_signature_over_another_answer_is_not_this_answers(
    recorded: dict[str, Any], finding: str
) -> None:
    council, rus = Council(), MemberKey.generate("RUS")
    council.register(rus, T0)
    at = T0 + timedelta(hours=1)
    _, signed = signed_concurrence(rus, at)
    found = answer_finding(council.registry, as_recorded(signed, **recorded), signed, at, verify)
    assert found is not None and finding in found


def test_a_key_not_yet_in_force_or_no_longer_in_force_does_not_speak_for_the_member() -> None:
    council, old, new = Council(), MemberKey.generate("RUS"), MemberKey.generate("RUS")
    rotated = T0 + timedelta(days=10)
    council.register(old, T0)
    council.register(new, rotated, endorsed_by=old)
    early = T0 + timedelta(days=9)
    _, by_new_early = signed_concurrence(new, early)
    found = answer_finding(council.registry, as_recorded(by_new_early), by_new_early, early, verify)
    assert found is not None and "not yet in force" in found
    late = rotated + timedelta(hours=1)
    _, by_old_late = signed_concurrence(old, late)
    found = answer_finding(council.registry, as_recorded(by_old_late), by_old_late, late, verify)
    assert found is not None and "rotated before" in found
    _, by_old_before = signed_concurrence(old, early)
    assert (
        answer_finding(council.registry, as_recorded(by_old_before), by_old_before, early, verify)
        is None
    )


def test_a_revoked_key_and_an_unknown_key_do_not_speak_for_the_member() -> None:
    council, rus, stranger = Council(), MemberKey.generate("RUS"), MemberKey.generate("RUS")
    council.register(rus, T0)
    council.revoke(rus, T0 + timedelta(days=1))
    at = T0 + timedelta(days=2)
    for key, expected in ((rus, "revoked before"), (stranger, "is no registered key")):
        _, signed = signed_concurrence(key, at)
        found = answer_finding(council.registry, as_recorded(signed), signed, at, verify)
        assert found is not None and expected in found


@pytest.mark.parametrize(
    "claimed", [timedelta(minutes=10), -timedelta(days=2)], ids=["ahead", "stale"]
)
def test_an_answer_claiming_an_instant_far_from_its_recording_is_not_taken(
    claimed: timedelta,
) -> None:
    council, rus = Council(), MemberKey.generate("RUS")
    council.register(rus, T0)
    at = T0 + timedelta(days=3)
    _, signed = signed_concurrence(rus, at + claimed)
    found = answer_finding(council.registry, as_recorded(signed), signed, at, verify)
    assert found is not None and "too far from its recording" in found


def test_a_malformed_key_or_signature_is_no_valid_signature() -> None:
    rus = MemberKey.generate("RUS")
    signature = rus.sign(b"m")
    assert verify(rus.public_key, b"m", signature)
    assert not verify(rus.public_key, b"n", signature)
    assert not verify("AAAA", b"m", signature)
    assert not verify(rus.public_key, b"m", "not base64!")
    assert not verify(rus.public_key, b"m", signature[:-4])
