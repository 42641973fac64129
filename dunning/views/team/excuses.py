"""The excuse library, each excuse with its history. Managers change it; auditors read it
but get no form (and a 403 page for a POST).
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Max
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from dunning.models import Excuse
from dunning.services import team as team_services
from dunning.services.errors import InvalidInput
from dunning.team_forms import ActiveForm, ExcuseForm
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from dunning.views.team.common import (
    HISTORY_PER_PAGE,
    history_entries,
    may_change,
    paginate,
    read_only,
    team_context,
    team_page,
    with_query,
)

EXCUSES_PER_PAGE = 50


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
    can_change = may_change(request)
    if can_change and form is None:
        last = Excuse.objects.aggregate(last=Max("position"))["last"]
        form = ExcuseForm(editing=False, initial={"position": (last or 0) + 10})
    context = {
        **team_context(request, "excuses"),
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
    if not may_change(request):
        return forbidden(request, read_only(), back=reverse("team_excuses"))
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
    back = with_query(request, reverse("team_excuses"))
    if not may_change(request):
        return forbidden(request, read_only(), back=back)
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
    can_change = may_change(request)
    if can_change and form is None:
        form = ExcuseForm(
            editing=True,
            initial={name: getattr(excuse, name) for name in team_services.EXCUSE_FIELDS},
        )
    context = {
        **team_context(request, "excuses"),
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
    if not may_change(request):
        return forbidden(request, read_only(), back=back)
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


__all__ = [
    "add_excuse",
    "excuse",
    "excuse_active",
    "excuses",
]
