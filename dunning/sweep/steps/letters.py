"""Letters of the overdue episode, and interest once a final demand's deadline passed."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Max

from dunning.calendar import next_business_day_on_or_after
from dunning.figures import DealerFacts
from dunning.models import CollectionAccount, CollectionPolicy, InterestCharge, Letter
from dunning.sweep import rules
from receivables.models import CENT, ZERO, Order


def load_cycle_letters(accounts: Mapping[int, CollectionAccount]) -> dict[int, list[Letter]]:
    """The reminders and final demands already issued in each account's current overdue
    episode, for the accounts the letter and interest steps look at."""
    in_cycle = {
        dealer_id: account.cycle_started_on
        for dealer_id, account in accounts.items()
        if (account.gets_letters or account.accrues_interest)
        and account.cycle_started_on is not None
    }
    cycle_letters: dict[int, list[Letter]] = defaultdict(list)
    if not in_cycle:
        return cycle_letters
    letters = Letter.objects.filter(
        dealer_id__in=list(in_cycle),
        kind__in=[Letter.Kind.REMINDER, Letter.Kind.FINAL_DEMAND],
        cycle_started_on__isnull=False,
    ).order_by("pk")
    for letter in letters:
        if letter.cycle_started_on == in_cycle[letter.dealer_id]:
            cycle_letters[letter.dealer_id].append(letter)
    return cycle_letters


@dataclass
class LetterDecisions:
    letters: list[Letter] = field(default_factory=list)


def issue_letters(
    accounts: Mapping[int, CollectionAccount],
    facts: Mapping[int, DealerFacts],
    cycle_letters: Mapping[int, list[Letter]],
    *,
    today: dt.date,
    policy: CollectionPolicy,
) -> LetterDecisions:
    """The letter the age of the debt calls for, once per overdue episode, for the
    accounts that get letters in their stage. A dealer first seen late gets the highest
    letter due, not the ones it skipped."""
    decisions = LetterDecisions()
    for dealer_id, account in accounts.items():
        dealer_facts = facts[dealer_id]
        if not account.gets_letters or dealer_facts.overdue_days <= 0:
            continue
        sent = cycle_letters.get(dealer_id, [])
        level = rules.next_letter_level(
            days_past_due=dealer_facts.overdue_days,
            sent_level=max((letter.level for letter in sent), default=0),
            last_sent_on=max((letter.issued_on for letter in sent), default=None),
            today=today,
            policy=policy,
        )
        if not level:
            continue
        letter = Letter(
            dealer_id=dealer_id,
            kind=rules.letter_kind(level),
            level=level,
            issued_on=today,
            cycle_started_on=account.cycle_started_on,
            amount=dealer_facts.overdue,
        )
        if level == rules.FINAL_DEMAND_LEVEL:
            # The written notice that interest at this rate runs after the deadline ("Interest after
            # written notice", docs/PRACTICE.md §13); a deadline on a day off moves to the next
            # business day.
            letter.interest_rate_percent = policy.interest_rate_percent
            letter.deadline = next_business_day_on_or_after(
                dealer_facts.country, today + dt.timedelta(days=policy.notice_deadline_days)
            )
        decisions.letters.append(letter)
    return decisions


@dataclass
class InterestDecisions:
    # An interest order with the charge that explains it, for each notice due a charge.
    charges: list[tuple[Order, InterestCharge]] = field(default_factory=list)

    @property
    def total(self) -> Decimal:
        return sum((order.amount for order, _ in self.charges), ZERO)


def post_interest(
    accounts: Mapping[int, CollectionAccount],
    facts: Mapping[int, DealerFacts],
    cycle_letters: Mapping[int, list[Letter]],
    *,
    today: dt.date,
    policy: CollectionPolicy,
) -> InterestDecisions:
    """Interest on the overdue feed orders named by a final demand of the episode, once its deadline
    has passed ("Interest after written notice", docs/PRACTICE.md §13), for accounts whose stage
    accrues it; posted as an interest order that payments settle.

    The principal is what is open today on sale orders due before the deadline; the
    period runs from the day after the deadline (or the last charge) to yesterday.
    """
    decisions = InterestDecisions()
    notices = [
        letter
        for dealer_id, letters in cycle_letters.items()
        if accounts[dealer_id].accrues_interest
        for letter in letters
        if letter.kind == Letter.Kind.FINAL_DEMAND
        and letter.deadline is not None
        and letter.deadline < today
        and letter.interest_rate_percent
    ]
    if not notices:
        return decisions
    last_charged = dict(
        InterestCharge.objects.filter(notice_id__in=[n.pk for n in notices])
        .values("notice_id")
        .annotate(last=Max("period_to"))
        .values_list("notice_id", "last")
    )
    due: list[tuple[Letter, dt.date, dt.date]] = []
    for notice in notices:
        assert notice.deadline is not None
        period = rules.interest_period(
            today=today,
            deadline=notice.deadline,
            last_period_to=last_charged.get(notice.pk),
            posting_days=policy.interest_posting_days,
        )
        if period is not None:
            due.append((notice, *period))
    if not due:
        return decisions
    open_orders: dict[int, list[tuple[dt.date, Decimal]]] = defaultdict(list)
    for dealer_id, due_on, open_amount in (
        Order.objects.filter(
            dealer_id__in=[n.dealer_id for n, _, _ in due],
            kind=Order.Kind.SALE,
            due_on__lt=today,
        )
        .open_at(today)
        .order_by()
        .values_list("dealer_id", "due_on", "open_amount")  # type: ignore[misc]
    ):
        open_orders[dealer_id].append((due_on, open_amount))
    for notice, period_from, period_to in due:
        assert notice.deadline is not None and notice.interest_rate_percent is not None
        owed = open_orders[notice.dealer_id]
        principal = sum((amount for due_on, amount in owed if due_on < notice.deadline), ZERO)
        days = (period_to - period_from).days + 1
        amount = rules.interest_amount(principal, notice.interest_rate_percent, days)
        if amount < CENT:
            continue
        number = f"INT-{facts[notice.dealer_id].code}-{today:%Y%m%d}"
        if len(number) > Order._meta.get_field("number").max_length:  # type: ignore[operator]
            number = f"INT-{notice.dealer_id}-{today:%Y%m%d}"
        order = Order(
            number=number,
            dealer_id=notice.dealer_id,
            kind=Order.Kind.INTEREST,
            ordered_on=today,
            due_on=today,
            amount=amount,
        )
        charge = InterestCharge(
            notice=notice,
            period_from=period_from,
            period_to=period_to,
            principal=principal,
            rate_percent=notice.interest_rate_percent,
        )
        decisions.charges.append((order, charge))
    return decisions
