"""The approvals page (issue 9, part B): the escalation queue a manager works through in
the morning, with the figures to decide by, sorted and filtered in the database, and
decisions on one request or on the ticked ones; plus each request's evidence pack.

Everyone sees the requests `Escalation.objects.visible_to` gives them (collectors and
agencies their own, managers, auditors and finance every one of the dealers they see);
only managers get checkboxes and decision forms, and never on their own requests (the
four-eyes rule). Every decision goes through
`dunning.services.escalations.decide_escalations`, which records each request one by one
(`approve_escalation` / `reject_escalation`) and refuses a rejection without a reason.

The rows come from one query (`EscalationQuerySet.with_queue_figures`): the dealers'
overdue figures are the kept ones (`DealerQuerySet.with_balance` for business today), the
amount in the reporting currency is converted in SQL (`rate_expression`) so that the queue
sorts by it, and the count of evidence, the stage at the time of the request and the stage
now are subqueries of the same query. The number of queries does not depend on the number
of rows.

A form posted from the page carries the page's query string in its URL, so that a
refusal shows the page again with the error on the form (400) and a decision returns to
the same filters, order and page.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_POST

from dunning import evidence_pack, services
from dunning.approval_forms import (
    STATUS_LABELS,
    BulkDecisionForm,
    DecisionForm,
    EscalationFilterForm,
)
from dunning.models import MANAGER_PERMISSION, Escalation, Stage
from dunning.services.escalations import Outcome, decide_escalations
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from receivables.reports import two_places
from receivables.roles import Role, role_of

ESCALATIONS_PER_PAGE = 50
# Where a decision on the ticked requests leaves what became of each, for the page it
# redirects to (read once).
OUTCOMES_KEY = "approvals_outcomes"


# The rows and their figures


@dataclass
class Row:
    """One request of the queue, with what its row shows and the inputs it keeps."""

    escalation: Escalation
    today: dt.date
    can_decide: bool = False
    checked: bool = False
    note: str = ""
    errors: list[str] = field(default_factory=list)

    @property
    def days_past_due(self) -> int | None:
        oldest: dt.date | None = getattr(self.escalation, "oldest_due_on", None)
        return (self.today - oldest).days if oldest else None

    @property
    def overdue_in_reporting(self) -> Decimal | None:
        amount = getattr(self.escalation, "overdue_in_reporting", None)
        return None if amount is None else two_places(Decimal(amount))

    @property
    def in_reporting_currency(self) -> bool:
        return bool(self.escalation.dealer.currency == settings.REPORTING_CURRENCY)

    @property
    def stage_then_label(self) -> str:
        return str(Stage(self.escalation.stage_then).label)  # type: ignore[attr-defined]

    @property
    def stage_now_label(self) -> str:
        return str(Stage(self.escalation.stage_now).label)  # type: ignore[attr-defined]

    @property
    def moved_since(self) -> bool:
        """The account is no longer in the stage it was in when the request was made."""
        escalation: Any = self.escalation
        return bool(escalation.stage_now != escalation.stage_then)

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS[Escalation.Status(self.escalation.status)])


def _query(request: AuthenticatedHttpRequest) -> str:
    return request.GET.urlencode()


def _list_url(request: AuthenticatedHttpRequest) -> str:
    query = _query(request)
    return reverse("escalation_list") + (f"?{query}" if query else "")


def _render_list(
    request: AuthenticatedHttpRequest,
    *,
    bulk_form: BulkDecisionForm | None = None,
    row_errors: dict[int, list[str]] | None = None,
    row_notes: dict[int, str] | None = None,
    status: int = 200,
) -> HttpResponse:
    today = services.business_today()
    user = request.user
    visible = Escalation.objects.visible_to(user)
    data = request.GET.copy()
    data.setdefault("status", Escalation.Status.PENDING)
    form = EscalationFilterForm(data, escalations=visible, user=user)
    shown = form.filter_escalations(visible).with_queue_figures(today).order_by(*form.ordering)
    page = Paginator(shown, ESCALATIONS_PER_PAGE).get_page(request.GET.get("page"))
    may_decide = user.has_perm(MANAGER_PERMISSION)
    ticked = bulk_form.ticked() if bulk_form is not None else set()
    row_errors = row_errors or {}
    row_notes = row_notes or {}
    rows = [
        Row(
            escalation=escalation,
            today=today,
            can_decide=may_decide
            and escalation.status == Escalation.Status.PENDING
            and escalation.requested_by_id != user.pk,
            checked=escalation.pk in ticked,
            note=row_notes.get(escalation.pk, ""),
            errors=row_errors.get(escalation.pk, []),
        )
        for escalation in page.object_list
    ]
    outcomes = request.session.pop(OUTCOMES_KEY, None) if request.method == "GET" else None
    context = {
        "page": page,
        "page_range": list(page.paginator.get_elided_page_range(page.number)),
        "form": form,
        "rows": rows,
        "escalations": [row.escalation for row in rows],
        "can_decide": may_decide,
        "selectable": any(row.can_decide for row in rows),
        "checked_count": sum(1 for row in rows if row.checked and row.can_decide),
        "own_only": role_of(user) in (Role.COLLECTOR, Role.AGENCY),
        "bulk_form": bulk_form or BulkDecisionForm(),
        "sort": form.sort_key,
        "status": form.chosen_status,
        "outcomes": outcomes,
        "reporting_currency": settings.REPORTING_CURRENCY,
        "today": today,
        "query": _query(request),
    }
    return render(request, "dunning/escalation_list.html", context, status=status)


@login_required
@require_GET
def escalation_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render_list(request)


# Decisions


def _back(request: AuthenticatedHttpRequest) -> str:
    """Where a decision returns: `next` when it is on this site, else the same list."""
    back = request.POST.get("next", "")
    if back and url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        return back
    return _list_url(request)


def _decide_one(request: AuthenticatedHttpRequest, pk: int, *, approve: bool) -> HttpResponse:
    """One request decided from its row: a success or a conflict is a message on the
    page it returns to, a refusal of the role or of the four-eyes rule the 403 page, and
    a rejection without a reason the page again with the error on the row."""
    escalation = get_object_or_404(Escalation.objects.visible_to(request.user), pk=pk)
    back = _back(request)
    form = DecisionForm(request.POST)
    typed = request.POST.get("note", "")
    if not form.is_valid():
        errors = [str(e) for e in form.errors.get("note", [])]
        return _render_list(request, row_errors={pk: errors}, row_notes={pk: typed}, status=400)
    try:
        [outcome] = decide_escalations(
            escalation_ids=[escalation.pk],
            approve=approve,
            by=request.user,
            note=form.cleaned_data["note"],
            today=services.business_today(),
            now=timezone.now(),
        )
    except services.InvalidInput as error:
        return _render_list(
            request, row_errors={pk: [str(error.message)]}, row_notes={pk: typed}, status=400
        )
    if outcome.forbidden:
        return forbidden(request, outcome.detail, back=back)
    if not outcome.decided:
        messages.error(request, outcome.detail)
        return HttpResponseRedirect(back)
    decided = outcome.escalation
    assert decided is not None
    values = {"code": decided.dealer.code, "stage": decided.get_to_stage_display().lower()}
    if approve:
        messages.success(request, _("Escalation of %(code)s to %(stage)s approved.") % values)
    else:
        messages.success(request, _("Escalation of %(code)s to %(stage)s rejected.") % values)
    return HttpResponseRedirect(back)


@login_required
@require_POST
def approve_escalation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _decide_one(request, pk, approve=True)


@login_required
@require_POST
def reject_escalation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _decide_one(request, pk, approve=False)


@login_required
@require_POST
def decide_selected(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The ticked requests approved, or rejected, with one note: each one by one, and
    the page then says what became of each. Nothing is decided when the form is refused
    (nothing ticked, or a rejection without a reason): the page comes back with the
    error and the ticks (400)."""
    if not request.user.has_perm(MANAGER_PERMISSION):
        return forbidden(
            request, _("Only a collection manager may decide escalations."), back=_list_url(request)
        )
    form = BulkDecisionForm(request.POST)
    if not form.is_valid():
        return _render_list(request, bulk_form=form, status=400)
    ticked: list[int] = form.cleaned_data["escalation"]
    visible = set(
        Escalation.objects.visible_to(request.user)
        .filter(pk__in=ticked)
        .values_list("pk", flat=True)
    )
    try:
        decided = decide_escalations(
            escalation_ids=[pk for pk in ticked if pk in visible],
            approve=form.approve,
            by=request.user,
            note=form.cleaned_data["note"],
            today=services.business_today(),
            now=timezone.now(),
        )
    except services.InvalidInput as error:
        put_error_on_form(form, error)
        return _render_list(request, bulk_form=form, status=400)
    by_id = {outcome.escalation_id: outcome for outcome in decided}
    outcomes = [by_id.get(pk) or Outcome.missing(pk) for pk in ticked]
    request.session[OUTCOMES_KEY] = _outcomes_for_page(outcomes, approve=form.approve)
    return HttpResponseRedirect(_list_url(request))


