"""The collection policy with its history. Managers change it; auditors read it but get
no form (and a 403 page for a POST).
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_http_methods

from dunning.models import CollectionPolicy
from dunning.services import team as team_services
from dunning.services.errors import InvalidInput
from dunning.team_forms import POLICY_FIELDSETS, POLICY_LABELS, PolicyForm
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from dunning.views.team.common import (
    HISTORY_PER_PAGE,
    history_entries,
    may_change,
    paginate,
    read_only,
    shown,
    team_context,
    team_page,
)


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
    can_change = may_change(request)
    context: dict[str, Any] = {
        **team_context(request, "policy"),
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
    if not may_change(request):
        return forbidden(request, read_only(), back=reverse("team_policy"))
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


__all__ = [
    "policy",
]
