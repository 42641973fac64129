"""The stage machine through `move_stage`: every allowed and forbidden transition, the
conditions, the permission on manager moves, the record of who/when/from/to/why, and a
stale account losing to a concurrent move. Also the two things a manager or collector
sets on the account: the assessment and a credit-hold override."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from dunning.models import CollectionAccount, Stage, StageChange
from dunning.services import (
    InvalidInput,
    PermissionDenied,
    StageConflict,
    TransitionNotAllowed,
    ensure_account,
    move_stage,
    override_credit_hold,
    set_assessment,
)
from tests.collection_helpers import TODAY, account_in, overdue_dealer, pay_everything
from tests.factories import DealerFactory

# Source stages of each verb, as the collection practice defines them ("Soft first, hard when
# needed", docs/PRACTICE.md §7).
SOURCES = {
    "remind": {Stage.CURRENT},
    "soften": {Stage.REMINDER},
    "settle": {Stage.REMINDER, Stage.SOFT, Stage.HARD, Stage.LITIGATION},
    "harden": {Stage.REMINDER, Stage.SOFT},
    "litigate": {Stage.SOFT, Stage.HARD, Stage.AGENCY},
    "place_with_agency": {Stage.SOFT, Stage.HARD, Stage.LITIGATION},
    "write_off": {Stage.REMINDER, Stage.SOFT, Stage.HARD, Stage.LITIGATION, Stage.AGENCY},
}
TARGETS = {
    "remind": Stage.REMINDER,
    "soften": Stage.SOFT,
    "settle": Stage.CURRENT,
    "harden": Stage.HARD,
    "litigate": Stage.LITIGATION,
    "place_with_agency": Stage.AGENCY,
    "write_off": Stage.WRITTEN_OFF,
}
ALLOWED = [(verb, stage) for verb, stages in SOURCES.items() for stage in stages]
FORBIDDEN = [(verb, stage) for verb in SOURCES for stage in Stage if stage not in SOURCES[verb]]


def _dealer_meeting_conditions(verb: str) -> Any:
    # settle needs nothing past due; every other verb is happy 60 days past due.
    return DealerFactory() if verb == "settle" else overdue_dealer(days=60)


@pytest.mark.parametrize(("verb", "stage"), ALLOWED)
def test_allowed_transition_moves_the_account_and_records_it(
    verb: str, stage: Stage, manager: Any
) -> None:
    dealer = _dealer_meeting_conditions(verb)
    account = account_in(dealer, stage)

    change = move_stage(account, verb, on=TODAY, by=manager, reason="Test move")

    account.refresh_from_db()
    assert account.stage == TARGETS[verb]
    assert account.stage_since == TODAY
    assert (change.from_stage, change.to_stage) == (stage, TARGETS[verb])
    assert (change.on, change.by, change.reason) == (TODAY, manager, "Test move")
    assert change.at is not None


@pytest.mark.parametrize(("verb", "stage"), FORBIDDEN)
def test_forbidden_transition_raises_and_changes_nothing(
    verb: str, stage: Stage, manager: Any
) -> None:
    account = account_in(_dealer_meeting_conditions(verb), stage)

    with pytest.raises(TransitionNotAllowed, match=f"cannot move to {TARGETS[verb]}"):
        move_stage(account, verb, on=TODAY, by=manager, reason="Test move")

    account.refresh_from_db()
    assert account.stage == stage
    assert not StageChange.objects.exists()


def test_reminder_needs_something_past_due(db: Any) -> None:
    account = account_in(overdue_dealer(days=0))

    with pytest.raises(TransitionNotAllowed, match="nothing is past due"):
        move_stage(account, "remind", on=TODAY, reason="Sweep")


def test_soft_collection_waits_for_thirty_days_past_due(db: Any) -> None:
    account = account_in(overdue_dealer(days=29), Stage.REMINDER)

    with pytest.raises(TransitionNotAllowed, match="not yet 30 days past due"):
        move_stage(account, "soften", on=TODAY, reason="Sweep")

    account_at_30 = account_in(overdue_dealer(days=30), Stage.REMINDER)
    move_stage(account_at_30, "soften", on=TODAY, reason="Sweep")
    assert account_at_30.stage == Stage.SOFT


def test_settling_needs_nothing_past_due(db: Any) -> None:
    dealer = overdue_dealer(days=10)
    account = account_in(dealer, Stage.HARD)

    with pytest.raises(TransitionNotAllowed, match="something is still past due"):
        move_stage(account, "settle", on=TODAY, reason="Paid")

    pay_everything(dealer)
    move_stage(account, "settle", on=TODAY, reason="Paid in full")
    assert account.stage == Stage.CURRENT
    assert account.cycle_started_on is None


def test_hard_collection_needs_something_past_due(manager: Any) -> None:
    account = account_in(overdue_dealer(days=0), Stage.SOFT)

    with pytest.raises(TransitionNotAllowed, match="nothing is past due"):
        move_stage(account, "harden", on=TODAY, by=manager, reason="Test")


def test_reminder_starts_a_new_overdue_cycle(db: Any) -> None:
    account = account_in(overdue_dealer(days=1))

    move_stage(account, "remind", on=TODAY, reason="Sweep: something is past due")

    assert (account.stage, account.cycle_started_on) == (Stage.REMINDER, TODAY)


@pytest.mark.parametrize("verb", ["harden", "litigate", "place_with_agency", "write_off"])
def test_collector_cannot_make_a_manager_move(verb: str, collector: Any) -> None:
    account = account_in(overdue_dealer(days=60, collector=collector), Stage.SOFT)

    with pytest.raises(PermissionDenied):
        move_stage(account, verb, on=TODAY, by=collector, reason="Trying")

    account.refresh_from_db()
    assert account.stage == Stage.SOFT


def test_automatic_moves_need_no_permission(collector: Any) -> None:
    account = account_in(overdue_dealer(days=5, collector=collector))

    change = move_stage(account, "remind", on=TODAY, by=collector, reason="Noticed overdue")

    assert change.by == collector


def test_the_sweep_moves_without_a_user(db: Any) -> None:
    account = account_in(overdue_dealer(days=5))

    change = move_stage(account, "remind", on=TODAY, reason="Sweep: past due")

    assert change.by is None


def test_history_keeps_who_and_why(manager: Any) -> None:
    account = account_in(overdue_dealer(days=60), Stage.SOFT)

    move_stage(account, "harden", on=TODAY, by=manager, reason="Approved by the manager")

    record = account.history.first()
    assert record.stage == Stage.HARD
    assert record.history_user == manager
    assert record.history_change_reason == "Approved by the manager"


def test_a_move_needs_a_reason(db: Any) -> None:
    account = account_in(overdue_dealer(days=5))

    with pytest.raises(InvalidInput) as error:
        move_stage(account, "remind", on=TODAY, reason="  ")

    assert error.value.field == "reason"


def test_unknown_verb_is_a_programming_error(db: Any) -> None:
    account = account_in(DealerFactory())

    with pytest.raises(ValueError, match="not a transition"):
        move_stage(account, "credit_hold", on=TODAY, reason="Nope")


def test_stale_account_loses_to_a_concurrent_move(db: Any) -> None:
    dealer = overdue_dealer(days=40)
    account_in(dealer, Stage.REMINDER)
    first = CollectionAccount.objects.get(dealer=dealer)
    stale = CollectionAccount.objects.get(dealer=dealer)
    move_stage(first, "soften", on=TODAY, reason="Sweep worker 1")

    with pytest.raises(StageConflict):
        move_stage(stale, "soften", on=TODAY, reason="Sweep worker 2")

    assert StageChange.objects.filter(dealer=dealer).count() == 1
    assert CollectionAccount.objects.get(dealer=dealer).stage == Stage.SOFT


def test_facts_passed_in_bulk_are_used(db: Any) -> None:
    from dunning.figures import facts_for
    from receivables.models import Dealer

    dealer = overdue_dealer(days=5)
    account = account_in(dealer)
    facts = facts_for(Dealer.objects.filter(pk=dealer.pk), today=TODAY)[dealer.pk]

    move_stage(account, "remind", on=TODAY, reason="Sweep", facts=facts)

    assert account.stage == Stage.REMINDER


def test_ensure_account_creates_it_once_in_current(db: Any) -> None:
    dealer = DealerFactory()

    first = ensure_account(dealer)
    second = ensure_account(dealer)

    assert first.pk == second.pk
    assert first.stage == Stage.CURRENT


# --- Assessment and credit-hold override ----------------------------------------------------


def test_collector_records_the_assessment(collector: Any) -> None:
    dealer = DealerFactory(collector=collector)

    account = set_assessment(
        dealer=dealer,
        default_cause=CollectionAccount.Cause.TIGHT_FUNDS,
        disposition=CollectionAccount.Disposition.WILLING_UNABLE,
        by=collector,
    )

    account.refresh_from_db()
    assert (account.default_cause, account.disposition) == ("tight_funds", "willing_unable")
    assert account.history.first().history_user == collector


def test_assessment_refuses_unknown_values(collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        set_assessment(
            dealer=DealerFactory(), default_cause="bad luck", disposition="", by=collector
        )

    assert error.value.field == "default_cause"


@pytest.mark.parametrize("role", ["finance", "auditor", "agency"])
def test_other_roles_cannot_record_the_assessment(role: str, request: Any) -> None:
    user = request.getfixturevalue({"agency": "agency_user"}.get(role, role))

    with pytest.raises(PermissionDenied):
        set_assessment(dealer=DealerFactory(), default_cause="", disposition="", by=user)


def test_manager_overrides_the_credit_hold_until_a_date(manager: Any) -> None:
    dealer = overdue_dealer(days=70)
    account_in(dealer, Stage.HARD)
    until = TODAY + dt.timedelta(days=14)

    account = override_credit_hold(
        dealer=dealer, until=until, reason="Harvest cash arrives", by=manager, today=TODAY
    )

    assert account.credit_hold_override_until == until
    assert account.credit_hold_override_by == manager
    assert account.credit_hold_overridden(TODAY)
    assert account.stage == Stage.HARD


def test_override_may_not_end_in_the_past(manager: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        override_credit_hold(
            dealer=DealerFactory(),
            until=TODAY - dt.timedelta(days=1),
            reason="Late",
            by=manager,
            today=TODAY,
        )

    assert error.value.field == "until"


@pytest.mark.parametrize("role", ["collector", "finance", "auditor", "agency"])
def test_only_a_manager_overrides_a_credit_hold(role: str, request: Any) -> None:
    user = request.getfixturevalue({"agency": "agency_user"}.get(role, role))

    with pytest.raises(PermissionDenied):
        override_credit_hold(
            dealer=DealerFactory(), until=TODAY, reason="Please", by=user, today=TODAY
        )