def _outcomes_for_page(outcomes: list[Outcome], *, approve: bool) -> dict[str, Any]:
    """What became of each ticked request, as the page after the redirect shows it."""
    done = sum(1 for outcome in outcomes if outcome.decided)
    values = {"done": done, "count": len(outcomes)}
    if approve:
        summary = ngettext(
            "%(done)s of %(count)s selected request approved.",
            "%(done)s of %(count)s selected requests approved.",
            len(outcomes),
        )
    else:
        summary = ngettext(
            "%(done)s of %(count)s selected request rejected.",
            "%(done)s of %(count)s selected requests rejected.",
            len(outcomes),
        )
    return {
        "summary": summary % values,
        "all_done": done == len(outcomes),
        "lines": [
            {"id": outcome.escalation_id, "decided": outcome.decided, "text": str(outcome)}
            for outcome in outcomes
        ],
    }


# The evidence pack


@login_required
@require_GET
def escalation_pack(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """The escalation's evidence pack as PDF, rendered now (a snapshot, not stored), for
    whoever sees the escalation on the queue: managers, auditors, the requester."""
    try:
        escalation = evidence_pack.escalation_for_pack(
            Escalation.objects.visible_to(request.user), pk
        )
    except Escalation.DoesNotExist as missing:
        raise Http404("No such escalation.") from missing
    pack = evidence_pack.build_pack(
        escalation, today=services.business_today(), now=timezone.now(), prepared_for=request.user
    )
    response = HttpResponse(evidence_pack.render_pdf(pack), content_type="application/pdf")
    disposition = content_disposition_header(as_attachment=True, filename=pack.filename)
    assert disposition is not None  # an attachment always has one
    response["Content-Disposition"] = disposition
    patch_cache_control(response, private=True, no_store=True)
    return response


__all__ = [
    "approve_escalation",
    "decide_selected",
    "escalation_list",
    "escalation_pack",
    "reject_escalation",
]
