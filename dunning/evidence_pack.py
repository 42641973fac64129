"""The escalation evidence pack: one PDF for the manager who decides an escalation.

It holds the escalation's own facts, the dealer's statement of account (the orders open
today), the letters sent with their posting and return receipt (and the replies to
reconciliation letters), the contact log, the promises to pay and their outcomes, the
installment plans, the danger-sign events and the evidence files on record.

`build_pack` gathers it in a constant number of queries, one per kind of row, whatever
the number of rows; `render_pdf` lays it out from `templates/dunning/evidence_pack.html`
with WeasyPrint, fetching nothing from the network (`printing.local_only_fetcher`). The
pack is a snapshot of the evidence at the moment it is asked for: rendered on request,
never stored.
"""

from __future__ import annotations

import datetime as dt
import re
from collections import defaultdict
from dataclasses import dataclass
from decimal import Decimal
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db.models import Exists, OuterRef, QuerySet
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import get_valid_filename
from django.utils.translation import gettext

from dunning.models import (
    CollectionAccount,
    ContactLog,
    DealerEvent,
    Escalation,
    Evidence,
    InstallmentPlan,
    Letter,
    Promise,
)
from dunning.printing import local_only_fetcher
from receivables.models import ZERO, Dealer, Order
from receivables.roles import role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TEMPLATE = "dunning/evidence_pack.html"

# What the pack reads of the escalation itself, in the query that finds it.
ESCALATION_RELATED = (
    "dealer",
    "dealer__account",
    "dealer__collector",
    "requested_by",
    "decided_by",
    "agency",
)


@dataclass(frozen=True)
class StatementLine:
    """An order open today: what it was for, what is paid and what is still open."""

    order: Order
    paid: Decimal
    open: Decimal
    days_late: int


@dataclass(frozen=True)
class PlanSummary:
    """An installment plan with its installments (promises) and how they went."""

    plan: InstallmentPlan
    installments: list[Promise]
    total: Decimal
    received: Decimal
    kept: int
    broken: int
    open: int


@dataclass(frozen=True)
class EvidenceFile:
    """An evidence file of the dealer's, and whether it was filed with this escalation."""

    evidence: Evidence
    name: str
    attached: bool


@dataclass(frozen=True)
class EvidencePack:
    """Everything the pack shows; the field names are the names the template reads."""

    escalation: Escalation
    dealer: Dealer
    account: CollectionAccount | None
    today: dt.date
    generated_at: dt.datetime
    prepared_for: str
    prepared_for_role: str
    statement: list[StatementLine]
    total_open: Decimal
    total_overdue: Decimal
    oldest_days_late: int
    letters: list[Letter]
    replies: list[Letter]  # the reconciliation letters the dealer answered
    contacts: list[ContactLog]
    promises: list[Promise]
    promises_kept: int
    promises_broken: int
    plans: list[PlanSummary]
    events: list[DealerEvent]
    evidence: list[EvidenceFile]

    @property
    def filename(self) -> str:
        """The download's name: the dealer's code and the escalation's id."""
        code = get_valid_filename(self.dealer.code) or "dealer"
        return f"evidence-pack-{code}-escalation-{self.escalation.pk}.pdf"


def escalation_for_pack(escalations: QuerySet[Escalation], pk: int) -> Escalation:
    """The escalation `pk` among `escalations` (the ones the user may see), with what the
    pack reads of it; `Escalation.DoesNotExist` when it is not among them."""
    return escalations.select_related(*ESCALATION_RELATED).get(pk=pk)


def build_pack(
    escalation: Escalation, *, today: dt.date, now: dt.datetime, prepared_for: User
) -> EvidencePack:
    """The pack of `escalation` (found by `escalation_for_pack`) on business day `today`,
    for the user `prepared_for`. One query per kind of row."""
    dealer = escalation.dealer
    try:
        account: CollectionAccount | None = dealer.account
    except CollectionAccount.DoesNotExist:
        account = None

    orders = list(
        Order.objects.filter(dealer=dealer).open_at(today).order_by("due_on", "number", "id")
    )
    statement = []
    for order in orders:
        open_amount: Decimal = order.open_amount  # type: ignore[attr-defined]
        statement.append(
            StatementLine(
                order=order,
                paid=order.amount - open_amount,
                open=open_amount,
                days_late=order.days_past_due(today),
            )
        )
    overdue = [line for line in statement if line.days_late > 0]

    letters = list(Letter.objects.filter(dealer=dealer).order_by("issued_on", "created_at", "id"))
    contacts = list(
        ContactLog.objects.filter(dealer=dealer)
        .select_related("person", "excuse", "logged_by")
        .order_by("at", "id")
    )
    promises = list(
        Promise.objects.filter(dealer=dealer)
        .select_related("made_by")
        .order_by("made_on", "created_at", "id")
    )
    plans = list(
        InstallmentPlan.objects.filter(dealer=dealer)
        .select_related("made_by")
        .order_by("made_on", "id")
    )
    events = list(
        DealerEvent.objects.filter(dealer=dealer)
        .select_related("reported_by")
        .order_by("occurred_on", "reported_at", "id")
    )
    filed_with_this = Escalation.evidence.through.objects.filter(
        escalation_id=escalation.pk, evidence_id=OuterRef("pk")
    )
    evidence = [
        EvidenceFile(
            evidence=item,
            name=PurePosixPath(item.file.name or "").name,
            attached=item.attached,  # type: ignore[attr-defined]
        )
        for item in Evidence.objects.filter(dealer=dealer)
        .select_related("uploaded_by")
        .annotate(attached=Exists(filed_with_this))
        .order_by("uploaded_at", "id")
    ]

    role = role_of(prepared_for)
    return EvidencePack(
        escalation=escalation,
        dealer=dealer,
        account=account,
        today=today,
        generated_at=now,
        prepared_for=prepared_for.get_full_name() or prepared_for.get_username(),
        prepared_for_role=role.value if role is not None else "",
        statement=statement,
        total_open=sum((line.open for line in statement), ZERO),
        total_overdue=sum((line.open for line in overdue), ZERO),
        oldest_days_late=max((line.days_late for line in overdue), default=0),
        letters=letters,
        replies=[letter for letter in letters if letter.reply],
        contacts=contacts,
        promises=promises,
        promises_kept=sum(1 for p in promises if p.status == Promise.Status.KEPT),
        promises_broken=sum(1 for p in promises if p.is_broken),
        plans=_plan_summaries(plans, promises),
        events=events,
        evidence=evidence,
    )


