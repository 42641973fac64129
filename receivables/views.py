"""Ledger pages: dashboard, dealer list and detail, aging report.

Every page starts from `Dealer.objects.visible_to(request.user)`; balances and aging come
from the model QuerySets, computed in SQL, so each page costs a fixed number of queries
however many dealers or orders it shows.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import Count, F, Prefetch, Q, Sum
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils.cache import patch_vary_headers
from django.views.decorators.http import require_GET

from receivables.access import get_dealer_for_user
from receivables.dates import business_today
from receivables.forms import BUCKET_LABELS, AgingForm, DealerFilterForm
from receivables.models import MONEY_FIELD, ZERO, Allocation, Dealer, DealerQuerySet
from receivables.rates import rate_expression

DEALERS_PER_PAGE = 25
PAYMENTS_PER_PAGE = 20
TOP_OVERDUE_ON_HOME = 10


def _visible_dealers(request: HttpRequest) -> DealerQuerySet:
    return Dealer.objects.visible_to(request.user)


def _is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that wants only the swapped part, not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    today = business_today()
    # Every visible dealer's figures (kept per dealer where fresh), added up per currency:
    # dealers are billed in their own currency, and euros and zlotys do not add up.
    figures = _visible_dealers(request).with_balance(today)
    totals = list(
        figures.values("currency")
        .annotate(
            total_balance=Sum("balance", default=ZERO, output_field=MONEY_FIELD),
            total_overdue=Sum("overdue", default=ZERO, output_field=MONEY_FIELD),
            overdue_dealers=Count("pk", filter=Q(overdue__gt=0)),
        )
        .filter(Q(total_balance__gt=0) | Q(total_overdue__gt=0))
        .order_by("currency")
    )
    return render(
        request,
        "receivables/home.html",
        {
            "today": today,
            "totals": [
                {
                    "currency": row["currency"],
                    "balance": row["total_balance"],
                    "overdue": row["total_overdue"],
                    "overdue_dealers": row["overdue_dealers"],
                }
                for row in totals
            ],
            "overdue_dealers": sum(row["overdue_dealers"] for row in totals),
            "most_overdue": _most_overdue(figures, today),
            "reporting_currency": settings.REPORTING_CURRENCY,
        },
    )


def _most_overdue(figures: DealerQuerySet, today: dt.date) -> list[Dealer]:
    """The dealers owing most past due, compared in the reporting currency, in one query.
    A dealer whose currency has no rate comes last rather than be compared unconverted."""
    ranked = (
        figures.filter(Q(overdue__gt=0))
        .annotate(in_reporting=F("overdue") * rate_expression(F("currency"), today))
        .order_by(F("in_reporting").desc(nulls_last=True), "code")[:TOP_OVERDUE_ON_HOME]
    )
    return _with_days_past_due(list(ranked), today)


def _page_range(page: Page) -> list[int | str]:
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


def _with_days_past_due(dealers: list[Dealer], today: dt.date) -> list[Dealer]:
    """Set `days_past_due` on dealers annotated by `with_balance`: the age of the oldest
    overdue item, or None when nothing is overdue."""
    for dealer in dealers:
        oldest: dt.date | None = getattr(dealer, "oldest_due_on", None)
        dealer.days_past_due = (today - oldest).days if oldest else None  # type: ignore[attr-defined]
    return dealers


@login_required
@require_GET
def dealer_list(request: HttpRequest) -> HttpResponse:
    today = business_today()
    dealers = _visible_dealers(request)
    form = DealerFilterForm(request.GET or None, dealers=dealers, user=request.user)
    found = form.filter_dealers(
        dealers.with_balance(today).select_related("collector"), today=today
    )
    page = Paginator(found, DEALERS_PER_PAGE).get_page(request.GET.get("page"))
    _with_days_past_due(list(page.object_list), today)
    context = {
        "form": form,
        "page": page,
        "page_range": _page_range(page),
        "dealers": page.object_list,
        "sort": form.sort_key,
        "today": today,
    }
    template = (
        "receivables/_dealer_table.html"
        if _is_fragment_request(request)
        else "receivables/dealer_list.html"
    )
    response = render(request, template, context)
    # The same URL answers with a fragment or a page: caches must tell them apart.
    patch_vary_headers(response, ["HX-Request"])
    return response


@login_required
@require_GET
def dealer_detail(request: HttpRequest, code: str) -> HttpResponse:
    today = business_today()
    dealer = get_dealer_for_user(
        request.user,
        code,
        # One dealer: derived from its open orders (the kept figures serve lists).
        dealers=Dealer.objects.with_derived_balance(today).select_related("collector", "agency"),
    )
    open_items = list(dealer.orders.open_at(today).order_by("due_on", "number"))
    for order in open_items:
        order.days_late = order.days_past_due(today)  # type: ignore[attr-defined]
    payments = dealer.payments.order_by("-received_on", "-reference").prefetch_related(
        Prefetch(
            "allocations",
            queryset=Allocation.objects.select_related("order").order_by("applied_on", "id"),
        )
    )
    payments_page = Paginator(payments, PAYMENTS_PER_PAGE).get_page(request.GET.get("page"))
    balance: Decimal = dealer.balance  # type: ignore[attr-defined]
    credit_use = (
        (balance * 100 / dealer.credit_limit).quantize(Decimal("1"))
        if dealer.credit_limit > 0
        else None
    )
    return render(
        request,
        "receivables/dealer_detail.html",
        {
            "dealer": dealer,
            "today": today,
            "contacts": dealer.contacts.all(),
            "open_items": open_items,
            "payments_page": payments_page,
            "payments_page_range": _page_range(payments_page),
            "unapplied_credit": dealer.unapplied_credit(),
            "credit_use": credit_use,
            "show_admin_history": request.user.is_staff
            and request.user.has_perm("receivables.view_dealer"),
        },
    )


@login_required
@require_GET
def aging_report(request: HttpRequest) -> HttpResponse:
    today = business_today()
    dealers = _visible_dealers(request)
    data = request.GET.copy()
    if not data.get("as_of"):
        data["as_of"] = today.isoformat()
    form = AgingForm(data, dealers=dealers, user=request.user)
    reports = []
    if form.is_valid():
        as_of = form.cleaned_data["as_of"]
        orders = form.orders(dealers)
        # One report per currency: adding euros to zlotys would mean nothing.
        for currency in form.currencies(dealers):
            report = orders.filter(dealer__currency=currency).aging(as_of)
            reports.append({**report, "currency": currency, "rows": _aging_rows(report)})
    return render(
        request,
        "receivables/aging_report.html",
        {
            "form": form,
            "reports": reports,
            "today": today,
            # The dealer list shows today's ledger, so buckets link to it only for today.
            "link_buckets": form.is_valid() and form.cleaned_data["as_of"] == today,
        },
    )


def _aging_rows(report: dict) -> list[dict]:
    """The report's buckets with a label and a bar width relative to the largest one."""
    largest = max((b["amount"] for b in report["buckets"]), default=ZERO)
    rows = []
    for bucket in report["buckets"]:
        share = bucket["amount"] * 100 / largest if largest > 0 else ZERO
        rows.append(
            {
                **bucket,
                "label": BUCKET_LABELS[bucket["key"]],
                # A string with a dot whatever the locale: it goes into CSS.
                "bar_width": f"{share.quantize(Decimal('0.1'))}",
            }
        )
    return rows
