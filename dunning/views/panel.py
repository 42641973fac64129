"""The collection panel of one dealer: the page, and the forms on it that record a
promise, a plan, a contact, an escalation request, a danger sign, evidence, the
assessment and a credit hold override. Each form posts to its own view, which answers
with a redirect back to its part of the page, or the page again with the errors."""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from typing import Any, cast

from babel.dates import format_skeleton
from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from dunning import services
from dunning.forms import (
    AssessmentForm,
    BaseInstallmentFormSet,
    ContactForm,
    CreditOverrideForm,
    DealerEventForm,
    EscalationRequestForm,
    EvidenceForm,
    InstallmentFormSet,
    PlanNoteForm,
    PromiseForm,
)
from dunning.models import ContactLog, Evidence, Excuse, Promise
from dunning.panel import CollectionPanel, collection_panel
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from receivables.access import get_dealer_for_user
from receivables.locale_format import babel_locale
from receivables.models import Dealer
from receivables.roles import Role, role_of
from receivables.templatetags.money import local_date, money


def internal(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Refuse agency users (403): the panel shows and decides what is internal (risk
    class, priority, assessment, escalations, every collector's contacts). An agency
    works its placed accounts on the agency pages (`dunning.views.agency`)."""

    @functools.wraps(view)
    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if role_of(request.user) == Role.AGENCY:
            return forbidden(
                request,
                _(
                    "The collection panel is internal: "
                    "your agency works its accounts on its own pages."
                ),
                back=reverse("agency_worklist"),
            )
        return view(request, *args, **kwargs)

    return wrapped


def needs(
    permission: str, refusal: Any = ""
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Refuse (403) a user without `permission` before anything is read from the post: a
    role that may not act is told so, never shown errors on a form it cannot submit (the
    panel does not show it that form at all)."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
            if not request.user.has_perm(permission):
                return forbidden(
                    request,
                    refusal or _("Your role may read this account but not change it."),
                    back=reverse("collection", args=[code]),
                )
            return view(request, code)

        return wrapped

    return decorate


def _collection_url(dealer: Dealer, anchor: str = "") -> str:
    url = reverse("collection", args=[dealer.code])
    return f"{url}#{anchor}" if anchor else url


def _panel_forms(panel: CollectionPanel, now: dt.datetime) -> dict[str, Any]:
    """Unbound forms of the panel, with sensible starting values."""
    dealer, account = panel.dealer, panel.account
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
        "event_form": DealerEventForm(prefix="event", initial={"occurred_on": panel.today}),
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


# The parts of the panel an action answers to: its message is shown there, next to the
# form that was used, and the redirect scrolls to it (`_collection_url(dealer, anchor)`).
PANEL_PARTS = ("contacts", "promises", "stage", "assessment", "override", "events", "evidence")


def _messages_by_part(request: AuthenticatedHttpRequest) -> dict[str, Any]:
    """The pending messages split by where they are shown: `panel_messages[part]` for
    those of an action of the panel (tagged with its part by `_submit`), next to its
    form; `messages`, the others, at the top of the page as everywhere (this replaces
    the context processor's `messages` for this page). Reading them marks them shown."""
    by_part: dict[str, list[Any]] = {part: [] for part in PANEL_PARTS}
    others = []
    for message in messages.get_messages(request):
        part = message.extra_tags if message.extra_tags in by_part else None
        if part is None:
            others.append(message)
        else:
            by_part[part].append(message)
    return {"panel_messages": by_part, "messages": others}


def _render_collection(
    request: AuthenticatedHttpRequest,
    dealer: Dealer,
    *,
    bound: dict[str, Any] | None = None,
    status: int = 200,
) -> HttpResponse:
    now = timezone.now()
    panel = collection_panel(dealer, user=request.user, today=services.business_today(), now=now)
    # The template reads the panel's fields by name, next to the forms; `vars` and not
    # `dataclasses.asdict`, which would copy every row it holds.
    context = {
        **vars(panel),
        **_panel_forms(panel, now),
        **(bound or {}),
        **_messages_by_part(request),
    }
    return render(request, "dunning/collection.html", context, status=status)


@login_required
@internal
@require_GET
def collection(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    return _render_collection(request, get_dealer_for_user(request.user, code))


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
    403 page when the role may not; a message when the state changed under the user.
    The messages are tagged with the part of the panel (`anchor`), which shows them next
    to its form; the redirect scrolls there."""
    main = next(iter(forms_by_name.values()))
    if all(f.is_valid() for f in forms_by_name.values()):
        try:
            done = act()
        except services.InvalidInput as error:
            if place_error is not None:
                place_error(error)
            else:
                put_error_on_form(main, error)
        except PermissionDenied as error:
            return forbidden(request, str(error), back=_collection_url(dealer))
        except (services.WorkflowConflict, services.TransitionNotAllowed) as error:
            messages.error(request, str(error), extra_tags=anchor)
            return redirect(_collection_url(dealer, anchor))
        else:
            messages.success(request, done, extra_tags=anchor)
            return redirect(_collection_url(dealer, anchor))
    return _render_collection(request, dealer, bound=forms_by_name, status=400)


# The panel's single-form actions: `panel_action` finds the dealer, binds the form and
# answers through `_submit`; each action only turns the cleaned form into a service call
# and says what was done.
PanelAct = Callable[[AuthenticatedHttpRequest, Dealer, Any], str]
FormBuilder = Callable[[AuthenticatedHttpRequest, Dealer], forms.BaseForm]


def panel_action(
    form_name: str, *, form: FormBuilder, anchor: str, permission: str, refusal: Any = ""
) -> Callable[[PanelAct], Callable[..., HttpResponse]]:
    def decorate(act: PanelAct) -> Callable[..., HttpResponse]:
        @login_required
        @internal
        @require_POST
        @needs(permission, refusal)
        @functools.wraps(act)
        def view(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
            dealer = get_dealer_for_user(request.user, code)
            bound = form(request, dealer)
            return _submit(
                request,
                dealer,
                forms_by_name={form_name: bound},
                act=lambda: act(request, dealer, bound),
                anchor=anchor,
            )

        return view

    return decorate


@panel_action(
    "promise_form",
    form=lambda request, dealer: PromiseForm(request.POST, prefix="promise"),
    anchor="promises",
    permission="dunning.add_promise",
)
def make_promise(request: AuthenticatedHttpRequest, dealer: Dealer, form: PromiseForm) -> str:
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


def _promise_message(promise: Promise) -> str:
    locale = babel_locale()
    values = {
        "amount": money(promise.amount),
        "day": format_skeleton("yMMMEd", promise.due_on, locale=locale),
    }
    if promise.was_moved:
        values["asked"] = format_skeleton("MMMEd", promise.requested_due_on, locale=locale)
        return (
            _(
                "Promise recorded: %(amount)s by %(day)s (asked for %(asked)s, not a business "
                "day: moved to the next one)."
            )
            % values
        )
    return _("Promise recorded: %(amount)s by %(day)s.") % values


@login_required
@internal
@require_POST
@needs("dunning.add_installmentplan")
def make_plan(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = get_dealer_for_user(request.user, code)
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
        return ngettext(
            "Installment plan recorded: %(count)s installment.",
            "Installment plan recorded: %(count)s installments.",
            count,
        ) % {"count": count}

    def place_error(error: services.InvalidInput) -> None:
        # "installments.2.due_on" names the third filled row and its field.
        parts = error.field.split(".")
        rows = formset.filled_forms()
        if len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            put_error_on_form(
                rows[int(parts[1])], services.InvalidInput(parts[2], str(error.message))
            )
        else:
            put_error_on_form(note_form, error)

    return _submit(
        request,
        dealer,
        forms_by_name={"plan_form": note_form, "plan_formset": formset},
        act=act,
        anchor="promises",
        place_error=place_error,
    )


@panel_action(
    "contact_form",
    form=lambda request, dealer: ContactForm(
        request.POST, prefix="contact", contacts=dealer.contacts.all()
    ),
    anchor="contacts",
    permission="dunning.add_contactlog",
)
def log_contact(request: AuthenticatedHttpRequest, dealer: Dealer, form: ContactForm) -> str:
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
        return _("Contact recorded. It broke a rule (%(rule)s): the manager is told.") % {
            "rule": contact.broken_rule
        }
    return _("Contact recorded.")


@login_required
@internal
@require_GET
def excuse_script(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    """The counter-script and the ask for the excuse picked in the contact form."""
    get_dealer_for_user(request.user, code)
    excuse = None
    excuse_id = request.GET.get("contact-excuse") or request.GET.get("excuse")
    if excuse_id and excuse_id.isdigit():
        excuse = Excuse.objects.filter(pk=int(excuse_id), active=True).first()
    return render(request, "dunning/_excuse_script.html", {"excuse": excuse})


@panel_action(
    "escalation_form",
    form=lambda request, dealer: EscalationRequestForm(
        request.POST, request.FILES, prefix="escalation"
    ),
    anchor="stage",
    permission="dunning.add_escalation",
)
def request_escalation(
    request: AuthenticatedHttpRequest, dealer: Dealer, form: EscalationRequestForm
) -> str:
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
    return _("Escalation to %(stage)s requested; a manager decides it.") % {
        "stage": escalation.get_to_stage_display().lower()
    }


@panel_action(
    "event_form",
    form=lambda request, dealer: DealerEventForm(request.POST, prefix="event"),
    anchor="events",
    permission="dunning.add_dealerevent",
)
def report_event(request: AuthenticatedHttpRequest, dealer: Dealer, form: DealerEventForm) -> str:
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


@panel_action(
    "evidence_form",
    form=lambda request, dealer: EvidenceForm(request.POST, request.FILES, prefix="evidence"),
    anchor="evidence",
    permission="dunning.add_evidence",
)
def upload_evidence(request: AuthenticatedHttpRequest, dealer: Dealer, form: EvidenceForm) -> str:
    evidence = services.attach_evidence(
        dealer=dealer,
        file=form.cleaned_data["file"],
        description=form.cleaned_data["description"],
        by=request.user,
    )
    return _("Evidence kept, SHA-256 %(sha)s.") % {"sha": evidence.sha256}


@panel_action(
    "assessment_form",
    form=lambda request, dealer: AssessmentForm(request.POST, prefix="assessment"),
    anchor="assessment",
    permission="dunning.change_collectionaccount",
)
def set_assessment(request: AuthenticatedHttpRequest, dealer: Dealer, form: AssessmentForm) -> str:
    services.set_assessment(
        dealer=dealer,
        default_cause=form.cleaned_data["default_cause"],
        disposition=form.cleaned_data["disposition"],
        by=request.user,
    )
    return _("Assessment saved.")


@panel_action(
    "override_form",
    form=lambda request, dealer: CreditOverrideForm(request.POST, prefix="override"),
    anchor="override",
    permission="dunning.override_credit_hold",
    refusal=gettext_lazy("Only a collection manager may override a credit hold."),
)
def override_credit_hold(
    request: AuthenticatedHttpRequest, dealer: Dealer, form: CreditOverrideForm
) -> str:
    services.override_credit_hold(
        dealer=dealer,
        until=form.cleaned_data["until"],
        reason=form.cleaned_data["reason"],
        by=request.user,
        today=services.business_today(),
    )
    return _("Credit hold lifted until %(day)s.") % {"day": local_date(form.cleaned_data["until"])}
