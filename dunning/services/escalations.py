"""Escalations: moves to hard collection, litigation, agency placement and write-off are
requested (by a collector, or proposed by the daily sweep) and decided by a manager who
is not the requester (DOMAIN.md line 7, "Firm, not abusive")."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.core.files import File
from django.db import IntegrityError, transaction

from dunning.models import (
    ESCALATED_STAGES,
    ESCALATION_TRANSITIONS,
    Alert,
    CollectionAccount,
    Escalation,
    Evidence,
    Stage,
)
from dunning.services.alerts import alert_managers
from dunning.services.common import check_text, require, stamp
from dunning.services.errors import (
    EscalationConflict,
    InvalidInput,
    PermissionDenied,
    TransitionNotAllowed,
)
from dunning.services.evidence import attach_evidence
from dunning.services.stages import can_move, ensure_account, load_facts, move_stage, why_not
from receivables.models import Agency, Dealer

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DECIDE_PERMISSION = "dunning.decide_escalation"


def _who(user: User | None) -> str:
    return user.get_username() if user is not None else "The daily sweep"


@transaction.atomic
def request_escalation(
    *,
    dealer: Dealer,
    to_stage: str,
    reason: str,
    by: User | None,
    today: dt.date,
    evidence: Iterable[Evidence | File] = (),
    agency: Agency | None = None,
) -> Escalation:
    """Ask a manager to move the account to `to_stage`; a placement names its `agency`.

    `by=None` is the daily sweep proposing it: a pending request for the same stage is
    then simply returned, so that the sweep may propose on every run. A user asking for
    a move that is already pending gets `InvalidInput`. `evidence` holds `Evidence` rows
    of the dealer or uploaded files, which are attached first.
    """
    require(by, "dunning.add_escalation")
    if to_stage not in ESCALATED_STAGES:
        allowed = ", ".join(ESCALATED_STAGES)
        raise InvalidInput("to_stage", f"'{to_stage}' is not one of: {allowed}.")
    reason = check_text("reason", reason)
    if to_stage == Stage.AGENCY and agency is None:
        raise InvalidInput("agency", "Name the agency the account is to be placed with.")
    if to_stage != Stage.AGENCY and agency is not None:
        raise InvalidInput("agency", "Only a placement with an agency names an agency.")
    ensure_account(dealer)
    # The account row lock serialises requests and decisions for one dealer.
    account = CollectionAccount.objects.select_for_update().get(dealer=dealer)

    pending = Escalation.objects.filter(
        dealer=dealer, to_stage=to_stage, status=Escalation.Status.PENDING
    ).first()
    if pending is not None:
        return _already_pending(pending, by)

    load_facts(account, on=today)
    verb = ESCALATION_TRANSITIONS[Stage(to_stage)]
    if not can_move(account, verb):
        raise InvalidInput(
            "to_stage", f"Cannot ask to move to {to_stage}: {why_not(account, verb)}."
        )

    files = _evidence_of(dealer, evidence, by=by)
    escalation = Escalation(
        dealer=dealer,
        to_stage=to_stage,
        reason=reason,
        requested_by=by,
        requested_on=today,
        agency=agency,
    )
    stamp(escalation, by=by, reason="Escalation requested")
    try:
        with transaction.atomic():
            escalation.save()
    except IntegrityError:
        # A concurrent request for the same stage won the unique constraint.
        pending = Escalation.objects.get(
            dealer=dealer, to_stage=to_stage, status=Escalation.Status.PENDING
        )
        return _already_pending(pending, by)
    escalation.evidence.set(files)
    alert_managers(
        dealer,
        kind=Alert.Kind.ESCALATION,
        message=(
            f"{_who(by)} asks to move {dealer.code} ({dealer.name}) from {account.stage} to "
            f"{to_stage}: {reason} (request #{escalation.pk})"
        ),
        source_key=f"escalation:{escalation.pk}",
    )
    return escalation


def _already_pending(pending: Escalation, by: User | None) -> Escalation:
    if by is None:
        return pending
    raise InvalidInput(
        "to_stage", f"A request to move to {pending.to_stage} is already pending (#{pending.pk})."
    )


def _evidence_of(
    dealer: Dealer, items: Iterable[Evidence | File], *, by: User | None
) -> list[Evidence]:
    found = []
    for item in items:
        if isinstance(item, Evidence):
            if item.dealer_id != dealer.pk:
                raise InvalidInput("evidence", f"Evidence #{item.pk} belongs to another dealer.")
            found.append(item)
        else:
            found.append(attach_evidence(dealer=dealer, file=item, description="", by=by))
    return found


def _decidable(escalation_id: int, by: User) -> Escalation:
    """The pending escalation, locked, if `by` may decide it."""
    if not by.has_perm(DECIDE_PERMISSION):
        raise PermissionDenied("Only a collection manager may decide an escalation.")
    escalation = (
        Escalation.objects.select_for_update(of=("self",))
        .select_related("dealer", "decided_by")
        .get(pk=escalation_id)
    )
    if escalation.requested_by_id == by.pk:
        raise PermissionDenied("You requested this escalation: another manager must decide it.")
    if escalation.status != Escalation.Status.PENDING:
        decided_by = escalation.decided_by.get_username() if escalation.decided_by else "someone"
        raise EscalationConflict(
            f"Escalation #{escalation.pk} was already {escalation.status} by {decided_by}."
        )
    return escalation


def _decide(
    escalation: Escalation, *, status: str, by: User, note: str, now: dt.datetime
) -> Escalation:
    escalation.status = status
    escalation.decided_by = by
    escalation.decided_at = now
    escalation.decision_note = note
    stamp(escalation, by=by, reason=f"Escalation {status}")
    escalation.save(update_fields=["status", "decided_by", "decided_at", "decision_note"])
    return escalation


@transaction.atomic
def approve_escalation(
    *, escalation_id: int, by: User, note: str = "", today: dt.date, now: dt.datetime
) -> Escalation:
    """Approve the request and move the account. Raises `PermissionDenied` for a
    non-manager or the requester, and `EscalationConflict` when the request was already
    decided or the move is no longer possible (the dealer paid meanwhile, say)."""
    note = check_text("note", note, required=False)
    escalation = _decidable(escalation_id, by)
    ensure_account(escalation.dealer)
    account = CollectionAccount.objects.select_for_update().get(dealer_id=escalation.dealer_id)
    why = f"Escalation #{escalation.pk} approved by {by.get_username()}: {escalation.reason}"
    if note:
        why += f" ({note})"
    try:
        move_stage(
            account,
            ESCALATION_TRANSITIONS[Stage(escalation.to_stage)],
            on=today,
            by=by,
            reason=why,
            escalation=escalation,
        )
    except TransitionNotAllowed as exc:
        raise EscalationConflict(
            f"Escalation #{escalation.pk} can no longer be approved: {exc} Reject it instead."
        ) from exc
    if escalation.to_stage == Stage.AGENCY and escalation.agency_id is not None:
        # The placement is what lets the agency's users see the account.
        dealer = escalation.dealer
        dealer.agency_id = escalation.agency_id
        stamp(dealer, by=by, reason=f"Placed with agency by escalation #{escalation.pk}")
        dealer.save(update_fields=["agency", "updated_at"])
    return _decide(escalation, status=Escalation.Status.APPROVED, by=by, note=note, now=now)


@transaction.atomic
def reject_escalation(
    *, escalation_id: int, by: User, note: str = "", today: dt.date, now: dt.datetime
) -> Escalation:
    """Reject the request; the account stays where it is. Same refusals as approving."""
    note = check_text("note", note, required=False)
    escalation = _decidable(escalation_id, by)
    return _decide(escalation, status=Escalation.Status.REJECTED, by=by, note=note, now=now)


__all__ = ["approve_escalation", "reject_escalation", "request_escalation"]
