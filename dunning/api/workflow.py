"""The collection endpoints of the JSON API (docs/API.md "Collection"): promises, escalations
and the dealer's timeline, plus logging contacts and reporting dealer events.

Views here scope to the dealers the user may see (another portfolio's dealer is a 404),
parse, call one service and shape the answer. The services check what the user's role
may do; their refusals become 400 (bad input), 403 (role) and 409 (state conflict).
Money leaves as a string with two decimals, timestamps as ISO 8601 with an offset.
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any, Literal

from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest
from django.utils import timezone
from ninja import Field, Query, Router, Schema, Status
from ninja.responses import codes_4xx
from pydantic import StringConstraints

from dunning import services
from dunning.models import ContactLog, DealerEvent, Escalation, Excuse, Promise
from receivables.access import get_dealer_for_user
from receivables.api_types import (
    Day,
    DealerCode,
    Errors,
    MoneyIn,
    Note,
    Text,
    money,
    money_or_none,
    require,
    timestamp,
    username,
)
from receivables.models import Agency, Contact
from receivables.roles import Role, role_of

collection_router = Router(tags=["collection"])

# `closed`: a pending request the daily sweep closed because its move no longer applies
# (the dealer paid, the stage moved); nobody decided it, `decision_note` says why.
EscalationStatus = Literal["pending", "approved", "rejected", "closed"]

# --- Schemas --------------------------------------------------------------------------------


class PromiseIn(Schema):
    amount: MoneyIn
    due_on: Day = Field(description="The date the dealer named")
    note: Note = ""


class PromiseOut(Schema):
    id: int
    amount: str
    requested_due_on: dt.date = Field(description="As the dealer asked")
    due_on: dt.date = Field(description="Moved to the next business day if need be")
    status: Promise.Status
    note: str
    made_on: dt.date
    plan: int | None = Field(description="The installment plan it belongs to, if any")


class EscalationIn(Schema):
    to_stage: Annotated[str, Field(description="hard, litigation, agency or written_off")]
    reason: Note
    agency: Annotated[Text, StringConstraints(max_length=200)] | None = Field(
        None, description="For to_stage agency: the name of the agency to place it with"
    )


class DecisionIn(Schema):
    note: Note = ""


class EscalationQuery(Schema):
    status: EscalationStatus | None = None
    dealer: Annotated[Text, StringConstraints(max_length=40)] | None = Field(
        None, description="A dealer's code"
    )


class EscalationOut(Schema):
    id: int
    dealer: str
    to_stage: str
    status: EscalationStatus
    reason: str
    requested_by: str = Field(description='A username, or "system" for the daily sweep')
    requested_at: str
    requested_on: dt.date
    decided_by: str | None = Field(description="null while pending, and when closed by the sweep")
    decided_at: str | None
    decision_note: str
    agency: str | None = Field(description="The agency of a placement")


class ContactIn(Schema):
    channel: ContactLog.Channel
    outcome: ContactLog.Outcome
    at: dt.datetime | None = Field(None, description="When it happened; default now")
    person: int | None = Field(None, description="Id of one of the dealer's contacts")
    excuse: int | None = Field(None, description="Id of an excuse of the library")
    promise: int | None = Field(None, description="Id of a promise of the dealer")
    note: Note = ""


class ContactOut(Schema):
    id: int
    channel: str
    outcome: str
    at: str
    person: int | None
    excuse: str | None
    promise: int | None
    note: str
    logged_by: str | None
    broken_rule: str = Field(description='The policy rule the contact broke, or ""')


class EventIn(Schema):
    kind: DealerEvent.Kind
    occurred_on: Day
    note: Note = ""


class EventOut(Schema):
    id: int
    kind: str
    occurred_on: dt.date
    note: str
    reported_by: str | None
    reported_at: str
    proposed_escalation: EscalationOut | None


class TimelineEntryOut(Schema):
    kind: Literal["order", "payment", "promise", "contact", "letter", "stage_change"]
    on: dt.date
    at: str
    id: int
    reference: str
    amount: str | None
    summary: str
    by: str | None


# --- Helpers --------------------------------------------------------------------------------


def _promise_answer(promise: Promise) -> dict[str, Any]:
    return {
        "id": promise.pk,
        "amount": money(promise.amount),
        "requested_due_on": promise.requested_due_on,
        "due_on": promise.due_on,
        "status": promise.status,
        "note": promise.note,
        "made_on": promise.made_on,
        "plan": promise.plan_id,
    }


def _escalation_answer(escalation: Escalation) -> dict[str, Any]:
    return {
        "id": escalation.pk,
        "dealer": escalation.dealer.code,
        "to_stage": escalation.to_stage,
        "status": escalation.status,
        "reason": escalation.reason,
        "requested_by": username(escalation.requested_by) or "system",
        "requested_at": timestamp(escalation.requested_at),
        "requested_on": escalation.requested_on,
        "decided_by": username(escalation.decided_by),
        "decided_at": timestamp(escalation.decided_at),
        "decision_note": escalation.decision_note,
        "agency": escalation.agency.name if escalation.agency else None,
    }


def _escalation_by_id(escalation_id: int) -> dict[str, Any]:
    escalation = Escalation.objects.select_related(
        "dealer", "requested_by", "decided_by", "agency"
    ).get(pk=escalation_id)
    return _escalation_answer(escalation)


def _related(model: Any, pk: int | None, field: str, **scope: Any) -> Any:
    if pk is None:
        return None
    found = model.objects.filter(pk=pk, **scope).first()
    if found is None:
        raise services.InvalidInput(field, f"No {field} #{pk}.")
    return found


# --- Promises -------------------------------------------------------------------------------


@collection_router.post("/dealers/{code}/promises", response={201: PromiseOut, codes_4xx: Errors})
def make_promise(request: HttpRequest, code: DealerCode, payload: PromiseIn) -> Any:
    """Record a promise to pay. A date on a weekend or a public holiday of the dealer's
    country moves to the next business day; both dates are answered."""
    dealer = get_dealer_for_user(request.user, code)
    promise = services.make_promise(
        dealer=dealer,
        amount=payload.amount,
        due_on=payload.due_on,
        note=payload.note,
        by=request.user,  # type: ignore[arg-type]
        today=services.business_today(),
    )
    return Status(201, _promise_answer(promise))


@collection_router.get(
    "/dealers/{code}/promises", response={200: list[PromiseOut], codes_4xx: Errors}
)
def list_promises(request: HttpRequest, code: DealerCode) -> Any:
    """The dealer's promises, newest first."""
    require(request, "dunning.view_promise")
    dealer = get_dealer_for_user(request.user, code)
    promises = Promise.objects.filter(dealer=dealer).order_by("-made_on", "-created_at", "-id")
    if role_of(request.user) == Role.AGENCY:
        # An agency sees the promises its own people pinned down, not the team's.
        promises = promises.filter(made_by__agencies__users=request.user.pk).distinct()
    return Status(200, [_promise_answer(promise) for promise in promises])


