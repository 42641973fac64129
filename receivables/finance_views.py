"""The finance desk: the import in the browser (upload, check, confirm, progress) and
payments entered by hand with a preview of their allocation.

Finance and managers use it: the import needs `receivables.view_importjob` to be seen
and `receivables.add_importjob` to upload or confirm, the payments
`receivables.add_payment`; anyone else gets the 403 page. The work is done by
`receivables.importing.jobs` and `receivables.payment_preview`; these views scope,
call one of them and render. Every page costs a fixed number of queries.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Exists, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.formats import date_format
from django.utils.translation import gettext
from django.views.decorators.http import require_GET, require_POST

from receivables.dates import business_today
from receivables.finance_forms import (
    FILE_LABELS,
    ImportUploadForm,
    PaymentFilterForm,
    PaymentForm,
)
from receivables.importing import jobs
from receivables.models import (
    MONEY_FIELD,
    ZERO,
    Allocation,
    Dealer,
    DealerQuerySet,
    ImportJob,
    Payment,
)
from receivables.payment_preview import HAND_ENTRY_REASON, preview_payment, record_payment

if TYPE_CHECKING:
    from django.contrib.auth.models import User

    class AuthenticatedHttpRequest(HttpRequest):
        user: User

else:
    AuthenticatedHttpRequest = HttpRequest

ADD_PAYMENT = "receivables.add_payment"
VIEW_IMPORTS = "receivables.view_importjob"
ADD_IMPORTS = "receivables.add_importjob"
PAYMENTS_PER_PAGE = 25
ALLOCATIONS_PER_PAGE = 50
JOBS_PER_PAGE = 10
ERRORS_PER_PAGE = 50
RECENT_ON_DESK = 8


def forbidden(request: HttpRequest, message: str) -> HttpResponse:
    """The 403 page for a role that may not do this, with a way back."""
    return render(request, "receivables/finance/forbidden.html", {"message": message}, status=403)


def finance_page(*perms: str) -> Callable[[Callable[..., HttpResponseBase]], Callable]:
    """Logged in and holding any of `perms`, else the 403 page."""

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @login_required
        @functools.wraps(view)
        def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> Any:
            if not any(request.user.has_perm(perm) for perm in perms):
                return forbidden(request, gettext("The finance desk is for finance and managers."))
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _page_range(page: Page) -> list[int | str]:
    return list(page.paginator.get_elided_page_range(page.number, on_each_side=2, on_ends=1))


def _is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that wants only the swapped part, not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


# --- The desk -----------------------------------------------------------------------------


@finance_page(ADD_PAYMENT, VIEW_IMPORTS)
@require_GET
def desk(request: AuthenticatedHttpRequest) -> HttpResponse:
    now = timezone.now()
    can_import = request.user.has_perm(VIEW_IMPORTS)
    can_pay = request.user.has_perm(ADD_PAYMENT)
    job = None
    if can_import:
        # Only one job is active at a time, and always the latest: it is the current or
        # the last import.
        job = _jobs().first()
    recent = []
    if can_pay:
        recent = list(_hand_entries_of(request.user, _visible_dealers(request)))
    return render(
        request,
        "receivables/finance/desk.html",
        {
            "job": job,
            "job_status": job.status_on(now) if job else "",
            "job_label": _status_label(job.status_on(now)) if job else "",
            "job_blocks": bool(job and job.blocks_on(now)),
            "can_import": can_import,
            "can_start": request.user.has_perm(ADD_IMPORTS),
            "can_pay": can_pay,
            "recent": recent,
        },
    )


# --- The import ---------------------------------------------------------------------------


def _jobs() -> QuerySet[ImportJob]:
    """Jobs with their people, without their (possibly long) list of bad rows."""
    return ImportJob.objects.select_related("started_by", "confirmed_by").defer("errors")


@finance_page(VIEW_IMPORTS)
def import_start(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The upload form (while no other import is active) and the recent imports."""
    now = timezone.now()
    may_upload = request.user.has_perm(ADD_IMPORTS)
    status = 200
    form = ImportUploadForm()
    if request.method == "POST":
        if not may_upload:
            return forbidden(request, gettext("Your role may see imports but not start one."))
        form = ImportUploadForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                job = jobs.start_import(files=form.files_by_kind(), user=request.user, now=now)
            except jobs.ImportBusy as busy:
                form.add_error(None, _busy_message(busy.job))
                status = 409
            else:
                return redirect("finance_import_job", pk=job.pk)
        else:
            status = 400
    elif request.method != "GET":
        return HttpResponse(status=405)
    active = jobs.blocking_job(now=now)
    page = Paginator(_jobs(), JOBS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "receivables/finance/import.html",
        {
            "form": form,
            "may_upload": may_upload,
            "active": active,
            "busy_message": _busy_message(active) if active else "",
            "page": page,
            "page_range": _page_range(page),
            "jobs": [
                {
                    "job": job,
                    "status": job.status_on(now),
                    "label": _status_label(job.status_on(now)),
                    "files": _labelled(job.files),
                }
                for job in page.object_list
            ],
        },
        status=status,
    )


