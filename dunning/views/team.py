"""The team pages, a collection manager's work on the team rather than on one dealer:
who works which dealers (reassigning them by selection or by filter), the collection
policy with its history, the excuse library, and the credit-hold overrides running or
recently ended. Managers are not Django staff: all of this is done here, not in the
admin.

Managers use every page; auditors read the policy, the excuse library and the overrides
but get no form (and a 403 page for a POST); anyone else gets the 403 page. Changes go
through `dunning.services.team` and `dunning.services.stages`; a refusal becomes a form
error (400) or, when the state changed under the user, a message.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Page, Paginator
from django.db.models import Exists, F, Max, OuterRef, Q, QuerySet, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.formats import date_format, number_format
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dunning.models import CollectionAccount, CollectionPolicy, Excuse, Stage
from dunning.services import stages as stage_services
from dunning.services import team as team_services
from dunning.services.errors import InvalidInput, WorkflowConflict
from dunning.team_forms import (
    POLICY_FIELDSETS,
    POLICY_LABELS,
    ActiveForm,
    EndOverrideForm,
    ExcuseForm,
    PolicyForm,
    ReassignFilterForm,
    ReassignForm,
    person,
)
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from receivables.access import get_dealer_for_user
from receivables.dates import business_today
from receivables.models import Dealer, DealerQuerySet
from receivables.roles import Role, role_of
from receivables.services import collectors

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DEALERS_PER_PAGE = 50
HISTORY_PER_PAGE = 20
EXCUSES_PER_PAGE = 50
OVERRIDES_PER_PAGE = 25
# Overrides that ran out (or were ended) this many days ago or less are listed.
ENDED_WITHIN_DAYS = 30


def _managers_only() -> str:
    return _("The team pages are for collection managers.")


def _read_only() -> str:
    return _("Your role may read this page but not change it.")


def team_page(*, auditors_read: bool) -> Callable[..., Callable[..., HttpResponseBase]]:
    """Logged in and a manager (or, with `auditors_read`, an auditor), else the 403
    page. The views still check that only a manager changes anything (`_may_change`)."""
    allowed = {Role.MANAGER, Role.AUDITOR} if auditors_read else {Role.MANAGER}

    def decorate(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
        @login_required
        @functools.wraps(view)
        def wrapped(
            request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any
        ) -> HttpResponseBase:
            if role_of(request.user) not in allowed:
                return forbidden(request, _managers_only())
            return view(request, *args, **kwargs)

        return wrapped

    return decorate


def _may_change(request: AuthenticatedHttpRequest) -> bool:
    return role_of(request.user) == Role.MANAGER


def _with_query(request: AuthenticatedHttpRequest, url: str) -> str:
    query = request.GET.urlencode()
    return f"{url}?{query}" if query else url


def _team_context(request: AuthenticatedHttpRequest, tab: str) -> dict[str, Any]:
    return {"tab": tab, "is_manager": _may_change(request)}


@dataclass
class Pager:
    """A page of a list, with the links to the others; `param` names the page in the
    query string (two lists on one page page apart)."""

    page: Page
    links: list[tuple[Any, str]]
    previous_url: str
    next_url: str
    param: str


class CountedPaginator(Paginator):
    """A paginator told how many items there are, by a caller that counts them more
    cheaply than the listed query would (without the joins that only show figures)."""

    def __init__(self, object_list: Any, per_page: int, *, count: int) -> None:
        super().__init__(object_list, per_page)
        self.known_count = count

    @functools.cached_property
    def count(self) -> int:
        return self.known_count


def paginate(
    request: AuthenticatedHttpRequest,
    items: Any,
    per_page: int,
    *,
    param: str = "page",
    count: int | None = None,
) -> Pager:
    paginator = (
        Paginator(items, per_page)
        if count is None
        else CountedPaginator(items, per_page, count=count)
    )
    page = paginator.get_page(request.GET.get(param))

    def url(number: int) -> str:
        query = request.GET.copy()
        query[param] = str(number)
        return f"?{query.urlencode()}"

    links = [
        (number, url(number) if isinstance(number, int) and number != page.number else "")
        for number in page.paginator.get_elided_page_range(page.number)
    ]
    return Pager(
        page=page,
        links=links,
        previous_url=url(page.previous_page_number()) if page.has_previous() else "",
        next_url=url(page.next_page_number()) if page.has_next() else "",
        param=param,
    )


# History -------------------------------------------------------------------------------


@dataclass
class Change:
    label: str
    old: str
    new: str


@dataclass
class HistoryEntry:
    at: dt.datetime
    by: str
    reason: str
    created: bool
    changes: list[Change] = field(default_factory=list)


def shown(value: Any) -> str:
    """A policy or excuse value as the history shows it."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, dt.time):
        return f"{value:%H:%M}"
    if isinstance(value, Decimal):
        return number_format(value, decimal_pos=2)
    return str(value)


