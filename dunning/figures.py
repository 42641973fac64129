"""Figures derived per dealer: the facts one SQL query gives (`with_facts`), the risk
class and the worklist priority computed in that same query (so that the worklist is
sorted and paginated in the database), and from the facts the credit hold. Nothing here
is stored: the ledger's figures come from `DealerQuerySet.with_balance` (kept per dealer
where fresh, see receivables/balances.py), the rest from the workflow tables.

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
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.db import models
from django.db.models import (
    Case,
    Count,
    Exists,
    ExpressionWrapper,
    F,
    Func,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Greatest, Least
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from dunning.models import (
    CREDIT_HOLD_STAGES,
    CollectionPolicy,
    DealerEvent,
    Letter,
    Promise,
    RiskClass,
    Stage,
)
from receivables.dates import add_years
from receivables.models import Dealer, DealerQuerySet, Order, Payment
from receivables.rates import rate_expression
from receivables.reports import DaysBetween, two_places
from receivables.templatetags.money import local_date, money

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
    # Computed in SQL with the facts (`with_facts`); None where the facts were built by hand.
    risk: RiskClass | None = None
    priority: Priority | None = None
    extra: dict = field(default_factory=dict)


def with_facts(
    dealers: DealerQuerySet, *, today: dt.date, policy: CollectionPolicy
) -> DealerQuerySet:
    """Annotate everything `DealerFacts` needs, for any number of dealers, in one query:
    the ledger's figures, the workflow's signals, and from them the risk class and the
    priority score with its parts (so that a list can be sorted by priority in SQL)."""
    window_start = today - dt.timedelta(days=policy.broken_promise_window_days)
    broken = (
        Promise.objects.broken()
        .filter(dealer=OuterRef("pk"), due_on__gte=window_start, due_on__lt=today)
        .values("dealer")
        .annotate(n=Count("pk"))
        .values("n")
    )
    facts = dealers.with_balance(today).annotate(
        current_stage=Coalesce(F("account__stage"), Value(Stage.CURRENT.value)),
        override_until=F("account__credit_hold_override_until"),
        broken_recent=Coalesce(Subquery(broken), Value(0), output_field=models.IntegerField()),
        promise_due_today=Exists(
            Promise.objects.filter(dealer=OuterRef("pk"), status=Promise.Status.OPEN, due_on=today)
        ),
        danger_event=Exists(
            DealerEvent.objects.filter(dealer=OuterRef("pk"), kind__in=DANGER_EVENTS)
        ),
        overdue_days=Coalesce(
            DaysBetween(Value(today, output_field=models.DateField()), F("oldest_due_on")),
            Value(0),
        ),
    )
    facts = facts.annotate(risk_rank=_risk_rank(policy))
    return facts.annotate(**_priority_parts(today)).annotate(
        priority_score=ToTenths(sum((F(name) for name in PRIORITY_PARTS), Value(0.0)))
    )


def _risk_rank(policy: CollectionPolicy) -> Case:
    """The risk class as its index in `RiskClass` (docs/PRACTICE.md §4): by the age of
    the oldest overdue order, raised by the signals, dead once written off."""
    by_age = Case(
        When(overdue_days__gt=policy.dead_after_days, then=Value(_rank(RiskClass.DEAD))),
        When(overdue_days__gt=policy.bad_after_days, then=Value(_rank(RiskClass.BAD))),
        When(overdue_days__gt=policy.quasi_bad_after_days, then=Value(_rank(RiskClass.QUASI_BAD))),
        default=Value(_rank(RiskClass.IN_COLLECTION)),
    )
    # Hard collection or enough broken promises: at least quasi-bad; litigation, an
    # agency, a closure or a bankruptcy: at least bad.
    raised_to = Case(
        When(
            Q(current_stage__in=[Stage.LITIGATION, Stage.AGENCY]) | Q(danger_event=True),
            then=Value(_rank(RiskClass.BAD)),
        ),
        When(
            Q(current_stage=Stage.HARD) | Q(broken_recent__gte=policy.broken_promises_for_hard),
            then=Value(_rank(RiskClass.QUASI_BAD)),
        ),
        default=Value(_rank(RiskClass.UNCOLLECTED)),
    )
    return Case(
        When(current_stage=Stage.WRITTEN_OFF, then=Value(_rank(RiskClass.DEAD))),
        When(Q(overdue_days__lte=0) | Q(oldest_due_on__isnull=True), then=Value(0)),
        default=Greatest(by_age, raised_to),
        output_field=models.IntegerField(),
    )


class Log10(Func):
    """The decimal logarithm in floating point. (Django's `Log` computes in PostgreSQL's
    arbitrary-precision numeric, a hundred times slower over a worklist of thousands.)"""

    function = "LOG"
    output_field = models.FloatField()

    def as_sqlite(self, compiler: Any, connection: Any, **extra: Any) -> Any:
        # Django's SQLite backend provides LOG(base, x).
        return self.as_sql(compiler, connection, template="LOG(10, %(expressions)s)", **extra)


class ToTenths(Func):
    """A score rounded to one decimal, as shown and sorted (cheap numeric, not
    Django's `Round` with its numeric(1000, 15) cast)."""

    template = "ROUND(CAST(%(expressions)s AS NUMERIC), 1)"
    output_field = models.DecimalField()


class PointsByRank(Func):
    """`CASE rank WHEN 0 THEN p0 WHEN 1 THEN p1 ... END`: the points of each rank, with the
    rank's expression written (and computed) once rather than once per rank."""

    output_field = models.DecimalField()

    def __init__(self, rank: Any, points: list[Decimal]) -> None:
        whens = " ".join(f"WHEN {index} THEN {value:f}" for index, value in enumerate(points))
        super().__init__(rank, template=f"CASE %(expressions)s {whens} ELSE 0 END")


def _rank(risk: RiskClass) -> int:
    return _RISK_ORDER.index(risk)


def _points(expression: Any, cap: float) -> Least:
    """`expression` as points between 0 and `cap`."""
    return Least(Greatest(expression, Value(0.0)), Value(cap))


def _as_float(name: str) -> Cast:
    return Cast(F(name), models.FloatField())


def _priority_parts(today: dt.date) -> dict[str, Any]:
    """The parts of the priority score (docs/PRACTICE.md §6) as SQL, one annotation each:
    see the module's docstring for the scale. The amount overdue is compared in the
    reporting currency; without a rate for the dealer's currency it scores nothing."""
    in_reporting = F("overdue") * rate_expression(F("currency"), today)
    risk_points = Cast(
        PointsByRank(F("risk_rank"), [RISK_POINTS[risk] for risk in _RISK_ORDER]),
        models.FloatField(),
    )
    return {
        "overdue_in_reporting": ExpressionWrapper(
            in_reporting, output_field=models.DecimalField(max_digits=24, decimal_places=8)
        ),
        "amount_points": Coalesce(
            _points(
                Value(30.0)
                * Log10(Value(1.0) + Cast(in_reporting, models.FloatField()))
                / Value(6.0),
                30.0,
            ),
            Value(0.0),
        ),
        "age_points": _points(Value(25.0) * _as_float("overdue_days") / Value(180.0), 25.0),
        "promise_points": Case(
            When(promise_due_today=True, then=Value(15.0)),
            default=Value(0.0),
            output_field=models.FloatField(),
        ),
        "broken_points": _points(Value(5.0) * _as_float("broken_recent"), 10.0),
        "risk_points": risk_points,
        "use_points": Case(
            When(
                credit_limit__gt=0,
                then=_points(
                    Value(10.0) * _as_float("balance") / _as_float("credit_limit") / Value(1.5),
                    10.0,
                ),
            ),
            default=Value(0.0),
            output_field=models.FloatField(),
        ),
    }


# The annotations of `_priority_parts` that add up to the score, with their names as shown.
# The names stay plain English strings: they are the keys of `Priority.parts`, which the
# API and `Priority.explain` write as they are. They are marked for the catalogs
# (`gettext_noop`) so that a page translates them where it shows them
# (`{% translate name %}`).
PRIORITY_PARTS = {
    "amount_points": gettext_noop("amount overdue"),
    "age_points": gettext_noop("age"),
    "promise_points": gettext_noop("promise due today"),
    "broken_points": gettext_noop("broken promises"),
    "risk_points": gettext_noop("risk"),
    "use_points": gettext_noop("credit limit use"),
}


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
        risk=_RISK_ORDER[dealer.risk_rank],
        priority=priority_from_row(dealer),
    )


