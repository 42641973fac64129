"""Reassigning dealers: who works which dealers, reassigning them by selection or by
filter. Managers only.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django import forms
from django.contrib import messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, F, OuterRef, Q, Value
from django.db.models.functions import Coalesce
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from dunning.models import Stage
from dunning.services import team as team_services
from dunning.services.errors import InvalidInput
from dunning.team_forms import ReassignFilterForm, ReassignForm, person
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from dunning.views.team.common import (
    paginate,
    team_context,
    team_page,
    with_query,
)
from receivables.dates import business_today
from receivables.models import Dealer, DealerQuerySet
from receivables.services import collectors

if TYPE_CHECKING:
    from django.contrib.auth.models import User

DEALERS_PER_PAGE = 50


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
        **team_context(request, "reassign"),
        "filter_form": state.filters,
        "form": form or ReassignForm(targets=state.targets),
        "pager": pager,
        "dealers": dealers,
        "ticked": ticked,
        "matching": pager.page.paginator.count,
        "narrowed": state.filters.is_narrowed,
        "action": with_query(request, reverse("team_reassign")),
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
    return HttpResponseRedirect(with_query(request, reverse("team_reassign")))


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
        **team_context(request, "reassign"),
        "count": count,
        "changed_from": expected,
        "target": person(state.target(form)) or _("nobody (unassigned)"),
        "form": form,
        "filters": state.filters.summary(),
        "action": with_query(request, reverse("team_reassign")),
        "back": with_query(request, reverse("team_reassign")),
    }
    return render(request, "dunning/team/reassign_confirm.html", context)


__all__ = [
    "reassign",
]