def history_entries(
    records: QuerySet[Any], pager: Pager, *, fields: Sequence[str], labels: Mapping[str, Any]
) -> list[HistoryEntry]:
    """The page's history records (newest first) with what each changed, from what to
    what: each record is compared with the one before it, read in the same query (one
    more than the page), so a page of history costs two queries however long it is."""
    page = pager.page
    if not page.paginator.count:
        return []
    batch = list(records[page.start_index() - 1 : page.end_index() + 1])
    entries = []
    for index, record in enumerate(batch[: page.end_index() - page.start_index() + 1]):
        older = batch[index + 1] if index + 1 < len(batch) else None
        entry = HistoryEntry(
            at=record.history_date,
            by=person(record.history_user) or _("the system"),
            reason=record.history_change_reason or "",
            created=older is None and record.history_type == "+",
        )
        if older is not None:
            delta = record.diff_against(older, included_fields=list(fields))
            by_name = {change.field: (change.old, change.new) for change in delta.changes}
        elif not entry.created:
            # A row made without history (seeded by a migration): its first record is a
            # change whose earlier values nobody kept.
            by_name = {name: (None, getattr(record, name)) for name in fields}
        else:
            by_name = {}
        entry.changes = [
            Change(
                str(labels[name]),
                shown(by_name[name][0]) if older is not None else _("not recorded"),
                shown(by_name[name][1]),
            )
            for name in fields
            if name in by_name
        ]
        entries.append(entry)
    return entries


# Reassigning dealers -------------------------------------------------------------------


@dataclass
class ReassignPage:
    """What the reassignment page and its POST both need, read once per request."""

    today: dt.date
    visible: DealerQuerySet
    people: Sequence[User]
    targets: Sequence[User]
    filters: ReassignFilterForm

    @classmethod
    def of(cls, request: AuthenticatedHttpRequest) -> ReassignPage:
        visible = Dealer.objects.visible_to(request.user)
        # One query: who the filter offers (whoever holds dealers now, and every active
        # collector) and, marked, who may receive dealers (the active collectors).
        holding = visible.exclude(collector=None).values("collector")
        able = collectors().filter(pk=OuterRef("pk"))
        people = list(
            get_user_model()
            .objects.filter(Q(pk__in=holding) | Q(pk__in=collectors().values("pk")))
            .annotate(may_receive=Exists(able))
            .order_by("username")
        )
        return cls(
            today=business_today(),
            visible=visible,
            people=people,
            targets=[user for user in people if user.may_receive],  # type: ignore[attr-defined]
            filters=ReassignFilterForm(request.GET or None, dealers=visible, people=people),
        )

    @functools.cached_property
    def matching(self) -> DealerQuerySet:
        """The dealers of the filter, with their figures (kept for today; `with_balance`
        refreshes those that no longer hold, once per request)."""
        narrowed = self.filters.narrow(self.visible)
        return self.filters.narrow_figures(narrowed.with_balance(self.today))

    def count(self) -> int:
        """How many dealers the filter matches, counted without the joins of the
        figures unless a figure is filtered on (a whole book counts its dealers only)."""
        if self.filters.filters_figures:
            return self.matching.count()
        return self.filters.narrow(self.visible).count()

    def listed(self) -> DealerQuerySet:
        return self.filters.order(
            self.matching.select_related("collector").annotate(
                current_stage=Coalesce(F("account__stage"), Value(Stage.CURRENT.value))
            )
        )

    def target(self, form: ReassignForm) -> User | None:
        target_id = form.target_id()
        return next((user for user in self.targets if user.pk == target_id), None)