def priority_from_row(dealer) -> Priority:  # type: ignore[no-untyped-def]
    """The priority of a dealer annotated by `with_facts`, its parts to one decimal."""
    in_reporting = dealer.overdue_in_reporting
    return Priority(
        score=_tenths(dealer.priority_score),
        parts={label: _tenths(getattr(dealer, name)) for name, label in PRIORITY_PARTS.items()},
        overdue_in_reporting=None if in_reporting is None else two_places(Decimal(in_reporting)),
        missing_rate="" if in_reporting is not None else dealer.currency,
    )


def _tenths(value: float | Decimal) -> Decimal:
    return Decimal(str(value)).quantize(Decimal("0.1"), rounding=ROUND_HALF_UP)


def facts_for(
    dealers: DealerQuerySet, *, today: dt.date, policy: CollectionPolicy | None = None
) -> dict[int, DealerFacts]:
    policy = policy or CollectionPolicy.current()
    return {d.pk: facts_from_row(d, today) for d in with_facts(dealers, today=today, policy=policy)}


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


@dataclass(frozen=True)
class CreditStatus:
    credit_hold: bool
    reason: str
    cash_only: bool


def credit_status(facts: DealerFacts, today: dt.date, *, localized: bool = False) -> CreditStatus:
    """Credit hold ("No new business before payment", docs/PRACTICE.md §12): in hard
    collection or beyond, or over the credit limit; a manager's override lifts it until
    a date. The reason is in the active language; `localized` also writes its amounts
    and date the reader's way (a page), else plainly (`1234.50`, ISO dates: the API)."""

    def amount(value: Decimal) -> str:
        return money(value) if localized else f"{value:.2f}"

    reasons = []
    if facts.stage in CREDIT_HOLD_STAGES:
        reasons.append(_("account is in %(stage)s") % {"stage": Stage(facts.stage).label.lower()})
    if facts.credit_limit > 0 and facts.balance > facts.credit_limit:
        reasons.append(
            _(
                "open balance %(balance)s %(currency)s is over the credit limit "
                "of %(limit)s %(currency)s"
            )
            % {
                "balance": amount(facts.balance),
                "limit": amount(facts.credit_limit),
                "currency": facts.currency,
            }
        )
    if not reasons:
        return CreditStatus(False, _("No hold: credit terms apply."), False)
    joined = "; ".join(reasons)
    if facts.override_until is not None and facts.override_until >= today:
        until = (
            local_date(facts.override_until) if localized else f"{facts.override_until:%Y-%m-%d}"
        )
        return CreditStatus(
            False,
            _("Hold overridden by a manager until %(until)s (%(reasons)s).")
            % {"until": until, "reasons": joined},
            False,
        )
    return CreditStatus(
        True, _("Credit hold: %(reasons)s. New orders cash only.") % {"reasons": joined}, True
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
    assert facts.risk is not None  # computed by with_facts
    return CollectionSummary(
        stage=facts.stage,
        risk_class=facts.risk.value,
        credit=credit_status(facts, today),
    )


@dataclass(frozen=True)
class LimitationStanding:
    last_acknowledged_on: dt.date | None
    limitation_on: dt.date | None


# The dealer's acknowledgments of the debt, as `with_acknowledgments` names them.
ACKNOWLEDGMENTS = ("last_payment_on", "last_promise_on", "last_confirmed_on")


def with_acknowledgments(dealers: DealerQuerySet) -> DealerQuerySet:
    """Annotate the dealer's acknowledgments of the debt that restart the limitation
    clock (`dunning.sweep.rules.limitation_clock_start`): `last_payment_on`,
    `last_promise_on` and `last_confirmed_on` (the reply date of the latest confirmed
    reconciliation letter)."""
    last_payment = Payment.objects.filter(dealer=OuterRef("pk")).order_by("-received_on")
    last_promise = Promise.objects.filter(dealer=OuterRef("pk")).order_by("-made_on")
    last_confirmed = Letter.objects.filter(
        dealer=OuterRef("pk"), kind=Letter.Kind.RECONCILIATION, reply=Letter.Reply.CONFIRMED
    ).order_by("-replied_on")
    return dealers.annotate(
        last_payment_on=Subquery(last_payment.values("received_on")[:1]),
        last_promise_on=Subquery(last_promise.values("made_on")[:1]),
        last_confirmed_on=Subquery(last_confirmed.values("replied_on")[:1]),
    )


def limitation_standing(dealer: Dealer, today: dt.date) -> LimitationStanding:
    """The day the dealer last acknowledged the debt (a payment, a promise or a confirmed
    reconciliation) and the day
    its oldest open claim becomes time-barred, counted from its due date or that
    acknowledgment, whichever is later ("Limitation", docs/PRACTICE.md §16), in one query;
    None when nothing is open."""
    from dunning.sweep.rules import limitation_clock_start  # the sweep's rule, one home

    row = (
        with_acknowledgments(Dealer.objects.filter(pk=dealer.pk))
        .annotate(
            oldest_open_due_on=Subquery(
                Order.objects.filter(dealer=OuterRef("pk"))
                .open_at(today)
                .order_by("due_on")
                .values("due_on")[:1]
            ),
        )
        .values(*ACKNOWLEDGMENTS, "oldest_open_due_on")
        .get()
    )
    acknowledged = [row[name] for name in ACKNOWLEDGMENTS]
    last_acknowledged_on = max((d for d in acknowledged if d is not None), default=None)
    oldest = row["oldest_open_due_on"]
    if oldest is None:
        return LimitationStanding(last_acknowledged_on, None)
    start = limitation_clock_start(oldest, *acknowledged)
    policy = CollectionPolicy.current()
    return LimitationStanding(last_acknowledged_on, add_years(start, policy.limitation_years))


__all__ = [
    "ACKNOWLEDGMENTS",
    "CollectionSummary",
    "DealerFacts",
    "Priority",
    "collection_summary",
    "credit_status",
    "facts_for",
    "limitation_standing",
    "priority_from_row",
    "with_acknowledgments",
    "with_facts",
]