# --- Escalations ----------------------------------------------------------------------------


@collection_router.post(
    "/dealers/{code}/escalations", response={201: EscalationOut, codes_4xx: Errors}
)
def request_escalation(request: HttpRequest, code: DealerCode, payload: EscalationIn) -> Any:
    """Ask a manager to move the account to hard collection, litigation, an agency or
    write-off. Answers the pending request."""
    dealer = get_dealer_for_user(request.user, code)
    agency = None
    if payload.agency is not None:
        agency = Agency.objects.filter(name=payload.agency).first()
        if agency is None:
            raise services.InvalidInput("agency", f"No agency named '{payload.agency}'.")
    escalation = services.request_escalation(
        dealer=dealer,
        to_stage=payload.to_stage,
        reason=payload.reason,
        by=request.user,  # type: ignore[arg-type]
        today=services.business_today(),
        agency=agency,
    )
    return Status(201, _escalation_by_id(escalation.pk))


@collection_router.get("/escalations", response={200: list[EscalationOut], codes_4xx: Errors})
def list_escalations(request: HttpRequest, query: Query[EscalationQuery]) -> Any:
    """Escalations of the dealers this user may see, newest first."""
    require(request, "dunning.view_escalation")
    escalations = Escalation.objects.visible_to(request.user).select_related(
        "dealer", "requested_by", "decided_by", "agency"
    )
    if query.status is not None:
        escalations = escalations.filter(status=query.status)
    if query.dealer is not None:
        escalations = escalations.filter(dealer__code=query.dealer)
    return Status(
        200, [_escalation_answer(e) for e in escalations.order_by("-requested_at", "-id")]
    )


def _decide(
    request: HttpRequest, escalation_id: int, payload: DecisionIn | None, decide: Any
) -> Any:
    require(request, "dunning.view_escalation")
    if not Escalation.objects.visible_to(request.user).filter(pk=escalation_id).exists():
        raise Http404(f"No escalation #{escalation_id}.")
    decide(
        escalation_id=escalation_id,
        by=request.user,
        note=payload.note if payload is not None else "",
        today=services.business_today(),
        now=timezone.now(),
    )
    return Status(200, _escalation_by_id(escalation_id))