def _render_reassign(
    request: AuthenticatedHttpRequest,
    state: ReassignPage,
    *,
    form: ReassignForm | None = None,
    status: int = 200,
) -> HttpResponse:
    pager = paginate(request, state.listed(), DEALERS_PER_PAGE, count=state.count())
    stages = dict(Stage.choices)
    dealers = list(pager.page.object_list)
    for dealer in dealers:
        dealer.stage_label = stages.get(dealer.current_stage, dealer.current_stage)  # type: ignore[attr-defined]
        oldest = dealer.oldest_due_on  # type: ignore[attr-defined]
        dealer.days_past_due = (state.today - oldest).days if oldest else None  # type: ignore[attr-defined]
    ticked = set(form.selected_ids()) if form is not None else set()
    context = {
        **_team_context(request, "reassign"),
        "filter_form": state.filters,
        "form": form or ReassignForm(targets=state.targets),
        "pager": pager,
        "dealers": dealers,
        "ticked": ticked,
        "matching": pager.page.paginator.count,
        "narrowed": state.filters.is_narrowed,
        "action": _with_query(request, reverse("team_reassign")),
        "today": state.today,
    }
    return render(request, "dunning/team/reassign.html", context, status=status)


def _moved_message(done: team_services.Reassignment) -> str:
    to = person(done.to) or _("nobody (unassigned)")
    if not done.moved:
        return _("No dealer moved: they already belong to %(to)s.") % {"to": to}
    sources = [(name or _("unassigned"), n) for name, n in done.moved_from]
    if len(sources) == 1:
        whence = sources[0][0]
    else:
        whence = ", ".join(f"{name} ({n})" for name, n in sources)
    message = ngettext(
        "%(count)s dealer moved from %(from)s to %(to)s.",
        "%(count)s dealers moved from %(from)s to %(to)s.",
        done.moved,
    ) % {"count": done.moved, "from": whence, "to": to}
    if done.tasks_moved:
        message += " " + ngettext(
            "%(count)s open task went with them.",
            "%(count)s open tasks went with them.",
            done.tasks_moved,
        ) % {"count": done.tasks_moved}
    return message


def _put_errors(form: forms.BaseForm, error: ValidationError) -> None:
    """A service's refusal onto the form: each field's message next to it, the rest
    above the form."""
    if isinstance(error, InvalidInput):
        put_error_on_form(form, error)
        return
    for name, problems in error.message_dict.items():
        form.add_error(name if name in form.fields else None, problems)


@team_page(auditors_read=False)
@require_http_methods(["GET", "POST"])
def reassign(request: AuthenticatedHttpRequest) -> HttpResponse:
    state = ReassignPage.of(request)
    if request.method != "POST":
        return _render_reassign(request, state)
    form = ReassignForm(request.POST, targets=state.targets)
    if not form.is_valid():
        return _render_reassign(request, state, form=form, status=400)
    if form.cleaned_data["scope"] == ReassignForm.SELECTED:
        dealers = state.visible.filter(pk__in=form.selected_ids())
    else:
        if state.filters.is_bound and not state.filters.is_valid():
            form.add_error(None, _("The filter has errors: correct it first."))
            return _render_reassign(request, state, form=form, status=400)
        dealers = state.matching
        count = state.count()
        if not count:
            form.add_error(None, _("No dealer matches this filter: nothing to move."))
            return _render_reassign(request, state, form=form, status=400)
        expected = form.cleaned_data["expected"]
        if expected != count:
            return _render_confirmation(request, state, form, count=count, expected=expected)
    try:
        done = team_services.reassign_portfolio(
            dealers=dealers,
            collector=state.target(form),
            by=request.user,
            reason=form.cleaned_data["reason"],
        )
    except PermissionDenied as error:
        return forbidden(request, str(error), back=reverse("team_reassign"))
    except ValidationError as error:
        _put_errors(form, error)
        return _render_reassign(request, state, form=form, status=400)
    if done.moved:
        messages.success(request, _moved_message(done))
    else:
        messages.warning(request, _moved_message(done))
    return HttpResponseRedirect(_with_query(request, reverse("team_reassign")))


def _render_confirmation(
    request: AuthenticatedHttpRequest,
    state: ReassignPage,
    form: ReassignForm,
    *,
    count: int,
    expected: int | None,
) -> HttpResponse:
    """Ask again before a move by filter, repeating how many dealers it moves (and
    saying so when that number changed since the list was shown)."""
    context = {
        **_team_context(request, "reassign"),
        "count": count,
        "changed_from": expected,
        "target": person(state.target(form)) or _("nobody (unassigned)"),
        "form": form,
        "filters": state.filters.summary(),
        "action": _with_query(request, reverse("team_reassign")),
        "back": _with_query(request, reverse("team_reassign")),
    }
    return render(request, "dunning/team/reassign_confirm.html", context)


# The collection policy -----------------------------------------------------------------