def _plan_summaries(plans: list[InstallmentPlan], promises: list[Promise]) -> list[PlanSummary]:
    by_plan: dict[int, list[Promise]] = defaultdict(list)
    for promise in promises:
        if promise.plan_id is not None:
            by_plan[promise.plan_id].append(promise)
    summaries = []
    for plan in plans:
        installments = sorted(by_plan[plan.pk], key=lambda p: (p.due_on, p.pk))
        summaries.append(
            PlanSummary(
                plan=plan,
                installments=installments,
                total=sum((p.amount for p in installments), ZERO),
                received=sum((p.received_amount for p in installments), ZERO),
                kept=sum(1 for p in installments if p.status == Promise.Status.KEPT),
                broken=sum(1 for p in installments if p.is_broken),
                open=sum(1 for p in installments if p.status == Promise.Status.OPEN),
            )
        )
    return summaries


# Rendering


def css_string(text: str) -> str:
    """`text` as a quoted CSS string, safe inside a <style> element: quotes, backslashes,
    angle brackets and control characters are written as CSS escapes."""
    escaped = "".join(
        f"\\{ord(char):x} " if char in '"\\<>' or ord(char) < 0x20 or ord(char) == 0x7F else char
        for char in text
    )
    return f'"{escaped}"'


_COUNTERS = {"%(page)s": "counter(page)", "%(pages)s": "counter(pages)"}


def page_counter_css() -> SafeString:
    """The CSS `content` of the "Page X of Y" footer, in the active language (the
    translation may put the numbers in another order)."""
    label = gettext("Page %(page)s of %(pages)s")
    parts = re.split(r"(%\(pages?\)s)", label)
    content = " ".join(_COUNTERS.get(part) or css_string(part) for part in parts if part)
    # Safe: the counters are fixed and every text part went through css_string.
    return mark_safe(content)


def pack_context(pack: EvidencePack) -> dict[str, Any]:
    return {
        "pack": pack,
        "escalation": pack.escalation,
        "dealer": pack.dealer,
        "company": {
            "name": settings.COMPANY_NAME,
            "address": settings.COMPANY_ADDRESS.splitlines(),
        },
        "paper": "letter" if settings.LETTER_PAPER.lower() == "letter" else "A4",
        "page_counter": page_counter_css(),
        # Quoted CSS strings for the page margins, escaped by css_string.
        "running_head": mark_safe(
            css_string(
                gettext("Evidence pack, escalation #%(id)s of %(code)s %(name)s")
                % {"id": pack.escalation.pk, "code": pack.dealer.code, "name": pack.dealer.name}
            )
        ),
        "running_foot": mark_safe(
            css_string(f"{settings.COMPANY_NAME} · {gettext('Confidential')}")
        ),
    }


def render_html(pack: EvidencePack) -> str:
    """The pack as HTML, with dates and times in the business time zone."""
    with timezone.override(ZoneInfo(settings.BUSINESS_TIME_ZONE)):
        return render_to_string(TEMPLATE, pack_context(pack))


def render_pdf(pack: EvidencePack) -> bytes:
    """The pack as PDF bytes (not stored: it is a snapshot of the evidence now)."""
    from weasyprint import HTML

    pdf: bytes = HTML(
        string=render_html(pack), url_fetcher=local_only_fetcher(), base_url="/"
    ).write_pdf()
    return pdf


__all__ = [
    "EvidenceFile",
    "EvidencePack",
    "PlanSummary",
    "StatementLine",
    "build_pack",
    "css_string",
    "escalation_for_pack",
    "render_html",
    "render_pdf",
]
