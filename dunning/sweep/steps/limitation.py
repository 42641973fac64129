"""The limitation warning: the claim of the oldest overdue order is about to lapse."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

from dunning.calendar import next_business_day_on_or_after
from dunning.figures import ACKNOWLEDGMENTS, DealerFacts, with_acknowledgments
from dunning.models import Alert, CollectionAccount, CollectionPolicy, Task
from dunning.sweep import rules
from receivables.dates import add_years
from receivables.models import Dealer


@dataclass
class LimitationWarnings:
    # An alert for the managers and an unassigned review task (managers see those) for
    # each dealer whose oldest overdue order nears the end of its limitation period.
    alerts: list[Alert] = field(default_factory=list)
    reviews: list[Task] = field(default_factory=list)


def warn_of_limitation(
    accounts: Mapping[int, CollectionAccount],
    facts: Mapping[int, DealerFacts],
    *,
    today: dt.date,
    policy: CollectionPolicy,
) -> LimitationWarnings:
    """Warn when the limitation period of the oldest overdue order nears (DOMAIN.md
    line 16), for accounts whose stage watches it: go to law, or get a signed
    acknowledgment of the debt."""
    warnings = LimitationWarnings()
    near = [
        dealer_id
        for dealer_id, account in accounts.items()
        if account.watches_limitation
        and (oldest := facts[dealer_id].oldest_due_on) is not None
        # The clock cannot start before the due date: most dealers are ruled out here.
        and rules.limitation_warning_from(oldest, policy) <= today
    ]
    if not near:
        return warnings
    rows = (
        with_acknowledgments(Dealer.objects.filter(pk__in=near))
        .order_by()
        # django-stubs cannot see the annotations of with_acknowledgments.
        .values_list("pk", *ACKNOWLEDGMENTS)  # type: ignore[misc]
    )
    for dealer_id, *acknowledged_on in rows:
        dealer_facts = facts[dealer_id]
        assert dealer_facts.oldest_due_on is not None
        start = rules.limitation_clock_start(dealer_facts.oldest_due_on, *acknowledged_on)
        if rules.limitation_warning_from(start, policy) > today:
            continue
        ends_on = add_years(start, policy.limitation_years)
        message = (
            f"The limitation period for {dealer_facts.code} ends on {ends_on:%Y-%m-%d} "
            f"({policy.limitation_years} years from the last acknowledgment, "
            f"{start:%Y-%m-%d}); {dealer_facts.overdue:.2f} is overdue. Go to law now or "
            "obtain a signed acknowledgment of the debt."
        )
        warnings.alerts.append(
            Alert(
                dealer_id=dealer_id,
                kind=Alert.Kind.LIMITATION,
                message=message,
                source_key=f"limitation:{dealer_id}:{start:%Y-%m-%d}",
            )
        )
        warnings.reviews.append(
            Task(
                dealer_id=dealer_id,
                assignee=None,
                kind=Task.Kind.REVIEW,
                due_on=next_business_day_on_or_after(dealer_facts.country, today),
                reason=message,
                source_key=f"limitation-review:{dealer_id}:{start:%Y-%m-%d}",
            )
        )
    return warnings
