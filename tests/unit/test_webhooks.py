"""Webhooks: whom each notable event concerns, and a signature a receiver can check."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from activities.webhooks import concerns, members_at, payload, signature, signature_holds
from domain.events import (
    ConcurrenceRecorded,
    ConsensusFailed,
    ConsensusRoundOpened,
    DecisionAdopted,
    DecisionLapsed,
    Event,
    ExtraordinaryMeetingRequested,
    ImplementationIssueRaised,
    ImplementationIssueResolved,
    IssueResolutionProposed,
    RemindersSent,
    ReportDeadlineMissed,
    ReviewDeadlineMissed,
)
from domain.nrc import NRC_ROSTERS
from domain.roster import CouncilLevel
from domain.statements import AnswerSignature
from domain.values import DeadlineTarget
from store.webhooks import SECRET_PREFIX, new_webhook
from workflows.messages import WebhookDeliveryInput, webhook_delivery_id

AT = datetime(2026, 6, 1, 12, tzinfo=UTC)
DEADLINE = datetime(2026, 6, 4, 12, tzinfo=UTC)
HASH = "sha256:" + "0" * 64
MEMBERS = NRC_ROSTERS.latest.member_codes
ENVELOPE: dict[str, Any] = {
    "decision_id": "d-terror",
    "stream_version": 7,
    "occurred_at": AT,
    "actor": "system",
    "recorded_by": "system:clock",
}


def round_opened(*members: str) -> ConsensusRoundOpened:
    return ConsensusRoundOpened(
        **ENVELOPE,
        round=1,
        revision=1,
        text_hash=HASH,
        roster_version=2,
        members=members,
        deadline=DEADLINE,
    )


def concerned(event: Event, *principals: str) -> set[str]:
    return {p for p in principals if concerns(event, p, MEMBERS)}


@pytest.mark.parametrize(
    "event",
    [
        round_opened("RUS", "USA"),
        IssueResolutionProposed(
            **ENVELOPE,
            issue=1,
            round=2,
            text="Report quarterly",
            text_hash=HASH,
            roster_version=2,
            members=("RUS", "USA"),
            deadline=DEADLINE,
        ),
    ],
    ids=lambda event: event.type,
)
def test_a_round_opened_concerns_its_members_and_the_operators_only(event: Event) -> None:
    assert concerned(event, "member:RUS", "member:USA", "member:NOR", "operator:secretariat") == {
        "member:RUS",
        "member:USA",
        "operator:secretariat",
    }


def test_reminders_concern_the_members_reminded_and_a_body_reminded_of_its_report() -> None:
    answers = RemindersSent(
        **ENVELOPE, target=DeadlineTarget.ROUND, round=1, recipients=("RUS",), deadline=DEADLINE
    )
    report = RemindersSent(
        **ENVELOPE, target=DeadlineTarget.REPORT_BACK, recipients=("PC",), deadline=DEADLINE
    )

    assert concerned(answers, "member:RUS", "member:USA", "member:PC") == {"member:RUS"}
    assert concerned(report, "member:RUS", "member:PC") == {"member:PC"}


@pytest.mark.parametrize(
    "event",
    [
        DecisionAdopted(**ENVELOPE, round=1, revision=1, text_hash=HASH),
        DecisionLapsed(**ENVELOPE, failed_rounds=3),
        ImplementationIssueResolved(**ENVELOPE, issue=1, round=2, text_hash=HASH),
        ConsensusFailed(
            **ENVELOPE, round=1, closed_by="chair", objectors=("RUS",), failed_rounds=1
        ),
        ImplementationIssueRaised(**ENVELOPE, issue=1, title="Uneven", description="..."),
        ExtraordinaryMeetingRequested(
            **ENVELOPE, level=CouncilLevel.FOREIGN_MINISTERS, reason="Urgent threat"
        ),
    ],
    ids=lambda event: event.type,
)
def test_outcomes_issues_and_meeting_requests_concern_every_member_but_no_body(
    event: Event,
) -> None:
    principals = [f"member:{code}" for code in MEMBERS]

    assert concerned(event, *principals, "member:PC") == set(principals)


def test_a_missed_report_concerns_the_monitoring_body_and_the_operators() -> None:
    event = ReportDeadlineMissed(**ENVELOPE, report_back_deadline=DEADLINE, monitoring_body="PC")

    assert concerned(event, "member:PC", "member:RUS", "operator:secretariat") == {
        "member:PC",
        "operator:secretariat",
    }


def test_what_concerns_no_member_still_reaches_the_operators() -> None:
    event = ReviewDeadlineMissed(**ENVELOPE, review_deadline=DEADLINE)

    assert concerned(event, "member:RUS", "member:PC", "operator:secretariat", "auditor:ana") == {
        "operator:secretariat"
    }


def test_every_member_means_the_members_of_the_roster_in_force_then() -> None:
    in_2003 = {**ENVELOPE, "occurred_at": datetime(2003, 1, 1, tzinfo=UTC)}
    adopted = DecisionAdopted(**in_2003, round=1, revision=1, text_hash=HASH)
    members_2003 = members_at(adopted.occurred_at)

    assert "EST" not in members_2003 and "EST" in MEMBERS
    assert not concerns(adopted, "member:EST", members_2003)
    assert concerns(adopted, "member:RUS", members_2003)


def test_a_secret_has_256_random_bits_and_an_id_of_its_own() -> None:
    (first_id, first), (second_id, second) = new_webhook(), new_webhook()

    assert first.startswith(SECRET_PREFIX) and len(first) == len(SECRET_PREFIX) + 43
    assert first != second and first_id != second_id


def delivered_body() -> bytes:
    event = round_opened("RUS")
    delivery = WebhookDeliveryInput(
        delivery_id=webhook_delivery_id("0123456789abcdef", "e-1"),
        webhook_id="0123456789abcdef",
        event_id="e-1",
        event=event,
    )
    return payload(delivery, AT)


def test_a_receiver_verifies_the_signature_with_the_shared_secret_alone() -> None:
    secret = new_webhook()[1]
    body = delivered_body()
    timestamp = int(AT.timestamp())

    header = signature(secret, body, timestamp)

    # What a receiver in any language does: split the header, HMAC "t.body", compare.
    fields = dict(part.split("=", 1) for part in header.split(","))
    expected = hmac.new(secret.encode(), f"{fields['t']}.".encode() + body, hashlib.sha256)
    assert fields["t"] == str(timestamp)
    assert hmac.compare_digest(fields["v1"], expected.hexdigest())
    assert signature_holds(secret, header, body, now=timestamp + 10)


def test_a_tampered_body_another_secret_or_an_old_signature_fails() -> None:
    secret = new_webhook()[1]
    body = delivered_body()
    timestamp = int(AT.timestamp())
    header = signature(secret, body, timestamp)
    tampered = body.replace(b'"RUS"', b'"USA"')

    assert tampered != body
    assert not signature_holds(secret, header, tampered, now=timestamp)
    assert not signature_holds(new_webhook()[1], header, body, now=timestamp)
    assert not signature_holds(secret, header, body, now=timestamp + 301)
    assert not signature_holds(secret, "v1=" + header.split("v1=")[1], body, now=timestamp)


def test_the_body_carries_the_delivery_the_event_and_when_it_was_sent() -> None:
    document = json.loads(delivered_body())

    assert document["id"] == "webhook-0123456789abcdef-e-1"
    assert document["type"] == "ConsensusRoundOpened"
    assert document["decision_id"] == "d-terror"
    assert document["event"]["members"] == ["RUS"]
    assert datetime.fromisoformat(document["sent_at"]) == AT


def test_an_answer_recorded_in_a_members_name_unsigned_concerns_that_member() -> None:
    """The secretariat recording a member's answer without its key is something the member is
    told of; the member's own answer, or one its key signed, is not news to it."""
    on_behalf = {**ENVELOPE, "actor": "RUS", "recorded_by": "operator:secretariat"}
    recorded = ConcurrenceRecorded(**on_behalf, round=1, member="RUS", text_hash=HASH)
    assert concerned(recorded, "member:RUS", "member:USA", "operator:secretariat") == {
        "member:RUS",
        "operator:secretariat",
    }
    own = recorded.model_copy(update={"recorded_by": "member:RUS"})
    assert concerned(own, "member:RUS") == set()
    signed = recorded.model_copy(
        update={
            "signature": AnswerSignature(
                key_id="ed25519:" + "0" * 16,
                claimed_at="2026-06-01T12:00:00Z",
                command_key="k",
                signature="A" * 86,
            )
        }
    )
    assert concerned(signed, "member:RUS") == set()
    # A meeting request the secretariat recorded for RUS still concerns every member.
    request = ExtraordinaryMeetingRequested(**on_behalf, level="ambassadors", reason="Urgent")
    assert concerned(request, "member:RUS", "member:USA") == {"member:RUS", "member:USA"}
