"""The manager's team desk: the whole book at a glance (`dunning.desk` gathers it; this
view only picks the pages of its two long lists and renders)."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from dunning import desk
from dunning.views.common import AuthenticatedHttpRequest, forbidden
from receivables.dates import business_today
from receivables.roles import Role, role_of

COLLECTORS_PER_PAGE = 20
OVERRIDES_PER_PAGE = 10
WHOLE_BOOK_ONLY = gettext_lazy(
    "The team desk shows the whole book: it is for collection managers, finance and auditors."
)
MANAGERS_ONLY = gettext_lazy("Only a collection manager may recompute the team desk.")


def _may_recompute(request: AuthenticatedHttpRequest) -> bool:
    """Recomputing costs seconds of the database's time: a manager's call."""
    return role_of(request.user) == Role.MANAGER


def _pages(request: AuthenticatedHttpRequest, page: Page, param: str) -> dict[str, Any]:
    """A page of one of the desk's lists with its links: the desk has two lists, each
    turning its own query parameter, and a link keeps the other one's page."""

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"?{query.urlencode()}#desk-{param}"

    links = [
        {"number": number, "url": url(number) if isinstance(number, int) else ""}
        for number in page.paginator.get_elided_page_range(page.number)
    ]
    return {
        "page": page,
        "links": links,
        "previous": url(page.previous_page_number()) if page.has_previous() else "",
        "next": url(page.next_page_number()) if page.has_next() else "",
    }


@login_required
@require_GET
def team_desk(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not desk.sees_whole_book(request.user):
        return forbidden(request, str(WHOLE_BOOK_ONLY))
    today = business_today()
    figures = desk.cached_team_figures(today=today, now=timezone.now())
    shows_alerts = desk.sees_action_alerts(request.user)
    alert_count, alerts = desk.action_alerts() if shows_alerts else (0, [])
    collectors = Paginator(figures.collectors, COLLECTORS_PER_PAGE).get_page(
        request.GET.get("collectors")
    )
    overrides = Paginator(desk.active_overrides(today), OVERRIDES_PER_PAGE).get_page(
        request.GET.get("overrides")
    )
    return render(
        request,
        "dunning/desk/team_desk.html",
        {
            "figures": figures,
            "may_recompute": _may_recompute(request),
            "shows_alerts": shows_alerts,
            "alert_count": alert_count,
            "alerts": alerts,
            "collectors": _pages(request, collectors, "collectors"),
            "overrides": _pages(request, overrides, "overrides"),
        },
    )


@login_required
@require_POST
def refresh_team_desk(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Recompute the figures now, for a manager who cannot wait for the next round."""
    if not _may_recompute(request):
        return forbidden(request, str(MANAGERS_ONLY), back=reverse("team_desk"))
    desk.refresh_team_figures(today=business_today(), now=timezone.now())
    messages.success(request, gettext("The figures have been recomputed."))
    return redirect("team_desk")
