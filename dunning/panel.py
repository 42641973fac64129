"""What the collection panel of one dealer shows, gathered by one function so that the
page only renders it: the figures, the rules' verdicts (risk, priority, credit, may we
call) and the recent history. The forms on the page are the view's business."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING

from django.db.models import Count

from dunning import services
from dunning.calendar import CallPermission
from dunning.figures import (
    CreditStatus,
    DealerFacts,
    Priority,
    credit_status,
    facts_for,
)
from dunning.models import (
    CollectionAccount,
    CollectionPolicy,
    ContactLog,
    DealerEvent,
    Escalation,
    Evidence,
    Excuse,
    Promise,
    RiskClass,
    Stage,
    StageChange,
    Task,
)
from dunning.services import TimelineEntry
from dunning.services.contacts import call_permission_for
from receivables.models import Dealer

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

# How much history the panel shows; the timeline at the bottom has the rest in one list.
TIMELINE_LIMIT = 50
RECENT_STAGE_CHANGES = 20
RECENT_ESCALATIONS = 10
RECENT_PROMISES = 30
RECENT_CONTACTS = 20
RECENT_EVENTS = 20
RECENT_EVIDENCE = 50
TOP_EXCUSES = 5


@dataclass(frozen=True)
class CollectionPanel:
    """Everything the panel shows about one dealer on one business day. The field names
    are the names the template reads."""

    dealer: Dealer
    today: dt.date
    account: CollectionAccount | None  # None until the daily sweep or a user opens one
    facts: DealerFacts
    stage_label: str
    risk: RiskClass
    priority: Priority
    credit: CreditStatus
    call: CallPermission
    reliability: Decimal | None  # percent of decided promises kept; None without any
    stage_changes: list[StageChange]
    escalations: list[Escalation]
    promises: list[Promise]
    contacts: list[ContactLog]
    top_excuses: list[Excuse]  # each with `times`: how often this dealer gave it
    events: list[DealerEvent]
    evidence: list[Evidence]
    tasks: list[Task]  # the open ones, whoever they are assigned to
    timeline: list[TimelineEntry]
    can_override: bool  # may this user lift a credit hold


def collection_panel(
    dealer: Dealer,
    *,
    user: User | AnonymousUser,
    today: dt.date,
    now: dt.datetime,
    policy: CollectionPolicy | None = None,
) -> CollectionPanel:
    """The panel of `dealer` as `user` sees it on `today` at `now`. Costs the same number
    of queries however long the dealer's history is."""
    policy = policy or CollectionPolicy.current()
    account = CollectionAccount.objects.filter(dealer=dealer).first()
    facts = facts_for(Dealer.objects.filter(pk=dealer.pk), today=today, policy=policy)[dealer.pk]
    assert facts.risk is not None and facts.priority is not None  # computed by with_facts
    return CollectionPanel(
        dealer=dealer,
        today=today,
        account=account,
        facts=facts,
        stage_label=Stage(facts.stage).label,
        risk=RiskClass(facts.risk),
        priority=facts.priority,
        credit=credit_status(facts, today, localized=True),
        call=call_permission_for(dealer, policy=policy, at=now),
        reliability=services.promise_reliability(dealer, today=today),
        stage_changes=list(dealer.stage_changes.select_related("by")[:RECENT_STAGE_CHANGES]),
        escalations=list(
            dealer.escalations.select_related("requested_by", "decided_by", "agency")[
                :RECENT_ESCALATIONS
            ]
        ),
        promises=list(dealer.promises.select_related("plan")[:RECENT_PROMISES]),
        contacts=list(
            dealer.contact_logs.select_related("person", "excuse", "logged_by")[:RECENT_CONTACTS]
        ),
        top_excuses=list(
            Excuse.objects.filter(contactlog__dealer=dealer)
            .annotate(times=Count("contactlog"))
            .order_by("-times", "position")[:TOP_EXCUSES]
        ),
        events=list(dealer.events.select_related("reported_by")[:RECENT_EVENTS]),
        evidence=list(dealer.evidence.select_related("uploaded_by")[:RECENT_EVIDENCE]),
        tasks=list(dealer.tasks.filter(done_at__isnull=True).select_related("assignee")),
        timeline=services.timeline(dealer, limit=TIMELINE_LIMIT, localized=True),
        can_override=user.has_perm("dunning.override_credit_hold"),
    )