def _policy_history(request: AuthenticatedHttpRequest, policy: CollectionPolicy) -> dict:
    records = (
        CollectionPolicy.history.filter(id=policy.pk)  # type: ignore[attr-defined]
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
    )
    pager = paginate(request, records, HISTORY_PER_PAGE, param="history")
    entries = history_entries(
        records, pager, fields=team_services.POLICY_FIELDS, labels=POLICY_LABELS
    )
    return {"history_pager": pager, "history": entries}


def _policy_values(policy: CollectionPolicy) -> list[tuple[Any, list[tuple[str, str, str]]]]:
    """The policy's values by fieldset, for a reader who gets no form."""
    form = PolicyForm(instance=policy)
    return [
        (
            fieldset,
            [
                (str(form[name].label), shown(getattr(policy, name)), str(form[name].help_text))
                for name in fieldset.names
            ],
        )
        for fieldset in POLICY_FIELDSETS
    ]


def _render_policy(
    request: AuthenticatedHttpRequest,
    policy: CollectionPolicy,
    *,
    form: PolicyForm | None = None,
    status: int = 200,
) -> HttpResponse:
    can_change = _may_change(request)
    context: dict[str, Any] = {
        **_team_context(request, "policy"),
        "can_change": can_change,
        **_policy_history(request, policy),
    }
    if can_change:
        context["form"] = form or PolicyForm(instance=policy)
    else:
        context["values"] = _policy_values(policy)
    return render(request, "dunning/team/policy.html", context, status=status)


@team_page(auditors_read=True)
@require_http_methods(["GET", "POST"])
def policy(request: AuthenticatedHttpRequest) -> HttpResponse:
    current = CollectionPolicy.current()
    if request.method != "POST":
        return _render_policy(request, current)
    if not _may_change(request):
        return forbidden(request, _read_only(), back=reverse("team_policy"))
    # A copy for the form to fill: the values are the service's to check and save.
    form = PolicyForm(request.POST, instance=CollectionPolicy.objects.get(pk=current.pk))
    if form.is_valid():
        try:
            changed = team_services.update_policy(
                changes=form.changes(), by=request.user, reason=form.cleaned_data["reason"]
            )
        except team_services.InvalidPolicy as error:
            for name, problem in error.problems.items():
                form.add_error(name if name in form.fields else None, problem)
        except InvalidInput as error:
            put_error_on_form(form, error)
        except PermissionDenied as error:
            return forbidden(request, str(error), back=reverse("team_policy"))
        else:
            if changed:
                labels = ", ".join(str(POLICY_LABELS[name]) for name in changed)
                messages.success(
                    request,
                    ngettext(
                        "Policy saved: %(count)s value changed (%(fields)s).",
                        "Policy saved: %(count)s values changed (%(fields)s).",
                        len(changed),
                    )
                    % {"count": len(changed), "fields": labels},
                )
            else:
                messages.warning(request, _("Nothing changed: the policy is as it was."))
            return HttpResponseRedirect(reverse("team_policy"))
    return _render_policy(request, current, form=form, status=400)


# The excuse library --------------------------------------------------------------------

EXCUSE_LABELS = {
    "text": gettext_lazy("Excuse"),
    "counter_script": gettext_lazy("Counter script"),
    "ask": gettext_lazy("The ask"),
    "position": gettext_lazy("Position"),
    "active": gettext_lazy("Offered to collectors"),
}


def _render_excuses(
    request: AuthenticatedHttpRequest, *, form: ExcuseForm | None = None, status: int = 200
) -> HttpResponse:
    excuses = Excuse.objects.order_by("position", "text", "pk")
    pager = paginate(request, excuses, EXCUSES_PER_PAGE)
    can_change = _may_change(request)
    if can_change and form is None:
        last = Excuse.objects.aggregate(last=Max("position"))["last"]
        form = ExcuseForm(editing=False, initial={"position": (last or 0) + 10})
    context = {
        **_team_context(request, "excuses"),
        "pager": pager,
        "excuses": pager.page.object_list,
        "can_change": can_change,
        "form": form,
        "query": request.GET.urlencode(),
    }
    return render(request, "dunning/team/excuses.html", context, status=status)


