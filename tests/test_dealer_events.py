"""Danger signs ("Watch for danger signs", docs/PRACTICE.md §14) alert the managers at once and
propose escalation; evidence files attach to the dealer with their SHA-256."""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dunning.models import Alert, CollectionAccount, DealerEvent, Escalation, Evidence, Stage
from dunning.services import (
    InvalidInput,
    PermissionDenied,
    approve_escalation,
    attach_evidence,
    reject_escalation,
    report_event,
)
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer
from tests.factories import DealerFactory


@pytest.fixture(autouse=True)
def _media_in_tmp(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path


def report(dealer: Any, by: Any, kind: str = DealerEvent.Kind.RELOCATION, **kw: Any) -> Any:
    return report_event(
        dealer=dealer,
        kind=kind,
        occurred_on=kw.pop("occurred_on", TODAY - dt.timedelta(days=2)),
        note=kw.pop("note", "Moved to the next town"),
        by=by,
        today=TODAY,
    )


# --- Events ---------------------------------------------------------------------------------


def test_event_alerts_the_managers_at_once_and_proposes_hard_collection(
    collector: Any, manager: Any, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    dealer = overdue_dealer(days=20, collector=collector)
    account_in(dealer, Stage.REMINDER)

    with django_capture_on_commit_callbacks(execute=True):
        event = report(dealer, collector, DealerEvent.Kind.OWNERSHIP_TRANSFER)

    assert (event.reported_by, event.kind) == (collector, "ownership_transfer")
    escalation = Escalation.objects.get(dealer=dealer)
    assert (escalation.to_stage, escalation.status) == (Stage.HARD, Escalation.Status.PENDING)
    assert escalation.requested_by is None
    assert "Ownership transfer" in escalation.reason
    assert event.proposed_escalation == escalation
    alert = Alert.objects.get(kind=Alert.Kind.DEALER_EVENT)
    assert f"request #{escalation.pk}" in alert.message
    assert Alert.objects.filter(kind=Alert.Kind.ESCALATION).count() == 1
    assert {tuple(mail.to) for mail in mailoutbox} == {(manager.email,)}
    assert any("Dealer event" in mail.subject for mail in mailoutbox)


@pytest.mark.parametrize("kind", [DealerEvent.Kind.BANKRUPTCY, DealerEvent.Kind.CLOSURE])
def test_bankruptcy_or_closure_in_hard_collection_proposes_litigation(
    kind: str, collector: Any
) -> None:
    dealer = overdue_dealer(days=90, collector=collector)
    account_in(dealer, Stage.HARD)

    event = report(dealer, collector, kind)

    assert event.proposed_escalation.to_stage == Stage.LITIGATION


def test_other_events_in_hard_collection_propose_nothing_new(collector: Any) -> None:
    dealer = overdue_dealer(days=90, collector=collector)
    account_in(dealer, Stage.HARD)

    event = report(dealer, collector, DealerEvent.Kind.RELOCATION)

    assert event.proposed_escalation is None
    assert "cannot move to hard" in Alert.objects.get(kind=Alert.Kind.DEALER_EVENT).message


def test_a_second_event_does_not_duplicate_the_pending_proposal(collector: Any) -> None:
    dealer = overdue_dealer(days=40, collector=collector)
    account_in(dealer, Stage.SOFT)

    first = report(dealer, collector, DealerEvent.Kind.PARTNERS_SPLIT)
    second = report(dealer, collector, DealerEvent.Kind.NEW_REPRESENTATIVE)

    assert first.proposed_escalation.pk == second.proposed_escalation.pk
    assert Escalation.objects.count() == 1
    assert Alert.objects.filter(kind=Alert.Kind.DEALER_EVENT).count() == 2


def test_no_new_proposal_within_the_cooldown_after_a_manager_rejected_one(
    collector: Any, manager: Any
) -> None:
    dealer = overdue_dealer(days=40, collector=collector)
    account_in(dealer, Stage.SOFT)
    first = report(dealer, collector, DealerEvent.Kind.PARTNERS_SPLIT)
    reject_escalation(escalation_id=first.proposed_escalation.pk, by=manager, today=TODAY, now=NOW)

    second = report(dealer, collector, DealerEvent.Kind.NEW_REPRESENTATIVE)

    assert second.proposed_escalation is None
    assert Escalation.objects.count() == 1
    alert = Alert.objects.filter(kind=Alert.Kind.DEALER_EVENT).first()
    assert (
        "No escalation proposed: a request to move to hard was rejected on 2026-03-02 "
        f"(#{first.proposed_escalation.pk})" in alert.message
    )


def test_dealer_owing_nothing_is_alerted_without_a_proposal(collector: Any) -> None:
    dealer = DealerFactory(collector=collector)

    event = report(dealer, collector, DealerEvent.Kind.BANKRUPTCY)

    assert event.proposed_escalation is None
    assert not Escalation.objects.exists()
    assert "nothing is open" in Alert.objects.get(kind=Alert.Kind.DEALER_EVENT).message


def test_dealer_with_nothing_past_due_gets_no_proposal_yet(collector: Any) -> None:
    # Open but not yet due: the account is current and the machine has no move to hard
    # from there; the manager is alerted and decides what to do.
    dealer = overdue_dealer(days=-10, collector=collector)

    event = report(dealer, collector, DealerEvent.Kind.BUSINESS_CHANGE)

    assert event.proposed_escalation is None
    assert "current cannot move to hard" in Alert.objects.get().message


def test_the_proposal_is_the_systems_so_the_reporting_manager_may_approve_it(
    collector: Any, manager: Any
) -> None:
    dealer = overdue_dealer(days=40, collector=collector)
    account_in(dealer, Stage.SOFT)
    event = report(dealer, manager, DealerEvent.Kind.CLOSURE)

    with pytest.raises(PermissionDenied):
        approve_escalation(
            escalation_id=event.proposed_escalation.pk, by=collector, today=TODAY, now=NOW
        )
    approve_escalation(escalation_id=event.proposed_escalation.pk, by=manager, today=TODAY, now=NOW)

    assert CollectionAccount.objects.get(dealer=dealer).stage == Stage.HARD


def test_event_in_the_future_is_refused(collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        report(DealerFactory(collector=collector), collector, occurred_on=TODAY + dt.timedelta(1))

    assert error.value.field == "occurred_on"
    assert not DealerEvent.objects.exists()
    assert not Alert.objects.exists()


def test_unknown_event_kind_is_refused(collector: Any) -> None:
    with pytest.raises(InvalidInput, match="not one of"):
        report(DealerFactory(collector=collector), collector, kind="alien abduction")


@pytest.mark.parametrize("role", ["finance", "auditor", "agency_user"])
def test_roles_without_the_right_cannot_report_events(role: str, request: Any, db: Any) -> None:
    with pytest.raises(PermissionDenied):
        report(DealerFactory(), request.getfixturevalue(role))


# --- Evidence -------------------------------------------------------------------------------


def test_evidence_sha256_matches_hashlib(collector: Any) -> None:
    dealer = DealerFactory(collector=collector)
    content = bytes(range(256)) * 12_000  # about 3 MB: read in several chunks
    upload = SimpleUploadedFile("stock.jpg", content, content_type="image/jpeg")

    evidence = attach_evidence(
        dealer=dealer, file=upload, description="Feed stock in the barn", by=collector
    )

    evidence.refresh_from_db()
    assert evidence.sha256 == hashlib.sha256(content).hexdigest()
    assert evidence.file.read() == content
    assert (evidence.uploaded_by, evidence.description) == (collector, "Feed stock in the barn")


def test_evidence_needs_a_file(collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        attach_evidence(dealer=DealerFactory(), file=None, description="", by=collector)  # type: ignore[arg-type]

    assert error.value.field == "file"
    assert not Evidence.objects.exists()


@pytest.mark.parametrize("role", ["finance", "auditor", "agency_user"])
def test_roles_without_the_right_cannot_attach_evidence(role: str, request: Any, db: Any) -> None:
    with pytest.raises(PermissionDenied):
        attach_evidence(
            dealer=DealerFactory(),
            file=SimpleUploadedFile("x.jpg", b"x"),
            description="",
            by=request.getfixturevalue(role),
        )
