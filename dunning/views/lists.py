"""The pages that list work across dealers: the collector's worklist, the user's
follow-up tasks and the managers' alerts. (The escalation queue and its decisions are
the approvals page, `dunning.views.approvals`.)"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.translation import gettext, gettext_lazy
from django.views.decorators.http import require_GET, require_POST

from dunning import services
from dunning.forms import TaskDoneForm, WorklistFilterForm
from dunning.models import Alert, Task
from dunning.views.common import AuthenticatedHttpRequest, forbidden, is_fragment_request
from dunning.worklist import OUT_OF_CALLS, build_out_of_calls, build_worklist
from receivables.models import Dealer
from receivables.roles import Role, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

TASKS_PER_PAGE = 50
ALERTS_PER_PAGE = 50
ALERTS_ARE_FOR_MANAGERS = gettext_lazy("Alerts are for collection managers and auditors.")
ALERTS_ARE_ACKNOWLEDGED_BY_MANAGERS = gettext_lazy("Only collection managers acknowledge alerts.")
# Managers act on the alerts; auditors read them (every one, acknowledged or not).
ALERT_READERS = {Role.MANAGER, Role.AUDITOR}


def _page_context(page: Page) -> dict[str, Any]:
    """The page and the page numbers to link to, with ellipses for the gaps: what
    receivables/_pagination.html needs."""
    return {"page": page, "page_range": list(page.paginator.get_elided_page_range(page.number))}


# The worklist


@login_required
@require_GET
def worklist(request: AuthenticatedHttpRequest) -> HttpResponse:
    user = request.user
    if role_of(user) == Role.AGENCY:
        # The shared worklist ranks by risk class and priority score, which are internal:
        # an agency works its placed accounts on its own page.
        return redirect("agency_worklist")
    today = services.business_today()
    filter_form = None
    collector_id = None
    if role_of(user) != Role.COLLECTOR:
        filter_form = WorklistFilterForm(
            request.GET or None, dealers=Dealer.objects.visible_to(user)
        )
        if filter_form.is_valid():
            collector_id = filter_form.cleaned_data["collector"]
    # `?list=out_of_calls`: the dealers with lawyers, an agency or written off, not called.
    shown = OUT_OF_CALLS if request.GET.get("list") == OUT_OF_CALLS else "calls"
    work: Any
    if shown == OUT_OF_CALLS:
        work = build_out_of_calls(
            user, today=today, collector_id=collector_id, page_number=request.GET.get("page")
        )
    else:
        work = build_worklist(
            user,
            today=today,
            now=timezone.now(),
            collector_id=collector_id,
            page_number=request.GET.get("page"),
        )
    context = {
        **_page_context(work.page),
        "work": work,
        "filter_form": filter_form,
        "today": today,
        "shown": shown,
    }
    template = (
        "dunning/_worklist_table.html" if is_fragment_request(request) else "dunning/worklist.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
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
    if not request.user.has_perm("dunning.change_task"):
        return forbidden(request, gettext("Your role may read tasks but not close them."))
    task = get_object_or_404(_open_tasks_for_user(request.user).select_related("dealer"), pk=pk)
    form = TaskDoneForm(request.POST)
    if not form.is_valid():
        messages.error(
            request,
            gettext("%(task)s: say what came of it before marking it done.") % {"task": task},
        )
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
        messages.success(request, gettext("%(task)s: done.") % {"task": task})
    return redirect("task_list")


# Alerts


def _alerts_for_user(user: User) -> QuerySet[Alert]:
    """The alerts on the dealers this user sees; only managers and auditors get that far."""
    return Alert.objects.filter(dealer__in=Dealer.objects.visible_to(user))


@login_required
@require_GET
def alert_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    """Managers work the open alerts; auditors read them all, with no form to act."""
    role = role_of(request.user)
    if role not in ALERT_READERS:
        return forbidden(request, str(ALERTS_ARE_FOR_MANAGERS))
    # A manager works the open ones; an auditor reads them all unless asking otherwise.
    show = request.GET.get("show")
    if show not in ("all", "open"):
        show = "all" if role == Role.AUDITOR else "open"
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
            "can_acknowledge": role == Role.MANAGER,
        },
    )


@login_required
@require_POST
def acknowledge_alert(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if role_of(request.user) != Role.MANAGER:
        return forbidden(request, str(ALERTS_ARE_ACKNOWLEDGED_BY_MANAGERS))
    alert = get_object_or_404(_alerts_for_user(request.user), pk=pk)
    try:
        services.acknowledge_alert(alert=alert, by=request.user, now=timezone.now())
    except services.WorkflowConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, gettext("Alert acknowledged."))
    return redirect("alert_list")
