"""Collection pages: the collector's worklist, the collection panel of a dealer, the
escalation queue, follow-up tasks and the managers' alerts.

Every page starts from `Dealer.objects.visible_to(request.user)`, so a dealer outside the
user's portfolio is a 404. Changes go through `dunning.services`; the views only turn a
refusal into the right answer: a form error for `InvalidInput`, a 403 page for
`PermissionDenied`, a message for a conflict (somebody was faster), never a 500.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count, Prefetch
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.cache import patch_vary_headers
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_GET, require_POST

from dunning import services
from dunning.figures import credit_status, facts_for, priority, risk_class
from dunning.forms import (
    AssessmentForm,
    BaseInstallmentFormSet,
    ContactForm,
    CreditOverrideForm,
    DealerEventForm,
    DecisionForm,
    EscalationFilterForm,
    EscalationRequestForm,
    EvidenceForm,
    InstallmentFormSet,
    PlanNoteForm,
    PromiseForm,
    TaskDoneForm,
    WorklistFilterForm,
)
from dunning.models import (
    MANAGER_PERMISSION,
    Alert,
    CollectionAccount,
    CollectionPolicy,
    ContactLog,
    Escalation,
    Evidence,
    Excuse,
    Promise,
    RiskClass,
    Stage,
    Task,
)
from dunning.worklist import build_worklist, call_permission_for
from receivables.models import Dealer
from receivables.roles import Role, role_of

if TYPE_CHECKING:
    from django.contrib.auth.models import User

ESCALATIONS_PER_PAGE = 25
TASKS_PER_PAGE = 50
ALERTS_PER_PAGE = 50
TIMELINE_LIMIT = 50
RECENT_CONTACTS = 20
RECENT_PROMISES = 30
TOP_EXCUSES = 5


class AuthenticatedHttpRequest(HttpRequest):
    """What `@login_required` guarantees: the user is a real one."""

    user: User


def _get_dealer_for_user(request: AuthenticatedHttpRequest, code: str) -> Dealer:
    """The dealer if this user may see it, else 404 (not 403: its existence is private)."""
    return get_object_or_404(Dealer.objects.visible_to(request.user), code=code)


def _collection_url(dealer: Dealer, anchor: str = "") -> str:
    url = reverse("collection", args=[dealer.code])
    return f"{url}#{anchor}" if anchor else url


def _is_fragment_request(request: AuthenticatedHttpRequest) -> bool:
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def _forbidden(request: AuthenticatedHttpRequest, message: str, *, back: str = "") -> HttpResponse:
    return render(request, "dunning/forbidden.html", {"message": message, "back": back}, status=403)


def _put_error_on_form(form: forms.BaseForm, error: services.InvalidInput) -> None:
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)


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
    context = {
        "work": work,
        "page": work.page,
        "page_range": list(work.page.paginator.get_elided_page_range(work.page.number)),
        "filter_form": filter_form,
        "today": today,
    }
    template = (
        "dunning/_worklist_table.html" if _is_fragment_request(request) else "dunning/worklist.html"
    )
    response = render(request, template, context)
    patch_vary_headers(response, ["HX-Request"])
    return response


# The collection panel of one dealer


def _panel_forms(dealer: Dealer, today: Any, now: Any) -> dict[str, Any]:
    """Unbound forms of the panel, with sensible starting values."""
    account = getattr(dealer, "account", None)
    return {
        "promise_form": PromiseForm(prefix="promise"),
        "plan_formset": InstallmentFormSet(prefix="plan"),
        "plan_form": PlanNoteForm(prefix="plan"),
        "contact_form": ContactForm(
            prefix="contact",
            contacts=dealer.contacts.all(),
            initial={
                "at": timezone.localtime(now).replace(second=0, microsecond=0),
                "channel": ContactLog.Channel.PHONE,
            },
        ),
        "escalation_form": EscalationRequestForm(prefix="escalation"),
        "event_form": DealerEventForm(prefix="event", initial={"occurred_on": today}),
        "evidence_form": EvidenceForm(prefix="evidence"),
        "assessment_form": AssessmentForm(
            prefix="assessment",
            initial={
                "default_cause": account.default_cause if account else "",
                "disposition": account.disposition if account else "",
            },
        ),
        "override_form": CreditOverrideForm(prefix="override"),
    }


def _render_collection(
    request: AuthenticatedHttpRequest,
    dealer: Dealer,
    *,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    today = services.business_today()
    now = timezone.now()
    policy = CollectionPolicy.current()
    account = CollectionAccount.objects.filter(dealer=dealer).first()
    facts = facts_for(Dealer.objects.filter(pk=dealer.pk), today=today, policy=policy)[dealer.pk]
    context: dict[str, Any] = {
        "dealer": dealer,
        "today": today,
        "account": account,
        "facts": facts,
        "stage_label": Stage(facts.stage).label,
        "risk": RiskClass(risk_class(facts, policy)),
        "priority": priority(facts, policy),
        "credit": credit_status(facts, today),
        "call": call_permission_for(dealer, policy=policy, now=now),
        "reliability": services.promise_reliability(dealer, today=today),
        "stage_changes": dealer.stage_changes.select_related("by")[:20],
        "escalations": dealer.escalations.select_related("requested_by", "decided_by", "agency")[
            :10
        ],
        "promises": dealer.promises.select_related("plan")[:RECENT_PROMISES],
        "contacts": dealer.contact_logs.select_related("person", "excuse", "logged_by")[
            :RECENT_CONTACTS
        ],
        "top_excuses": (
            Excuse.objects.filter(contactlog__dealer=dealer)
            .annotate(times=Count("contactlog"))
            .order_by("-times", "position")[:TOP_EXCUSES]
        ),
        "events": dealer.events.select_related("reported_by")[:20],
        "evidence": dealer.evidence.select_related("uploaded_by")[:50],
        "tasks": dealer.tasks.filter(done_at__isnull=True).select_related("assignee"),
        "timeline": services.timeline(dealer, limit=TIMELINE_LIMIT),
        "can_override": request.user.has_perm("dunning.override_credit_hold"),
        **_panel_forms(dealer, today, now),
        **(bound or {}),
    }
    return render(request, "dunning/collection.html", context, status=status)


@login_required
@require_GET
def collection(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    return _render_collection(request, _get_dealer_for_user(request, code))


def _submit(
    request: AuthenticatedHttpRequest,
    dealer: Dealer,
    *,
    forms_by_name: dict[str, Any],
    act: Callable[[], str],
    anchor: str,
    place_error: Callable[[services.InvalidInput], None] | None = None,
) -> HttpResponse:
    """Validate the forms, run the service, and answer: redirect with a message on
    success; the panel again with the errors next to the fields (400) on bad input; a
    403 page when the role may not; a message when the state changed under the user."""
    main = next(iter(forms_by_name.values()))
    if all(f.is_valid() for f in forms_by_name.values()):
        try:
            done = act()
        except services.InvalidInput as error:
            if place_error is not None:
                place_error(error)
            else:
                _put_error_on_form(main, error)
        except PermissionDenied as error:
            return _forbidden(request, str(error), back=_collection_url(dealer))
        except (services.WorkflowConflict, services.TransitionNotAllowed) as error:
            messages.error(request, str(error))
            return redirect(_collection_url(dealer, anchor))
        else:
            messages.success(request, done)
            return redirect(_collection_url(dealer, anchor))
    return _render_collection(request, dealer, bound=forms_by_name, status=400)


@login_required
@require_POST
def make_promise(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    form = PromiseForm(request.POST, prefix="promise")

    def act() -> str:
        data = form.cleaned_data
        promise = services.make_promise(
            dealer=dealer,
            amount=data["amount"],
            due_on=data["due_on"],
            note=data["note"],
            by=request.user,
            today=services.business_today(),
        )
        return _promise_message(promise)

    return _submit(
        request, dealer, forms_by_name={"promise_form": form}, act=act, anchor="promises"
    )


def _promise_message(promise: Promise) -> str:
    message = f"Promise recorded: {promise.amount:,.2f} by {promise.due_on:%a %-d %b %Y}"
    if promise.was_moved:
        message += (
            f" (asked for {promise.requested_due_on:%a %-d %b}, not a business day:"
            " moved to the next one)"
        )
    return message + "."


@login_required
@require_POST
def make_plan(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    note_form = PlanNoteForm(request.POST, prefix="plan")
    formset = cast(BaseInstallmentFormSet, InstallmentFormSet(request.POST, prefix="plan"))

    def act() -> str:
        plan = services.make_installment_plan(
            dealer=dealer,
            installments=formset.installments(),
            note=note_form.cleaned_data["note"],
            by=request.user,
            today=services.business_today(),
        )
        count = plan.promises.count()
        return f"Installment plan recorded: {count} installments."

    def place_error(error: services.InvalidInput) -> None:
        # "installments.2.due_on" names the third filled row and its field.
        parts = error.field.split(".")
        rows = formset.filled_forms()
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            _put_error_on_form(
                rows[int(parts[1])], services.InvalidInput(parts[2], str(error.message))
            )
        else:
            _put_error_on_form(note_form, error)

    return _submit(
        request,
        dealer,
        forms_by_name={"plan_form": note_form, "plan_formset": formset},
        act=act,
        anchor="promises",
        place_error=place_error,
    )


@login_required
@require_POST
def log_contact(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    form = ContactForm(request.POST, prefix="contact", contacts=dealer.contacts.all())

    def act() -> str:
        data = form.cleaned_data
        contact = services.log_contact(
            dealer=dealer,
            channel=data["channel"],
            at=data["at"],
            outcome=data["outcome"],
            by=request.user,
            person=data["person"],
            excuse=data["excuse"],
            note=data["note"],
            now=timezone.now(),
        )
        if contact.broken_rule:
            return (
                f"Contact recorded. It broke a rule ({contact.broken_rule}): the manager is told."
            )
        return "Contact recorded."

    return _submit(
        request, dealer, forms_by_name={"contact_form": form}, act=act, anchor="contacts"
    )


@login_required
@require_GET
def excuse_script(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """The counter-script and the ask for the excuse picked in the contact form."""
    _get_dealer_for_user(request, code)
    excuse = None
    excuse_id = request.GET.get("contact-excuse") or request.GET.get("excuse")
    if excuse_id and excuse_id.isdigit():
        excuse = Excuse.objects.filter(pk=int(excuse_id), active=True).first()
    return render(request, "dunning/_excuse_script.html", {"excuse": excuse})


@login_required
@require_POST
def request_escalation(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    form = EscalationRequestForm(request.POST, request.FILES, prefix="escalation")

    def act() -> str:
        data = form.cleaned_data
        evidence: list[Evidence] = []
        if data["evidence_file"]:
            evidence.append(
                services.attach_evidence(
                    dealer=dealer,
                    file=data["evidence_file"],
                    description=data["evidence_description"],
                    by=request.user,
                )
            )
        escalation = services.request_escalation(
            dealer=dealer,
            to_stage=data["to_stage"],
            reason=data["reason"],
            by=request.user,
            today=services.business_today(),
            evidence=evidence,
            agency=data["agency"],
        )
        return (
            f"Escalation to {escalation.get_to_stage_display().lower()} requested; "
            "a manager decides it."
        )

    return _submit(
        request, dealer, forms_by_name={"escalation_form": form}, act=act, anchor="stage"
    )


@login_required
@require_POST
def report_event(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    form = DealerEventForm(request.POST, prefix="event")

    def act() -> str:
        data = form.cleaned_data
        event = services.report_event(
            dealer=dealer,
            kind=data["kind"],
            occurred_on=data["occurred_on"],
            note=data["note"],
            by=request.user,
            today=services.business_today(),
        )
        return f"{event.get_kind_display()} reported; the managers are alerted."

    return _submit(request, dealer, forms_by_name={"event_form": form}, act=act, anchor="events")


@login_required
@require_POST
def upload_evidence(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    form = EvidenceForm(request.POST, request.FILES, prefix="evidence")

    def act() -> str:
        evidence = services.attach_evidence(
            dealer=dealer,
            file=form.cleaned_data["file"],
            description=form.cleaned_data["description"],
            by=request.user,
        )
        return f"Evidence kept, SHA-256 {evidence.sha256}."

    return _submit(
        request, dealer, forms_by_name={"evidence_form": form}, act=act, anchor="evidence"
    )


@login_required
@require_POST
def set_assessment(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    form = AssessmentForm(request.POST, prefix="assessment")

    def act() -> str:
        services.set_assessment(
            dealer=dealer,
            default_cause=form.cleaned_data["default_cause"],
            disposition=form.cleaned_data["disposition"],
            by=request.user,
        )
        return "Assessment saved."

    return _submit(
        request, dealer, forms_by_name={"assessment_form": form}, act=act, anchor="assessment"
    )


@login_required
@require_POST
def override_credit_hold(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _get_dealer_for_user(request, code)
    form = CreditOverrideForm(request.POST, prefix="override")

    def act() -> str:
        services.override_credit_hold(
            dealer=dealer,
            until=form.cleaned_data["until"],
            reason=form.cleaned_data["reason"],
            by=request.user,
            today=services.business_today(),
        )
        return f"Credit hold lifted until {form.cleaned_data['until']:%-d %b %Y}."

    return _submit(request, dealer, forms_by_name={"override_form": form}, act=act, anchor="credit")


# Escalations


def _visible_escalations(request: AuthenticatedHttpRequest) -> Any:
    """Managers and read-only roles see every escalation of the dealers they see; a
    collector sees the requests they made."""
    escalations = Escalation.objects.filter(dealer__in=Dealer.objects.visible_to(request.user))
    if role_of(request.user) in (Role.COLLECTOR, Role.AGENCY):
        escalations = escalations.filter(requested_by=request.user)
    return escalations


@login_required
@require_GET
def escalation_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    data = request.GET.copy()
    data.setdefault("status", Escalation.Status.PENDING)
    form = EscalationFilterForm(data)
    escalations = _visible_escalations(request)
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
            "form": form,
            "page": page,
            "page_range": list(page.paginator.get_elided_page_range(page.number)),
            "escalations": page.object_list,
            "can_decide": request.user.has_perm(MANAGER_PERMISSION),
        },
    )


def _decide(
    request: AuthenticatedHttpRequest, pk: int, decide: Callable[..., Escalation], verb: str
) -> HttpResponse:
    escalation = get_object_or_404(_visible_escalations(request), pk=pk)
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
        )
    except PermissionDenied as error:
        return _forbidden(request, str(error), back=back)
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


# Tasks


def _my_open_tasks(request: AuthenticatedHttpRequest) -> Any:
    return Task.objects.filter(
        dealer__in=Dealer.objects.visible_to(request.user),
        assignee=request.user,
        done_at__isnull=True,
    )


@login_required
@require_GET
def task_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    today = services.business_today()
    tasks = _my_open_tasks(request).select_related("dealer").order_by("due_on", "window_from", "id")
    page = Paginator(tasks, TASKS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dunning/task_list.html",
        {
            "page": page,
            "page_range": list(page.paginator.get_elided_page_range(page.number)),
            "tasks": page.object_list,
            "today": today,
            "form": TaskDoneForm(),
        },
    )


@login_required
@require_POST
def complete_task(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    task = get_object_or_404(_my_open_tasks(request), pk=pk)
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
        return _forbidden(request, str(error), back=reverse("task_list"))
    except services.WorkflowConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, f"{task}: done.")
    return redirect("task_list")


# Alerts


@login_required
@require_GET
def alert_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    if role_of(request.user) != Role.MANAGER:
        return _forbidden(request, "Alerts are for collection managers.")
    show = "all" if request.GET.get("show") == "all" else "open"
    alerts = Alert.objects.filter(dealer__in=Dealer.objects.visible_to(request.user))
    if show == "open":
        alerts = alerts.filter(acknowledged_at__isnull=True)
    alerts = alerts.select_related("dealer", "acknowledged_by")
    page = Paginator(alerts, ALERTS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "dunning/alert_list.html",
        {
            "page": page,
            "page_range": list(page.paginator.get_elided_page_range(page.number)),
            "alerts": page.object_list,
            "show": show,
        },
    )


@login_required
@require_POST
def acknowledge_alert(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    if role_of(request.user) != Role.MANAGER:
        return _forbidden(request, "Alerts are for collection managers.")
    alert = get_object_or_404(
        Alert.objects.filter(dealer__in=Dealer.objects.visible_to(request.user)), pk=pk
    )
    try:
        services.acknowledge_alert(alert=alert, by=request.user, now=timezone.now())
    except services.WorkflowConflict as error:
        messages.error(request, str(error))
    else:
        messages.success(request, "Alert acknowledged.")
    return redirect("alert_list")
