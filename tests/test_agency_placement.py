"""Placement and stage agree: a dealer is placed with an agency (`Dealer.agency`) exactly
while its collection account is in the `agency` stage. Approving a placement sets the
agency; every move out of `agency` clears it in the same transaction, with the dealer's
history saying who and why. `assert_placements_agree` is the data check over the book."""

from __future__ import annotations

from typing import Any

import pytest

from dunning.models import CollectionAccount, Stage
from dunning.services import approve_escalation, request_escalation
from dunning.services.stages import move_stage
from receivables.models import Dealer
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer
from tests.factories import AgencyFactory


def assert_placements_agree() -> None:
    """Every dealer with an agency is in the `agency` stage, and every account in the
    `agency` stage has its dealer placed: the data check of the invariant."""
    placed_not_in_stage = Dealer.objects.filter(agency__isnull=False).exclude(
        account__stage=Stage.AGENCY
    )
    in_stage_not_placed = CollectionAccount.objects.filter(
        stage=Stage.AGENCY, dealer__agency__isnull=True
    )
    assert list(placed_not_in_stage.values_list("code", flat=True)) == []
    assert list(in_stage_not_placed.values_list("dealer__code", flat=True)) == []


def escalate(dealer: Any, to_stage: str, *, by: Any, manager: Any, **kwargs: Any) -> None:
    escalation = request_escalation(
        dealer=dealer, to_stage=to_stage, reason="Silent for months", by=by, today=TODAY, **kwargs
    )
    approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)


@pytest.fixture
def placed(collector: Any, manager: Any) -> Dealer:
    dealer = overdue_dealer(days=200, collector=collector, code="D-PLACE")
    account_in(dealer, Stage.HARD)
    escalate(
        dealer,
        Stage.AGENCY,
        by=collector,
        manager=manager,
        agency=AgencyFactory(name="Northern Recovery Ltd"),
    )
    return dealer


def test_approving_a_placement_places_the_dealer(placed: Dealer) -> None:
    placed.refresh_from_db()

    assert placed.agency is not None and placed.agency.name == "Northern Recovery Ltd"
    assert CollectionAccount.objects.get(dealer=placed).stage == Stage.AGENCY
    assert_placements_agree()


@pytest.mark.parametrize("to_stage", [Stage.WRITTEN_OFF, Stage.LITIGATION])
def test_leaving_the_agency_stage_ends_the_placement(
    placed: Dealer, collector: Any, manager: Any, to_stage: str
) -> None:
    escalate(placed, to_stage, by=collector, manager=manager)

    placed.refresh_from_db()
    assert CollectionAccount.objects.get(dealer=placed).stage == to_stage
    assert placed.agency is None
    assert_placements_agree()
    last = placed.history.order_by("-history_date", "-history_id").first()
    assert last is not None and last.agency_id is None
    assert last.history_user == manager
    assert last.history_change_reason.startswith("Placement with the agency ended:")


def test_a_move_out_of_agency_made_directly_ends_the_placement_too(
    placed: Dealer, manager: Any
) -> None:
    account = CollectionAccount.objects.get(dealer=placed)

    move_stage(account, "write_off", on=TODAY, by=manager, reason="Dealer vanished")

    placed.refresh_from_db()
    assert placed.agency is None
    assert_placements_agree()


def test_moves_that_do_not_leave_agency_keep_other_placements(
    placed: Dealer, collector: Any, manager: Any
) -> None:
    other = overdue_dealer(days=200, collector=collector, code="D-OTHER")
    account_in(other, Stage.SOFT)

    escalate(other, Stage.HARD, by=collector, manager=manager)
    escalate(other, Stage.LITIGATION, by=collector, manager=manager)

    placed.refresh_from_db()
    assert placed.agency is not None
    assert Dealer.objects.get(pk=other.pk).agency is None
    assert_placements_agree()


def test_a_placement_after_litigation_places_the_dealer_again(
    placed: Dealer, collector: Any, manager: Any
) -> None:
    placed.refresh_from_db()
    agency = placed.agency
    escalate(placed, Stage.LITIGATION, by=collector, manager=manager)
    assert Dealer.objects.get(pk=placed.pk).agency is None

    escalate(placed, Stage.AGENCY, by=collector, manager=manager, agency=agency)

    assert Dealer.objects.get(pk=placed.pk).agency == agency
    assert_placements_agree()
