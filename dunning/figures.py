"""Figures derived per dealer: the facts one SQL query gives, and from them the risk
class, the worklist priority and the credit hold. Nothing here is stored; every figure
is computed from the ledger and the workflow tables when asked.

Risk class ("Classify the debt", docs/PRACTICE.md §4), by the age of the oldest overdue
order, with the policy's thresholds (defaults in days):
    nothing past due            -> uncollected
    1 .. 90                     -> in_collection
    91 .. 365                   -> quasi_bad
    366 .. 730                  -> bad
    over 730                    -> dead
and raised by signals: hard collection or two broken promises in the window make it at
least quasi_bad; litigation, agency placement, a closure or bankruptcy at least bad;
a written-off account is dead.

Priority ("Prioritise", docs/PRACTICE.md §6), a score out of about 100; each part is shown to the
collector so that "why is this dealer first?" has an answer:
    amount overdue      up to 30   30 * log10(1 + overdue) / 6, capped (1,000,000 -> 30),
                                   the overdue amount in the reporting currency
    age                 up to 25   25 * days past due of the oldest order / 180, capped
    promise due today         15
    broken promises     up to 10   5 for each in the window
    risk class          up to 10   in_collection 2, quasi_bad 6, bad 10, dead 0
    credit limit use    up to 10   10 * (balance / credit limit) / 1.5, capped
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import models
from django.db.models import Count, Exists, F, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce

from dunning.models import (
    CREDIT_HOLD_STAGES,
    CollectionPolicy,
    DealerEvent,
    Promise,
    RiskClass,
    Stage,
)
from receivables.models import ZERO, Dealer, DealerQuerySet
from receivables.rates import MissingRate, Rates

DANGER_EVENTS = [DealerEvent.Kind.CLOSURE, DealerEvent.Kind.BANKRUPTCY]
RISK_POINTS = {
    RiskClass.UNCOLLECTED: Decimal(0),
    RiskClass.IN_COLLECTION: Decimal(2),
    RiskClass.QUASI_BAD: Decimal(6),
    RiskClass.BAD: Decimal(10),
    RiskClass.DEAD: Decimal(0),
}
_RISK_ORDER = list(RiskClass)


@dataclass
class DealerFacts:
    dealer_id: int
    code: str
    country: str
    currency: str
    time_zone: str
    collector_id: int | None
    credit_limit: Decimal
    balance: Decimal
    overdue: Decimal
    oldest_due_on: dt.date | None
    overdue_days: int
    stage: str
    broken_recent: int
    promise_due_today: bool
    danger_event: bool
    override_until: dt.date | None
    extra: dict = field(default_factory=dict)


def with_facts(
    dealers: DealerQuerySet, *, today: dt.date, policy: CollectionPolicy
) -> DealerQuerySet:
    """Annotate everything `DealerFacts` needs, for any number of dealers, in one query."""
    window_start = today - dt.timedelta(days=policy.broken_promise_window_days)
    broken = (
        Promise.objects.broken()
        .filter(dealer=OuterRef("pk"), due_on__gte=window_start, due_on__lt=today)
        .values("dealer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return dealers.with_balance(today).annotate(
        current_stage=Coalesce(F("account__stage"), Value(Stage.CURRENT.value)),
        override_until=F("account__credit_hold_override_until"),
        broken_recent=Coalesce(Subquery(broken), Value(0), output_field=models.IntegerField()),
        promise_due_today=Exists(
            Promise.objects.filter(dealer=OuterRef("pk"), status=Promise.Status.OPEN, due_on=today)
        ),
        danger_event=Exists(
            DealerEvent.objects.filter(dealer=OuterRef("pk"), kind__in=DANGER_EVENTS)
        ),
    )


def facts_from_row(dealer, today: dt.date) -> DealerFacts:  # type: ignore[no-untyped-def]
    """Build the facts from a dealer annotated by `with_facts`."""
    oldest = dealer.oldest_due_on
    return DealerFacts(
        dealer_id=dealer.pk,
        code=dealer.code,
        country=dealer.country,
        currency=dealer.currency,
        time_zone=dealer.time_zone,
        collector_id=dealer.collector_id,
        credit_limit=dealer.credit_limit,
        balance=dealer.balance,
        overdue=dealer.overdue,
        oldest_due_on=oldest,
        overdue_days=(today - oldest).days if oldest else 0,
        stage=dealer.current_stage,
        broken_recent=dealer.broken_recent,
        promise_due_today=dealer.promise_due_today,
        danger_event=dealer.danger_event,
        override_until=dealer.override_until,
    )


def facts_for(
    dealers: DealerQuerySet, *, today: dt.date, policy: CollectionPolicy | None = None
) -> dict[int, DealerFacts]:
    policy = policy or CollectionPolicy.current()
    return {d.pk: facts_from_row(d, today) for d in with_facts(dealers, today=today, policy=policy)}


def _at_least(current: RiskClass, floor: RiskClass) -> RiskClass:
    return max(current, floor, key=_RISK_ORDER.index)


def risk_class(facts: DealerFacts, policy: CollectionPolicy) -> RiskClass:
    if facts.stage == Stage.WRITTEN_OFF:
        return RiskClass.DEAD
    days = facts.overdue_days
    if days <= 0:
        return RiskClass.UNCOLLECTED
    if days > policy.dead_after_days:
        risk = RiskClass.DEAD
    elif days > policy.bad_after_days:
        risk = RiskClass.BAD
    elif days > policy.quasi_bad_after_days:
        risk = RiskClass.QUASI_BAD
    else:
        risk = RiskClass.IN_COLLECTION
    if facts.stage == Stage.HARD or facts.broken_recent >= policy.broken_promises_for_hard:
        risk = _at_least(risk, RiskClass.QUASI_BAD)
    if facts.stage in (Stage.LITIGATION, Stage.AGENCY) or facts.danger_event:
        risk = _at_least(risk, RiskClass.BAD)
    return risk


@dataclass(frozen=True)
class Priority:
    score: Decimal
    parts: dict[str, Decimal]
    # The overdue amount as the score compares it, in the reporting currency; None when
    # the dealer's currency has no rate, named in `missing_rate` (its amount scores 0).
    overdue_in_reporting: Decimal | None = None
    missing_rate: str = ""

    def explain(self) -> str:
        return ", ".join(f"{name} {points:.1f}" for name, points in self.parts.items() if points)


def priority(facts: DealerFacts, policy: CollectionPolicy, rates: Rates) -> Priority:
    """The worklist score. Amounts of dealers billed in different currencies are
    compared in the reporting currency (`rates`); a dealer whose currency has no rate
    gets no points for its amount and says which rate is missing, rather than have its
    koruna or zloty counted as euros."""
    try:
        overdue: Decimal | None = rates.to_reporting(max(facts.overdue, ZERO), facts.currency)
    except MissingRate:
        overdue = None
    if overdue is None:
        amount = Decimal(0)
    else:
        amount = min(Decimal(30), Decimal(30) * (Decimal(1) + overdue).log10() / 6)
    age = min(Decimal(25), Decimal(25) * Decimal(max(facts.overdue_days, 0)) / 180)
    promise = Decimal(15) if facts.promise_due_today else Decimal(0)
    broken = min(Decimal(10), Decimal(5) * facts.broken_recent)
    risk = RISK_POINTS[risk_class(facts, policy)]
    if facts.credit_limit > 0:
        use = min(Decimal(10), Decimal(10) * (facts.balance / facts.credit_limit) / Decimal("1.5"))
    else:
        use = Decimal(0)
    parts = {
        "amount overdue": amount,
        "age": age,
        "promise due today": promise,
        "broken promises": broken,
        "risk": risk,
        "credit limit use": max(use, Decimal(0)),
    }
    score = sum(parts.values(), Decimal(0)).quantize(Decimal("0.1"))
    return Priority(
        score,
        {k: v.quantize(Decimal("0.1")) for k, v in parts.items()},
        overdue_in_reporting=overdue,
        missing_rate="" if overdue is not None else facts.currency,
    )


@dataclass(frozen=True)
class CreditStatus:
    credit_hold: bool
    reason: str
    cash_only: bool


def credit_status(facts: DealerFacts, today: dt.date) -> CreditStatus:
    """Credit hold ("No new business before payment", docs/PRACTICE.md §12): in hard
    collection or beyond, or over the credit limit; a manager's override lifts it until
    a date."""
    reasons = []
    if facts.stage in CREDIT_HOLD_STAGES:
        reasons.append(f"account is in {Stage(facts.stage).label.lower()}")
    if facts.credit_limit > 0 and facts.balance > facts.credit_limit:
        reasons.append(
            f"open balance {facts.balance:.2f} {facts.currency} is over the credit limit "
            f"of {facts.credit_limit:.2f} {facts.currency}"
        )
    if not reasons:
        return CreditStatus(False, "No hold: credit terms apply.", False)
    if facts.override_until is not None and facts.override_until >= today:
        until = f"{facts.override_until:%Y-%m-%d}"
        return CreditStatus(
            False, f"Hold overridden by a manager until {until} ({'; '.join(reasons)}).", False
        )
    return CreditStatus(
        True, "Credit hold: " + "; ".join(reasons) + ". New orders cash only.", True
    )


@dataclass(frozen=True)
class CollectionSummary:
    stage: str
    risk_class: str
    credit: CreditStatus


def collection_summary(dealer: Dealer, today: dt.date) -> CollectionSummary:
    """Stage, risk class and credit status of one dealer as of `today`, from one query
    for the dealer's facts (the dealer endpoint and the order desk ask)."""
    policy = CollectionPolicy.current()
    facts = facts_for(Dealer.objects.filter(pk=dealer.pk), today=today, policy=policy)[dealer.pk]
    return CollectionSummary(
        stage=facts.stage,
        risk_class=risk_class(facts, policy).value,
        credit=credit_status(facts, today),
    )


__all__ = [
    "CollectionSummary",
    "DealerFacts",
    "Priority",
    "collection_summary",
    "credit_status",
    "facts_for",
    "priority",
    "risk_class",
    "with_facts",
]
