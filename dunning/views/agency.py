"""The agency portal: the worklist of the dealers placed with the agency, one dealer's
page with the forms an agency may submit (a contact, a promise, a recovery), and the
agency's commission. Only agency users come here; they see nothing internal (see
`dunning.agency`), and internal users keep their own pages."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from dunning import agency as queries
from dunning import services
from dunning.agency_forms import (
    AgencyContactForm,
    AgencyPromiseForm,
    AgencyWorklistForm,
    RecoveryForm,
)
from dunning.models import ContactLog
from dunning.services.agency import record_recovery
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from receivables.access import get_dealer_for_user
from receivables.models import Agency, Dealer
from receivables.templatetags.money import money

DEALERS_PER_PAGE = 50
ROWS_PER_PAGE = 20
MONTHS_PER_PAGE = 24


def _page_context(page: Any, prefix: str = "") -> dict[str, Any]:
    return {
        f"{prefix}page": page,
        f"{prefix}page_range": list(page.paginator.get_elided_page_range(page.number)),
    }


def _not_an_agency(request: AuthenticatedHttpRequest) -> HttpResponse:
    return forbidden(request, _("These pages are for collection agencies."))


def _with_agency(
    view: Callable[..., HttpResponse],
) -> Callable[..., HttpResponse]:
    """Let only agency users of an agency in, and hand the view their agency."""

    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        agency = queries.agency_of(request.user)
        if agency is None:
            return _not_an_agency(request)
        return view(request, agency, *args, **kwargs)

    wrapped.__name__ = view.__name__
    wrapped.__doc__ = view.__doc__
    return login_required(wrapped)


@_with_agency
@require_GET
def agency_worklist(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    """The dealers placed with the agency, most overdue first, searchable, paginated in
    the database."""
    today = services.business_today()
    form = AgencyWorklistForm(request.GET)
    search, sort = form.search_and_sort()
    dealers = queries.placed_dealers(request.user, agency, today=today, search=search, sort=sort)
    page = Paginator(dealers, DEALERS_PER_PAGE).get_page(request.GET.get("page"))
    rows = list(page.object_list)
    for dealer in rows:
        dealer.days_past_due = (today - dealer.oldest_due_on).days if dealer.oldest_due_on else 0
    return render(
        request,
        "dunning/agency/worklist.html",
        {
            **_page_context(page),
            "agency": agency,
            "dealers": rows,
            "form": form,
            "search": search,
            "sort": sort,
            "today": today,
        },
    )


def _dealer_url(dealer: Dealer, anchor: str = "") -> str:
    url = reverse("agency_dealer", args=[dealer.code])
    return f"{url}#{anchor}" if anchor else url


def _blank_forms(dealer: Dealer, today: dt.date) -> dict[str, forms.BaseForm]:
    now = timezone.localtime(timezone.now()).replace(second=0, microsecond=0)
    return {
        "contact_form": AgencyContactForm(
            prefix="contact",
            contacts=dealer.contacts.all(),
            initial={"at": now, "channel": ContactLog.Channel.PHONE},
        ),
        "promise_form": AgencyPromiseForm(prefix="promise"),
        "recovery_form": RecoveryForm(prefix="recovery", initial={"received_on": today}),
    }


def _agency_dealer(request: AuthenticatedHttpRequest, code: str, today: dt.date) -> Dealer:
    """The dealer, if placed with the user's agency (404 otherwise, as for any dealer
    out of sight); its figures derived for one dealer."""
    dealers = Dealer.objects.with_derived_balance(today).filter(agency__isnull=False)
    return get_dealer_for_user(request.user, code, dealers=dealers)


def _render_dealer(
    request: AuthenticatedHttpRequest,
    agency: Agency,
    dealer: Dealer,
    *,
    today: dt.date,
    bound: dict[str, forms.BaseForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    items = dealer.orders.open_at(today).order_by("due_on", "number")
    items_page = Paginator(items, ROWS_PER_PAGE).get_page(request.GET.get("items"))
    for order in items_page.object_list:
        order.days_late = max((today - order.due_on).days, 0)
    contacts_page = Paginator(queries.agency_contacts(dealer, agency), ROWS_PER_PAGE).get_page(
        request.GET.get("contacts")
    )
    promises_page = Paginator(queries.agency_promises(dealer, agency), ROWS_PER_PAGE).get_page(
        request.GET.get("promises")
    )
    context = {
        "agency": agency,
        "dealer": dealer,
        "today": today,
        "placed_since": queries.placement_of(dealer),
        "people": list(dealer.contacts.all()),
        "items_page": items_page,
        "contacts_page": contacts_page,
        "promises_page": promises_page,
        **_blank_forms(dealer, today),
        **(bound or {}),
    }
    return render(request, "dunning/agency/dealer.html", context, status=status)


@_with_agency
@require_GET
def agency_dealer(request: AuthenticatedHttpRequest, agency: Agency, code: str) -> HttpResponse:
    today = services.business_today()
    return _render_dealer(request, agency, _agency_dealer(request, code, today), today=today)


def _submit(
    request: AuthenticatedHttpRequest,
    agency: Agency,
    dealer: Dealer,
    *,
    name: str,
    form: forms.BaseForm,
    act: Callable[[], str],
    anchor: str,
    today: dt.date,
) -> HttpResponse:
    """Run the service when the form is sound: a redirect with a message when it is done;
    the page again with the errors beside the fields (400) when not; 403 when refused; a
    message when the state changed under the user."""
    if form.is_valid():
        try:
            done = act()
        except services.InvalidInput as error:
            put_error_on_form(form, error)
        except PermissionDenied as error:
            return forbidden(request, str(error), back=reverse("agency_worklist"))
        except services.WorkflowConflict as error:
            messages.error(request, str(error))
            return redirect(_dealer_url(dealer, anchor))
        else:
            messages.success(request, done)
            return redirect(_dealer_url(dealer, anchor))
    return _render_dealer(request, agency, dealer, today=today, bound={name: form}, status=400)


@_with_agency
@require_POST
def agency_contact(request: AuthenticatedHttpRequest, agency: Agency, code: str) -> HttpResponse:
    today = services.business_today()
    dealer = _agency_dealer(request, code, today)
    form = AgencyContactForm(request.POST, prefix="contact", contacts=dealer.contacts.all())

    def act() -> str:
        data = form.cleaned_data
        services.log_contact(
            dealer=dealer,
            channel=data["channel"],
            at=data["at"],
            outcome=data["outcome"],
            by=request.user,
            person=data["person"],
            note=data["note"],
            now=timezone.now(),
        )
        return _("Contact recorded.")

    return _submit(
        request,
        agency,
        dealer,
        name="contact_form",
        form=form,
        act=act,
        anchor="contacts",
        today=today,
    )


@_with_agency
@require_POST
def agency_promise(request: AuthenticatedHttpRequest, agency: Agency, code: str) -> HttpResponse:
    today = services.business_today()
    dealer = _agency_dealer(request, code, today)
    form = AgencyPromiseForm(request.POST, prefix="promise")

    def act() -> str:
        data = form.cleaned_data
        promise = services.make_promise(
            dealer=dealer,
            amount=data["amount"],
            due_on=data["due_on"],
            note=data["note"],
            by=request.user,
            today=today,
        )
        return _("Promise recorded: %(amount)s %(currency)s by %(due_on)s.") % {
            "amount": money(promise.amount),
            "currency": dealer.currency,
            "due_on": formats.date_format(promise.due_on, "DATE_FORMAT"),
        }

    return _submit(
        request,
        agency,
        dealer,
        name="promise_form",
        form=form,
        act=act,
        anchor="promises",
        today=today,
    )


@_with_agency
@require_POST
def agency_recovery(request: AuthenticatedHttpRequest, agency: Agency, code: str) -> HttpResponse:
    today = services.business_today()
    dealer = _agency_dealer(request, code, today)
    form = RecoveryForm(request.POST, prefix="recovery")

    def act() -> str:
        data = form.cleaned_data
        payment = record_recovery(
            dealer=dealer,
            agency_user=request.user,
            reference=data["reference"],
            received_on=data["received_on"],
            amount=data["amount"],
            today=today,
        )
        return _("Recovery %(reference)s of %(amount)s %(currency)s recorded.") % {
            "reference": payment.reference,
            "amount": money(payment.amount),
            "currency": dealer.currency,
        }

    return _submit(
        request,
        agency,
        dealer,
        name="recovery_form",
        form=form,
        act=act,
        anchor="recovery",
        today=today,
    )


@_with_agency
@require_GET
def agency_commission(request: AuthenticatedHttpRequest, agency: Agency) -> HttpResponse:
    """The agency's commission so far: money received while placed, by month and
    currency, and the totals per currency."""
    months = queries.commission_months(agency)
    page = Paginator(months, MONTHS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dunning/agency/commission.html",
        {
            **_page_context(page),
            "agency": agency,
            "lines": page.object_list,
            "totals": queries.commission_totals(months, agency),
            "today": services.business_today(),
        },
    )
