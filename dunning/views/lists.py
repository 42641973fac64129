"""The pages that list work across dealers: the collector's worklist, the escalation
queue and its decisions, the user's follow-up tasks and the managers' alerts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_cache_control, patch_vary_headers
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dunning import evidence_pack, services
from dunning.forms import DecisionForm, EscalationFilterForm, TaskDoneForm, WorklistFilterForm
from dunning.models import MANAGER_PERMISSION, Alert, Escalation, Evidence, Task
from dunning.views.common import AuthenticatedHttpRequest, forbidden, is_fragment_request
from dunning.worklist import build_worklist
from receivables.models import Dealer
from receivables.roles import Role, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ESCALATIONS_PER_PAGE = 25
TASKS_PER_PAGE = 50
ALERTS_PER_PAGE = 50
ALERTS_ARE_FOR_MANAGERS = "Alerts are for collection managers."


def _page_context(page: Page) -> dict[str, Any]:
    """The page and the page numbers to link to, with ellipses for the gaps: what
    receivables/_pagination.html needs."""
    return {"page": page, "page_range": list(page.paginator.get_elided_page_range(page.number))}


# The worklist


@login_required
def worklist(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = services.business_today()
    user = request.user
    filter_form = None
    collector_id = None
    if role_of(user) != Role.COLLECTOR:
        filter_form = WorklistFilterForm(
            request.GET or None, dealers=Dealer.objects.visible_to(user)
        )
        if filter_form.is_valid():
            collector_id = filter_form.cleaned_data["collector"]
    work = build_worklist(
        user,
        today=today,
        now=timezone.now(),
        collector_id=collector_id,
        page_number=request.GET.get("page"),
    )
    context = {**_page_context(work.page), "work": work, "filter_form": filter_form, "today": today}
    template = (
        "dunning/_worklist_table.html" if is_fragment_request(request) else "dunning/worklist.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# Escalations


@login_required
@require_GET
def escalation_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = request.GET.copy()
    data.setdefault("status", Escalation.Status.PENDING)
    form = EscalationFilterForm(data)
    escalations = Escalation.objects.visible_to(request.user)
    if form.is_valid() and form.cleaned_data["status"]:
        escalations = escalations.filter(status=form.cleaned_data["status"])
    escalations = escalations.select_related(
        "dealer", "requested_by", "decided_by", "agency"
    ).prefetch_related(Prefetch("evidence", queryset=Evidence.objects.order_by("id")))
    page = Paginator(escalations, ESCALATIONS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dunning/escalation_list.html",
        {
            **_page_context(page),
            "form": form,
            "escalations": page.object_list,
            "can_decide": request.user.has_perm(MANAGER_PERMISSION),
        },
    )


def _decide(
    request: AuthenticatedHttpRequest, pk: int, decide: Callable[..., Escalation], verb: str
) -> HttpResponse:
    escalation = get_object_or_404(Escalation.objects.visible_to(request.user), pk=pk)
    back = request.POST.get("next", "")
    if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()}):
        back = reverse("escalation_list")
    form = DecisionForm(request.POST)
    form.is_valid()
    try:
        decided = decide(
            escalation_id=escalation.pk,
            by=request.user,
            note=form.cleaned_data.get("note", ""),
            today=services.business_today(),
            now=timezone.now(),
        )
    except PermissionDenied as error:
        return forbidden(request, str(error), back=back)
    except (services.WorkflowConflict, services.TransitionNotAllowed) as error:
        messages.error(request, str(error))
        return HttpResponseRedirect(back)
    except services.InvalidInput as error:
        messages.error(request, error.message)
        return HttpResponseRedirect(back)
    messages.success(
        request,
        f"Escalation of {decided.dealer.code} to {decided.get_to_stage_display().lower()} {verb}.",
    )
    return HttpResponseRedirect(back)


@login_required
@require_POST
def approve_escalation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, services.approve_escalation, "approved")


@login_required
@require_POST
def reject_escalation(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, services.reject_escalation, "rejected")


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


# Tasks


def _open_tasks_for_user(user: User) -> QuerySet[Task]:
    """The user's own open tasks, on dealers they still see."""
    return Task.objects.filter(
        dealer__in=Dealer.objects.visible_to(user), assignee=user, done_at__isnull=True
    )


@login_required
@require_GET
def task_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = services.business_today()
    tasks = (
        _open_tasks_for_user(request.user)
        .select_related("dealer")
        .order_by("due_on", "window_from", "id")
    )
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dunning/task_list.html",
        {
            **_page_context(page),
            "tasks": page.object_list,
            "today": today,
            "form": TaskDoneForm(),
        },
    )


@login_required
@require_POST
def complete_task(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(_open_tasks_for_user(request.user), pk=pk)
    form = TaskDoneForm(request.POST)
    if not form.is_valid():
        messages.error(request, f"{task}: say what came of it before marking it done.")
        return redirect("task_list")
    try:
        services.complete_task(
            task=task, outcome=form.cleaned_data["outcome"], by=request.user, now=timezone.now()
        )
    except services.InvalidInput as error:
        messages.error(request, f"{task}: {error.message}")
    except PermissionDenied as error:
        return forbidden(request, str(error), back=reverse("task_list"))
    except services.WorkflowConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{task}: done.")
    return redirect("task_list")


# Alerts


def _alerts_for_user(user: User) -> QuerySet[Alert]:
    """The alerts on the dealers this user sees; only managers get that far."""
    return Alert.objects.filter(dealer__in=Dealer.objects.visible_to(user))


@login_required
@require_GET
def alert_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    if role_of(request.user) != Role.MANAGER:
        return forbidden(request, ALERTS_ARE_FOR_MANAGERS)
    show = "all" if request.GET.get("show") == "all" else "open"
    alerts = _alerts_for_user(request.user)
    if show == "open":
        alerts = alerts.filter(acknowledged_at__isnull=True)
    alerts = alerts.select_related("dealer", "acknowledged_by")
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dunning/alert_list.html",
        {
            **_page_context(page),
            "alerts": page.object_list,
            "show": show,
        },
    )


@login_required
@require_POST
def acknowledge_alert(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if role_of(request.user) != Role.MANAGER:
        return forbidden(request, ALERTS_ARE_FOR_MANAGERS)
    alert = get_object_or_404(_alerts_for_user(request.user), pk=pk)
    try:
        services.acknowledge_alert(alert=alert, by=request.user, now=timezone.now())
    except services.WorkflowConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Alert acknowledged.")
    return redirect("alert_list")