@team_page(auditors_read=True)
@require_GET
def excuses(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render_excuses(request)


@team_page(auditors_read=True)
@require_POST
def add_excuse(request: AuthenticatedHttpRequest) -> HttpResponse:
    if not _may_change(request):
        return forbidden(request, _read_only(), back=reverse("team_excuses"))
    form = ExcuseForm(request.POST, editing=False)
    if form.is_valid():
        try:
            excuse = team_services.add_excuse(**form.values(), by=request.user)
        except InvalidInput as error:
            put_error_on_form(form, error)
        except PermissionDenied as error:
            return forbidden(request, str(error), back=reverse("team_excuses"))
        else:
            messages.success(
                request,
                _("Excuse “%(text)s” added: collectors can pick it now.") % {"text": excuse.text},
            )
            return HttpResponseRedirect(reverse("team_excuses"))
    return _render_excuses(request, form=form, status=400)


@team_page(auditors_read=True)
@require_POST
def excuse_active(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    """Offer an excuse to collectors again, or stop offering it (from the list)."""
    back = _with_query(request, reverse("team_excuses"))
    if not _may_change(request):
        return forbidden(request, _read_only(), back=back)
    excuse = get_object_or_404(Excuse, pk=pk)
    form = ActiveForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Choose whether the excuse is offered."))
        return HttpResponseRedirect(back)
    active = form.cleaned_data["active"]
    reason = (
        _("Reactivated in the excuse library") if active else _("Deactivated in the excuse library")
    )
    try:
        team_services.update_excuse(
            excuse_id=excuse.pk, changes={"active": active}, by=request.user, reason=reason
        )
    except PermissionDenied as error:
        return forbidden(request, str(error), back=back)
    if active:
        text = _("“%(text)s” is offered to collectors again.")
    else:
        text = _("“%(text)s” is no longer offered to collectors; the contact logs keep it.")
    messages.success(request, text % {"text": excuse.text})
    return HttpResponseRedirect(back)


def _render_excuse(
    request: AuthenticatedHttpRequest,
    excuse: Excuse,
    *,
    form: ExcuseForm | None = None,
    status: int = 200,
) -> HttpResponse:
    records = (
        Excuse.history.filter(id=excuse.pk)  # type: ignore[attr-defined]
        .select_related("history_user")
        .order_by("-history_date", "-history_id")
    )
    pager = paginate(request, records, HISTORY_PER_PAGE, param="history")
    can_change = _may_change(request)
    if can_change and form is None:
        form = ExcuseForm(
            editing=True,
            initial={name: getattr(excuse, name) for name in team_services.EXCUSE_FIELDS},
        )
    context = {
        **_team_context(request, "excuses"),
        "excuse": excuse,
        "can_change": can_change,
        "form": form,
        "history_pager": pager,
        "history": history_entries(
            records, pager, fields=team_services.EXCUSE_FIELDS, labels=EXCUSE_LABELS
        ),
    }
    return render(request, "dunning/team/excuse.html", context, status=status)


@team_page(auditors_read=True)
@require_http_methods(["GET", "POST"])
def excuse(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    found = get_object_or_404(Excuse, pk=pk)
    if request.method != "POST":
        return _render_excuse(request, found)
    back = reverse("team_excuse", args=[found.pk])
    if not _may_change(request):
        return forbidden(request, _read_only(), back=back)
    form = ExcuseForm(request.POST, editing=True)
    if form.is_valid():
        try:
            _saved, changed = team_services.update_excuse(
                excuse_id=found.pk,
                changes=form.values(),
                by=request.user,
                reason=form.cleaned_data["reason"],
            )
        except InvalidInput as error:
            put_error_on_form(form, error)
        except PermissionDenied as error:
            return forbidden(request, str(error), back=back)
        else:
            if changed:
                messages.success(request, _("Excuse saved."))
            else:
                messages.warning(request, _("Nothing changed: the excuse is as it was."))
            return HttpResponseRedirect(back)
    return _render_excuse(request, found, form=form, status=400)


# Credit overrides ----------------------------------------------------------------------


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
        **_team_context(request, "overrides"),
        "today": today,
        "ended_within": ENDED_WITHIN_DAYS,
        "running": rows(running_pager.page.object_list),
        "running_pager": running_pager,
        "ended": rows(ended_pager.page.object_list),
        "ended_pager": ended_pager,
        "can_change": _may_change(request)
        and request.user.has_perm("dunning.override_credit_hold"),
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
    back = _with_query(request, reverse("team_overrides"))
    if not _may_change(request):
        return forbidden(request, _read_only(), back=back)
    dealer = get_dealer_for_user(request.user, code)
    account_id = CollectionAccount.objects.filter(dealer=dealer).values_list("pk", flat=True)
    form = EndOverrideForm(request.POST)
    typed = request.POST.get("reason", "")
    if not form.is_valid():
        error = " ".join(str(e) for errors in form.errors.values() for e in errors)
        return _render_overrides(
            request, failed=(account_id.first() or 0, typed, error), status=400
        )
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
