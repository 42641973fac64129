"""Escalations: a collector (or the sweep) asks, a manager who is not the requester
decides; a second decision is a conflict, also when two managers decide at once."""

from __future__ import annotations

import datetime as dt
import threading
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dunning.models import Alert, CollectionAccount, Escalation, Stage, StageChange
from dunning.services import (
    EscalationConflict,
    InvalidInput,
    PermissionDenied,
    approve_escalation,
    attach_evidence,
    reject_escalation,
    request_escalation,
)
from dunning.services.escalations import (
    REJECTION_COOLDOWN_DAYS,
    Proposal,
    escalation_alert_text,
    propose_escalations,
    why_held_back,
)
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer, pay_everything
from tests.factories import AgencyFactory, DealerFactory, UserFactory

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def soft_dealer(collector: Any) -> Any:
    dealer = overdue_dealer(days=65, collector=collector)
    account_in(dealer, Stage.SOFT)
    return dealer


@pytest.fixture
def second_manager(db: Any) -> Any:
    return UserFactory(role="manager", username="max")


def ask(dealer: Any, by: Any, to_stage: str = Stage.HARD, **kwargs: Any) -> Escalation:
    if to_stage == Stage.AGENCY:
        kwargs.setdefault("agency", AgencyFactory(name="Northern Recovery Ltd"))
    return request_escalation(
        dealer=dealer,
        to_stage=to_stage,
        reason="Two broken promises and 65 days past due",
        by=by,
        today=TODAY,
        **kwargs,
    )


def stage_of(dealer: Any) -> str:
    return CollectionAccount.objects.get(dealer=dealer).stage


# --- Asking ---------------------------------------------------------------------------------


