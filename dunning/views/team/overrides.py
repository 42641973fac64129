"""Credit overrides: the credit-hold overrides running or recently ended, and ending one.
Managers end them; auditors read them but get no form (and a 403 page for a POST).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.formats import date_format
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dunning.models import CollectionAccount, Stage
from dunning.services import stages as stage_services
from dunning.services.errors import InvalidInput, WorkflowConflict
from dunning.team_forms import EndOverrideForm
from dunning.views.common import AuthenticatedHttpRequest, forbidden
from dunning.views.team.common import (
    may_change,
    paginate,
    read_only,
    team_context,
    team_page,
    with_query,
)
from receivables.access import get_dealer_for_user
from receivables.dates import business_today
from receivables.models import Dealer

if TYPE_CHECKING:
    from django.contrib.auth.models import User

OVERRIDES_PER_PAGE = 25
# Overrides that ran out (or were ended) this many days ago or less are listed.
ENDED_WITHIN_DAYS = 30


@dataclass
class OverrideRow:
    account: CollectionAccount
    stage_label: str
    days_left: int = 0
    reason_typed: str = ""
    error: str = ""


def _accounts(user: User) -> QuerySet[CollectionAccount]:
    """The accounts of the dealers this user sees; no condition for a whole book."""
    visible = Dealer.objects.visible_to(user)
    accounts = CollectionAccount.objects.all()
    if visible.query.has_filters():
        accounts = accounts.filter(dealer__in=visible)
    return accounts.select_related("dealer", "credit_hold_override_by")


def _render_overrides(
    request: AuthenticatedHttpRequest,
    *,
    failed: tuple[int, str, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    """The page; `failed` is (account id, reason typed, error) of a refused ending."""
    today = business_today()
    accounts = _accounts(request.user)
    running = accounts.filter(credit_hold_override_until__gte=today).order_by(
        "credit_hold_override_until", "dealer__code"
    )
    ended = stage_services.with_early_end(
        accounts.filter(
            credit_hold_override_until__lt=today,
            credit_hold_override_until__gte=today - dt.timedelta(days=ENDED_WITHIN_DAYS),
        )
    ).order_by("-credit_hold_override_until", "dealer__code")
    running_pager = paginate(request, running, OVERRIDES_PER_PAGE)
    ended_pager = paginate(request, ended, OVERRIDES_PER_PAGE, param="ended")
    stages = dict(Stage.choices)

    def rows(items: Iterable[CollectionAccount]) -> list[OverrideRow]:
        made = []
        for account in items:
            until = account.credit_hold_override_until
            row = OverrideRow(
                account=account,
                stage_label=stages.get(account.stage, account.stage),
                days_left=(until - today).days + 1 if until and until >= today else 0,
            )
            if failed is not None and failed[0] == account.pk:
                row.reason_typed, row.error = failed[1], failed[2]
            made.append(row)
        return made

    context = {
        **team_context(request, "overrides"),
        "today": today,
        "ended_within": ENDED_WITHIN_DAYS,
        "running": rows(running_pager.page.object_list),
        "running_pager": running_pager,
        "ended": rows(ended_pager.page.object_list),
        "ended_pager": ended_pager,
        "can_change": may_change(request) and request.user.has_perm("dunning.override_credit_hold"),
        "query": request.GET.urlencode(),
    }
    return render(request, "dunning/team/overrides.html", context, status=status)


@team_page(auditors_read=True)
@require_GET
def overrides(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render_overrides(request)


@team_page(auditors_read=True)
@require_POST
def end_override(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    back = with_query(request, reverse("team_overrides"))
    if not may_change(request):
        return forbidden(request, read_only(), back=back)
    dealer = get_dealer_for_user(request.user, code)
    account_id = (
        CollectionAccount.objects.filter(dealer=dealer).values_list("pk", flat=True).first() or 0
    )
    form = EndOverrideForm(request.POST)
    typed = request.POST.get("reason", "")
    if not form.is_valid():
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _render_overrides(request, failed=(account_id, typed, error), status=400)
    try:
        stage_services.end_credit_override(
            dealer=dealer,
            by=request.user,
            today=business_today(),
            reason=form.cleaned_data["reason"],
        )
    except InvalidInput as error:
        return _render_overrides(
            request, failed=(account_id, typed, str(error.message)), status=400
        )
    except PermissionDenied as error:
        return forbidden(request, str(error), back=back)
    except WorkflowConflict as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(back)
    messages.success(
        request,
        _(
            "The credit-hold override of %(code)s %(name)s ended: "
            "the hold applies again from today, %(today)s."
        )
        % {
            "code": dealer.code,
            "name": dealer.name,
            "today": date_format(business_today(), "j F Y"),
        },
    )
    return HttpResponseRedirect(back)


__all__ = [
    "end_override",
    "overrides",
]