def _status_label(status: str) -> str:
    return str(ImportJob.Status(status).label)


def _labelled(files: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A job's files (or their counts) with the words for their kind."""
    return [{**f, "label": FILE_LABELS.get(f["kind"], f["kind"])} for f in files]


def _busy_message(job: ImportJob | None) -> str:
    """Why an upload is refused: whose import runs, since when, and what it is doing."""
    if job is None:
        return gettext("Another import has just started; try again in a moment.")
    doing: dict[str, str] = {
        ImportJob.Status.CHECKING: gettext("its files are being checked"),
        ImportJob.Status.CHECKED: gettext("it awaits confirmation"),
        ImportJob.Status.IMPORTING: gettext("it is importing"),
    }
    return gettext(
        "One import at a time: %(who)s started one on %(when)s and %(doing)s. Upload "
        "again once it has finished, or has been confirmed or discarded."
    ) % {
        "who": job.started_by.get_username() if job.started_by else gettext("someone"),
        "when": date_format(timezone.localtime(job.created_at), "Y-m-d H:i"),
        "doing": doing.get(job.status, job.get_status_display()),
    }


@finance_page(VIEW_IMPORTS)
@require_GET
def import_job(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One import: its progress while it runs (htmx polls `_import_job.html`), its bad
    rows after a failed check, what it would change and the Confirm button after a
    clean one, what it changed after the import."""
    job = get_object_or_404(ImportJob.objects.select_related("started_by", "confirmed_by"), pk=pk)
    context = _job_context(request, job)
    template = (
        "receivables/finance/_import_job.html"
        if _is_fragment_request(request)
        else "receivables/finance/import_job.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


def _job_context(request: AuthenticatedHttpRequest, job: ImportJob) -> dict[str, Any]:
    now = timezone.now()
    status = job.status_on(now)
    errors = Paginator(job.errors, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    is_owner = job.started_by_id == request.user.pk
    may_act = is_owner and request.user.has_perm(ADD_IMPORTS)
    return {
        "job": job,
        "status": status,
        "status_label": _status_label(status),
        "files": _labelled(job.files),
        "running": status in (ImportJob.Status.CHECKING, ImportJob.Status.IMPORTING),
        "progress": jobs.progress_of(job),
        "errors_page": errors,
        "errors_page_range": _page_range(errors),
        "errors_not_kept": job.error_count - len(job.errors),
        "can_confirm": may_act and status == ImportJob.Status.CHECKED,
        "can_discard": may_act and status in (ImportJob.Status.CHECKING, ImportJob.Status.CHECKED),
        "confirm_by": job.confirm_by(now),
        "summary": _labelled(
            job.result_files if status == ImportJob.Status.DONE else job.check_files
        ),
    }


@finance_page(ADD_IMPORTS)
@require_POST
def import_confirm(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(ImportJob, pk=pk)
    try:
        jobs.confirm_import(job_id=pk, user=request.user, now=timezone.now())
    except jobs.JobRefused as refused:
        messages.error(request, _refusal_message(refused.reason, confirming=True))
    else:
        messages.success(request, gettext("Import confirmed: it runs now."))
    return redirect("finance_import_job", pk=pk)


@finance_page(ADD_IMPORTS)
@require_POST
def import_discard(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    get_object_or_404(ImportJob, pk=pk)
    try:
        jobs.discard_import(job_id=pk, user=request.user, now=timezone.now())
    except jobs.JobRefused as refused:
        messages.error(request, _refusal_message(refused.reason, confirming=False))
        return redirect("finance_import_job", pk=pk)
    messages.success(request, gettext("Import discarded: nothing was written."))
    return redirect("finance_import")


def _refusal_message(reason: str, *, confirming: bool) -> str:
    if reason == "not_yours":
        return gettext("Only whoever uploaded the files may confirm or discard this import.")
    if reason == "expired":
        return gettext(
            "This check was not confirmed within the hour; upload the files again to import them."
        )
    if confirming:
        return gettext("This import cannot be confirmed: it is not awaiting confirmation.")
    return gettext("This import can no longer be discarded.")


# --- Payments -----------------------------------------------------------------------------


def _visible_dealers(request: AuthenticatedHttpRequest) -> DealerQuerySet:
    return Dealer.objects.visible_to(request.user)


def _payments_of(dealers: DealerQuerySet) -> QuerySet[Payment]:
    """The payments of these dealers; for a user who sees the whole book, no condition
    (as `OrderQuerySet.of_dealers`)."""
    if not dealers.query.has_filters():
        return Payment.objects.all()
    return Payment.objects.filter(dealer__in=dealers)


def _creation() -> QuerySet[Any]:
    """The history record of each payment's creation, correlated on the payment."""
    history = Payment.history.model  # type: ignore[attr-defined]
    return history.objects.filter(id=OuterRef("pk"), history_type="+")


def _with_entry(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    """Annotate who entered each payment by hand (None for one the ERP sent) and when it
    was recorded, from its history (by the payment's id, an index)."""
    hand = _creation().filter(history_change_reason=HAND_ENTRY_REASON)
    return payments.annotate(
        entered_by=Subquery(hand.values("history_user__username")[:1]),
        by_hand=Exists(hand),
        recorded_at=Subquery(_creation().values("history_date")[:1]),
    )


def _with_applied(payments: QuerySet[Payment]) -> QuerySet[Payment]:
    applied = (
        Allocation.objects.filter(payment=OuterRef("pk"))
        .values("payment")
        .annotate(total=Sum("amount"))
        .values("total")
    )
    return payments.annotate(
        applied=Coalesce(Subquery(applied), ZERO, output_field=MONEY_FIELD),
        credit=F("amount") - F("applied"),
    )


def _hand_entries_of(user: User, dealers: DealerQuerySet) -> QuerySet[Payment]:
    """The payments this user entered by hand lately, newest first: read from the user's
    own history records (an index), never from the whole book's history."""
    history = Payment.history.model  # type: ignore[attr-defined]
    mine = (
        history.objects.filter(
            history_user=user, history_type="+", history_change_reason=HAND_ENTRY_REASON
        )
        .order_by("-history_date")
        .values("id")[:RECENT_ON_DESK]
    )
    payments = _payments_of(dealers).filter(pk__in=Subquery(mine)).select_related("dealer")
    return _with_applied(_with_entry(payments)).order_by("-recorded_at", "-pk")


@finance_page(ADD_PAYMENT)
@require_GET
def payment_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Every payment the user may see, newest recorded first, by dealer and date."""
    form = PaymentFilterForm(request.GET or None)
    payments = _payments_of(_visible_dealers(request))
    if form.is_valid():
        data = form.cleaned_data
        if code := data["dealer"].strip():
            payments = payments.filter(dealer__code=code)
        if data["received_from"]:
            payments = payments.filter(received_on__gte=data["received_from"])
        if data["received_to"]:
            payments = payments.filter(received_on__lte=data["received_to"])
    # Newest recorded first: the primary key orders them by an index on any book.
    shown = _with_applied(_with_entry(payments.select_related("dealer"))).order_by("-pk")
    page = Paginator(shown, PAYMENTS_PER_PAGE).get_page(request.GET.get("page"))
    for payment in page.object_list:
        payment.method_label = payment.get_method_display()  # type: ignore[attr-defined]
    return render(
        request,
        "receivables/finance/payment_list.html",
        {
            "form": form,
            "page": page,
            "page_range": _page_range(page),
            "payments": page.object_list,
            "filtered": form.is_bound,
        },
        status=200 if not form.is_bound or form.is_valid() else 400,
    )


@finance_page(ADD_PAYMENT)
def payment_new(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Enter a payment: the form, then its preview (which orders it settles, what stays
    as credit), then Save. Save posts the same values again: they are checked and
    allocated anew, never taken from the preview."""
    today = business_today()
    dealers = _visible_dealers(request)
    context: dict[str, Any] = {"today": today}
    if request.method == "GET":
        initial = {
            "received_on": today,
            "method": Payment.Method.TRANSFER,
            "dealer": request.GET.get("dealer", ""),
        }
        form = PaymentForm(initial=initial, dealers=dealers, today=today)
        return _payment_form(request, form, context)
    if request.method != "POST":
        return HttpResponse(status=405)
    action = request.POST.get("action", "preview")
    if action == "edit":
        # Back from the preview to change something: the values, without refusals yet.
        form = PaymentForm(initial=request.POST.dict(), dealers=dealers, today=today)
        return _payment_form(request, form, context)
    form = PaymentForm(request.POST, dealers=dealers, today=today)
    if not form.is_valid():
        return _payment_form(request, form, context, status=400)
    entry = form.entry()
    try:
        if action == "save":
            payment = record_payment(entry, user=request.user, today=today)
        else:
            context["preview"] = preview_payment(entry, user=request.user, today=today)
    except ValidationError as refused:
        _put_on_form(form, refused)
        return _payment_form(request, form, context, status=400)
    if action != "save":
        context["method_label"] = Payment.Method(entry.method).label
        return _payment_form(request, form, context)
    messages.success(
        request,
        gettext("Payment %(reference)s of %(dealer)s recorded.")
        % {"reference": payment.reference, "dealer": entry.dealer.code},
    )
    return HttpResponseRedirect(reverse("finance_payment", args=[payment.pk]))


def _payment_form(
    request: HttpRequest, form: PaymentForm, context: dict[str, Any], *, status: int = 200
) -> HttpResponse:
    return render(
        request, "receivables/finance/payment_new.html", {**context, "form": form}, status=status
    )


def _put_on_form(form: PaymentForm, refused: ValidationError) -> None:
    """A service's refusal next to the field it names, or above the form."""
    if not hasattr(refused, "error_dict"):
        form.add_error(None, refused)
        return
    for field, field_errors in refused.message_dict.items():
        for message in field_errors:
            form.add_error(field if field in form.fields else None, message)


@finance_page(ADD_PAYMENT)
@require_GET
def payment_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """One payment, who entered it, the orders it paid and what stays as credit."""
    payments = _with_applied(_with_entry(_payments_of(_visible_dealers(request))))
    payment = get_object_or_404(payments.select_related("dealer", "order"), pk=pk)
    allocations = (
        Allocation.objects.filter(payment=payment)
        .select_related("order")
        .order_by("applied_on", "order__due_on", "id")
    )
    page = Paginator(allocations, ALLOCATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "receivables/finance/payment_detail.html",
        {
            "payment": payment,
            "allocations_page": page,
            "allocations_page_range": _page_range(page),
            "method_label": payment.get_method_display(),
        },
    )