@collection_router.post(
    "/escalations/{escalation_id}/approve", response={200: EscalationOut, codes_4xx: Errors}
)
def approve_escalation(
    request: HttpRequest, escalation_id: int, payload: DecisionIn | None = None
) -> Any:
    """Approve and move the account. 403 for the requester or a non-manager, 409 when
    already decided or when the move is no longer possible."""
    return _decide(request, escalation_id, payload, services.approve_escalation)


@collection_router.post(
    "/escalations/{escalation_id}/reject", response={200: EscalationOut, codes_4xx: Errors}
)
def reject_escalation(
    request: HttpRequest, escalation_id: int, payload: DecisionIn | None = None
) -> Any:
    """Reject; the account stays where it is. Same refusals as approving."""
    return _decide(request, escalation_id, payload, services.reject_escalation)


# --- Contacts and events --------------------------------------------------------------------


@collection_router.post("/dealers/{code}/contacts", response={201: ContactOut, codes_4xx: Errors})
def log_contact(request: HttpRequest, code: DealerCode, payload: ContactIn) -> Any:
    """Log a call, visit, e-mail, SMS or letter. One that breaks the policy's caps or
    quiet hours is still recorded, with `broken_rule` set, and the managers are told."""
    dealer = get_dealer_for_user(request.user, code)
    now = timezone.now()
    contact = services.log_contact(
        dealer=dealer,
        channel=payload.channel,
        at=payload.at or now,
        outcome=payload.outcome,
        by=request.user,  # type: ignore[arg-type]
        person=_related(Contact, payload.person, "person", dealer=dealer),
        excuse=_related(Excuse, payload.excuse, "excuse"),
        promise=_related(Promise, payload.promise, "promise", dealer=dealer),
        note=payload.note,
        now=now,
    )
    return Status(
        201,
        {
            "id": contact.pk,
            "channel": contact.channel,
            "outcome": contact.outcome,
            "at": timestamp(contact.at),
            "person": contact.person_id,
            "excuse": contact.excuse.text if contact.excuse else None,
            "promise": contact.promise_id,
            "note": contact.note,
            "logged_by": username(contact.logged_by),
            "broken_rule": contact.broken_rule,
        },
    )


@collection_router.post("/dealers/{code}/events", response={201: EventOut, codes_4xx: Errors})
def report_event(request: HttpRequest, code: DealerCode, payload: EventIn) -> Any:
    """Report a danger sign. The managers are alerted, and when the dealer owes anything
    an escalation is proposed (answered as `proposed_escalation`)."""
    dealer = get_dealer_for_user(request.user, code)
    event = services.report_event(
        dealer=dealer,
        kind=payload.kind,
        occurred_on=payload.occurred_on,
        note=payload.note,
        by=request.user,  # type: ignore[arg-type]
        today=services.business_today(),
    )
    proposed = event.proposed_escalation  # type: ignore[attr-defined]
    return Status(
        201,
        {
            "id": event.pk,
            "kind": event.kind,
            "occurred_on": event.occurred_on,
            "note": event.note,
            "reported_by": username(event.reported_by),
            "reported_at": timestamp(event.reported_at),
            "proposed_escalation": _escalation_by_id(proposed.pk) if proposed else None,
        },
    )


# --- Timeline -------------------------------------------------------------------------------


@collection_router.get(
    "/dealers/{code}/timeline", response={200: list[TimelineEntryOut], codes_4xx: Errors}
)
def dealer_timeline(request: HttpRequest, code: DealerCode) -> Any:
    """Orders, payments, promises, contacts, letters and stage changes, newest first (the
    newest 200)."""
    require(request, "dunning.view_collectionaccount")
    if role_of(request.user) == Role.AGENCY:
        # Stage changes carry escalation reasons and managers' decisions: internal.
        raise PermissionDenied("The timeline is internal to the collection team.")
    dealer = get_dealer_for_user(request.user, code)
    entries = services.timeline(dealer)
    return Status(
        200,
        [
            {
                "kind": entry["kind"],
                "on": entry["on"],
                "at": timestamp(entry["at"]),
                "id": entry["id"],
                "reference": entry["reference"],
                "amount": money_or_none(entry["amount"]),
                "summary": entry["summary"],
                "by": entry["by"],
            }
            for entry in entries
        ],
    )


__all__ = ["collection_router"]