def test_collector_request_is_pending_and_alerts_the_managers(
    soft_dealer: Any,
    collector: Any,
    manager: Any,
    mailoutbox: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        escalation = ask(soft_dealer, collector)

    assert escalation.status == Escalation.Status.PENDING
    assert (escalation.requested_by, escalation.requested_on) == (collector, TODAY)
    alert = Alert.objects.get(kind=Alert.Kind.ESCALATION)
    assert f"#{escalation.pk}" in alert.message
    assert [mail.to for mail in mailoutbox] == [[manager.email]]
    assert stage_of(soft_dealer) == Stage.SOFT


def test_no_mail_leaves_before_commit(
    soft_dealer: Any, collector: Any, manager: Any, mailoutbox: list
) -> None:
    # The test's transaction never commits: the e-mail waits for a commit that never comes.
    ask(soft_dealer, collector)

    assert mailoutbox == []


def test_stage_outside_the_escalated_ones_is_refused(soft_dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput, match="not one of: hard, litigation, agency, written_off"):
        ask(soft_dealer, collector, to_stage=Stage.REMINDER)


def test_unreachable_stage_is_refused_with_the_reason(collector: Any) -> None:
    dealer = overdue_dealer(days=10, collector=collector)
    account_in(dealer, Stage.CURRENT)

    with pytest.raises(InvalidInput) as error:
        ask(dealer, collector, to_stage=Stage.HARD)

    assert error.value.field == "to_stage"
    assert "an account in current cannot move to hard" in error.value.message


def test_escalating_a_dealer_with_nothing_past_due_is_refused(collector: Any) -> None:
    dealer = overdue_dealer(days=0, collector=collector)
    account_in(dealer, Stage.SOFT)

    with pytest.raises(InvalidInput, match="nothing is past due"):
        ask(dealer, collector)


def test_a_user_asking_again_hears_it_is_pending(soft_dealer: Any, collector: Any) -> None:
    first = ask(soft_dealer, collector)

    with pytest.raises(InvalidInput, match=rf"already pending \(#{first.pk}\)"):
        ask(soft_dealer, collector)


def test_the_sweep_proposing_again_gets_the_pending_request(
    soft_dealer: Any, collector: Any
) -> None:
    first = ask(soft_dealer, collector)

    again = ask(soft_dealer, None)

    assert again.pk == first.pk
    assert Escalation.objects.count() == 1
    assert Alert.objects.count() == 1


def test_the_sweep_request_is_by_nobody(soft_dealer: Any) -> None:
    escalation = ask(soft_dealer, None)

    assert escalation.requested_by is None
    assert "The daily sweep asks" in Alert.objects.get().message


def test_evidence_travels_with_the_request(soft_dealer: Any, collector: Any) -> None:
    photo = attach_evidence(
        dealer=soft_dealer,
        file=SimpleUploadedFile("stock.jpg", b"photo of the stock"),
        description="Unsold feed in the barn",
        by=collector,
    )
    upload = SimpleUploadedFile("note.pdf", b"signed delivery note")

    escalation = ask(soft_dealer, collector, evidence=[photo, upload])

    assert escalation.evidence.count() == 2


def test_evidence_of_another_dealer_is_refused(soft_dealer: Any, collector: Any) -> None:
    foreign = attach_evidence(
        dealer=DealerFactory(collector=collector),
        file=SimpleUploadedFile("x.jpg", b"x"),
        description="",
        by=collector,
    )

    with pytest.raises(InvalidInput, match="another dealer"):
        ask(soft_dealer, collector, evidence=[foreign])
    assert not Escalation.objects.exists()


@pytest.mark.parametrize("role", ["finance", "auditor", "agency_user"])
def test_roles_without_the_right_cannot_ask(role: str, soft_dealer: Any, request: Any) -> None:
    with pytest.raises(PermissionDenied):
        ask(soft_dealer, request.getfixturevalue(role))


def test_manager_may_ask_too(soft_dealer: Any, manager: Any) -> None:
    assert ask(soft_dealer, manager).requested_by == manager


# --- Deciding -------------------------------------------------------------------------------


def test_manager_approval_moves_the_account_and_records_the_decision(
    soft_dealer: Any, collector: Any, manager: Any
) -> None:
    escalation = ask(soft_dealer, collector)

    decided = approve_escalation(
        escalation_id=escalation.pk, by=manager, note="Agreed", today=TODAY, now=NOW
    )

    assert decided.status == Escalation.Status.APPROVED
    assert (decided.decided_by, decided.decision_note) == (manager, "Agreed")
    assert decided.decided_at is not None
    assert decided.decided_at == NOW
    assert stage_of(soft_dealer) == Stage.HARD
    change = StageChange.objects.get(dealer=soft_dealer)
    assert (change.from_stage, change.to_stage, change.by) == (Stage.SOFT, Stage.HARD, manager)
    assert change.escalation == escalation
    assert f"Escalation #{escalation.pk} approved by mona" in change.reason


@pytest.mark.parametrize(
    ("to_stage", "from_stage"),
    [
        (Stage.LITIGATION, Stage.HARD),
        (Stage.AGENCY, Stage.HARD),
        (Stage.WRITTEN_OFF, Stage.LITIGATION),
    ],
)
def test_each_escalated_stage_is_entered_on_approval(
    to_stage: str, from_stage: str, collector: Any, manager: Any
) -> None:
    dealer = overdue_dealer(days=400, collector=collector)
    account_in(dealer, from_stage)

    escalation = ask(dealer, collector, to_stage=to_stage)
    approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    assert stage_of(dealer) == to_stage


def test_rejection_leaves_the_account_where_it_is(
    soft_dealer: Any, collector: Any, manager: Any
) -> None:
    escalation = ask(soft_dealer, collector)

    decided = reject_escalation(
        escalation_id=escalation.pk, by=manager, note="Plan first", today=TODAY, now=NOW
    )

    assert decided.status == Escalation.Status.REJECTED
    assert decided.decided_at == NOW
    assert stage_of(soft_dealer) == Stage.SOFT
    assert not StageChange.objects.exists()


@pytest.mark.parametrize("decide", [approve_escalation, reject_escalation])
def test_collector_cannot_approve_own_escalation(
    decide: Any, soft_dealer: Any, collector: Any
) -> None:
    escalation = ask(soft_dealer, collector)

    with pytest.raises(PermissionDenied, match="Only a collection manager"):
        decide(escalation_id=escalation.pk, by=collector, today=TODAY, now=NOW)

    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.PENDING


@pytest.mark.parametrize("decide", [approve_escalation, reject_escalation])
def test_manager_cannot_decide_own_escalation(decide: Any, soft_dealer: Any, manager: Any) -> None:
    escalation = ask(soft_dealer, manager)

    with pytest.raises(PermissionDenied, match="another manager must decide it"):
        decide(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    assert stage_of(soft_dealer) == Stage.SOFT


@pytest.mark.parametrize("role", ["other_collector", "finance", "auditor", "agency_user"])
def test_roles_other_than_manager_cannot_decide(
    role: str, soft_dealer: Any, collector: Any, request: Any
) -> None:
    escalation = ask(soft_dealer, collector)

    with pytest.raises(PermissionDenied):
        approve_escalation(
            escalation_id=escalation.pk, by=request.getfixturevalue(role), today=TODAY, now=NOW
        )


def test_any_manager_may_approve_what_the_sweep_proposed(soft_dealer: Any, manager: Any) -> None:
    escalation = ask(soft_dealer, None)

    approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    assert stage_of(soft_dealer) == Stage.HARD


@pytest.mark.parametrize(
    ("first", "second"),
    [
        (approve_escalation, approve_escalation),
        (approve_escalation, reject_escalation),
        (reject_escalation, approve_escalation),
        (reject_escalation, reject_escalation),
    ],
)
def test_second_decision_is_a_conflict(
    first: Any, second: Any, soft_dealer: Any, collector: Any, manager: Any, second_manager: Any
) -> None:
    escalation = ask(soft_dealer, collector)
    first(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    with pytest.raises(EscalationConflict, match=r"already .* by mona"):
        second(escalation_id=escalation.pk, by=second_manager, today=TODAY, now=NOW)

    assert StageChange.objects.count() <= 1


def test_approval_after_the_dealer_paid_is_a_conflict(
    soft_dealer: Any, collector: Any, manager: Any
) -> None:
    escalation = ask(soft_dealer, collector)
    pay_everything(soft_dealer)

    with pytest.raises(EscalationConflict, match=r"nothing is past due.*Reject it instead"):
        approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    escalation.refresh_from_db()
    assert escalation.status == Escalation.Status.PENDING
    assert stage_of(soft_dealer) == Stage.SOFT
    reject_escalation(escalation_id=escalation.pk, by=manager, note="Paid", today=TODAY, now=NOW)


def test_a_decided_request_can_be_asked_again(
    soft_dealer: Any, collector: Any, manager: Any
) -> None:
    first = ask(soft_dealer, collector)
    reject_escalation(escalation_id=first.pk, by=manager, today=TODAY, now=NOW)

    second = ask(soft_dealer, collector)

    assert second.pk != first.pk


# --- The system's proposals, in bulk ------------------------------------------------------


def rejected(dealer: Any, manager: Any, *, days_ago: int, to_stage: str = Stage.HARD) -> Escalation:
    """A request of the system's that `manager` rejected `days_ago` days before TODAY."""
    return Escalation.objects.create(
        dealer=dealer,
        to_stage=to_stage,
        reason="Proposed by the daily sweep",
        requested_on=TODAY - dt.timedelta(days=days_ago + 1),
        status=Escalation.Status.REJECTED,
        decided_by=manager,
        decided_at=dt.datetime.combine(
            TODAY - dt.timedelta(days=days_ago), dt.time(10, 0), tzinfo=BERLIN
        ),
    )


def soft_dealers(n: int, collector: Any) -> list[Any]:
    dealers = [overdue_dealer(days=65, collector=collector) for _ in range(n)]
    for dealer in dealers:
        account_in(dealer, Stage.SOFT)
    return dealers


def test_the_system_proposes_unless_a_request_is_pending_or_was_rejected_lately(
    collector: Any, manager: Any, mailoutbox: list, django_capture_on_commit_callbacks: Any
) -> None:
    fresh, pending, lately, long_ago = soft_dealers(4, collector)
    waiting = ask(pending, collector)
    no = rejected(lately, manager, days_ago=REJECTION_COOLDOWN_DAYS)
    rejected(long_ago, manager, days_ago=REJECTION_COOLDOWN_DAYS + 1)

    with django_capture_on_commit_callbacks(execute=True):
        made = propose_escalations(
            [
                Proposal(d.pk, Stage.HARD, "65 days past due")
                for d in (fresh, pending, lately, long_ago)
            ],
            today=TODAY,
        )

    assert [e.dealer_id for e in made.escalations] == [fresh.pk, long_ago.pk]
    assert made.held_back == {(pending.pk, Stage.HARD): waiting, (lately.pk, Stage.HARD): no}
    for escalation in made.escalations:
        assert (escalation.requested_by, escalation.requested_on) == (None, TODAY)
        alert = Alert.objects.get(source_key=f"escalation:{escalation.pk}")
        assert alert.message == escalation_alert_text(
            escalation,
            by=None,
            code=escalation.dealer.code,
            name=escalation.dealer.name,
            from_stage=Stage.SOFT,
        )
        assert "The daily sweep asks to move" in alert.message
    # One e-mail for the two proposals.
    (mail,) = mailoutbox
    assert mail.subject == "[Receivables Desk] 2 escalations proposed"
    assert why_held_back(no) == (
        f"a request to move to hard was rejected on 2026-01-31 (#{no.pk}); "
        "the system proposes it again from 2026-03-03"
    )


def test_proposals_cost_the_same_queries_for_2_and_6_dealers(collector: Any) -> None:
    def propose(dealers: list[Any]) -> int:
        with CaptureQueriesContext(connection) as queries:
            propose_escalations(
                [Proposal(d.pk, Stage.HARD, "65 days past due") for d in dealers], today=TODAY
            )
        return len(queries)

    assert propose(soft_dealers(2, collector)) == propose(soft_dealers(6, collector))


@pytest.mark.parametrize(
    ("proposals", "message"),
    [
        ([("reminder", "late")], "not one of"),
        ([("hard", " ")], "required"),
        ([("hard", "late"), ("hard", "later")], "more than once"),
    ],
)
def test_bad_proposals_are_refused_before_anything_is_written(
    proposals: list[tuple[str, str]], message: str, soft_dealer: Any
) -> None:
    with pytest.raises(InvalidInput, match=message):
        propose_escalations(
            [Proposal(soft_dealer.pk, stage, reason) for stage, reason in proposals], today=TODAY
        )

    assert not Escalation.objects.exists()
    assert not Alert.objects.exists()


def test_a_person_may_ask_again_after_a_rejection_the_system_may_not(
    soft_dealer: Any, collector: Any, manager: Any
) -> None:
    no = rejected(soft_dealer, manager, days_ago=3)

    with pytest.raises(InvalidInput, match=rf"rejected on 2026-02-27 \(#{no.pk}\)"):
        ask(soft_dealer, None)
    assert ask(soft_dealer, collector).status == Escalation.Status.PENDING


# --- Two managers at once (PostgreSQL) ------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_managers_approving_at_once_one_wins_the_other_conflicts() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("Row locks need PostgreSQL (DATABASE_URL=postgres://...)")
    collector = UserFactory(role="collector", username="carl")
    managers = [UserFactory(role="manager", username=f"manager{n}") for n in range(2)]
    dealer = overdue_dealer(days=65, collector=collector)
    account_in(dealer, Stage.SOFT)
    escalation = ask(dealer, collector)

    barrier = threading.Barrier(2)
    outcomes: list[str] = []
    lock = threading.Lock()

    def approve(manager: Any) -> None:
        try:
            barrier.wait(timeout=10)
            approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)
            result = "approved"
        except EscalationConflict:
            result = "conflict"
        finally:
            connection.close()  # each thread has its own connection
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=approve, args=(m,)) for m in managers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(outcomes) == ["approved", "conflict"]
    assert stage_of(dealer) == Stage.HARD
    assert StageChange.objects.filter(dealer=dealer).count() == 1
    assert Escalation.objects.get(pk=escalation.pk).status == Escalation.Status.APPROVED


def test_a_placement_names_its_agency_and_approval_places_the_dealer_with_it(collector, manager):
    from dunning.services import InvalidInput, approve_escalation, request_escalation
    from receivables.models import Agency

    dealer = overdue_dealer(today=TODAY, days=70, collector=collector)
    account_in(dealer, Stage.HARD)
    agency = Agency.objects.create(name="Southern Recovery")

    with pytest.raises(InvalidInput) as missing:
        request_escalation(
            dealer=dealer, to_stage=Stage.AGENCY, reason="No response", by=collector, today=TODAY
        )
    assert missing.value.field == "agency"

    escalation = request_escalation(
        dealer=dealer,
        to_stage=Stage.AGENCY,
        reason="No response",
        by=collector,
        today=TODAY,
        agency=agency,
    )
    approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    dealer.refresh_from_db()
    assert dealer.agency == agency
    assert dealer.history.first().history_user == manager
