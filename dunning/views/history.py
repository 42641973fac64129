"""The auditor's pages of one dealer: its whole change history, paginated, and the same
rows as a CSV download. The rows come from `dunning.history`; this module only checks
who may read them, parses the filter and renders.

Reading needs a view permission on every table the history covers
(`dunning.history.VIEW_PERMISSIONS`): auditors, managers and finance have them; a
collector (no order lines or allocations) and an agency get the 403 page.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterator
from typing import Any

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpResponse, StreamingHttpResponse
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_GET

from dunning import history
from dunning.views.common import AuthenticatedHttpRequest, forbidden
from receivables.access import get_dealer_for_user
from receivables.models import Dealer

ENTRIES_PER_PAGE = 50
NOT_ALLOWED = gettext_lazy("The change history is for auditors, managers and finance.")

# Cells a spreadsheet would read as a formula (or that hide one behind a control
# character): OWASP's list for CSV injection.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def neutralise(value: str) -> str:
    """A CSV cell a spreadsheet shows as text: a value starting like a formula gets a
    leading single quote. Every cell of the export goes through here."""
    return "'" + value if value.startswith(FORMULA_STARTS) else value


class HistoryFilterForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        required=False,
        choices=[("", gettext_lazy("All kinds")), *history.KINDS.items()],
    )
    since = forms.DateField(
        label=gettext_lazy("From"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label=gettext_lazy("Until"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        since, until = data.get("since"), data.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end comes before the start."))
        return data

    def filters(self) -> dict[str, Any]:
        """The filters for `history.history_index`; none when the form is invalid."""
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        return {
            "kinds": [data["kind"]] if data.get("kind") else [],
            "since": data.get("since"),
            "until": data.get("until"),
        }


def _readable_dealer(request: AuthenticatedHttpRequest, code: str) -> Dealer | HttpResponse:
    if not history.may_read_history(request.user):
        return forbidden(request, str(NOT_ALLOWED))
    return get_dealer_for_user(request.user, code)


@login_required
@require_GET
def dealer_history(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _readable_dealer(request, code)
    if isinstance(dealer, HttpResponse):
        return dealer
    form = HistoryFilterForm(request.GET or None)
    filters = form.filters() if form.is_bound else {}
    index = history.history_index(dealer.pk, **filters)
    page = Paginator(index, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    csv_url = reverse("dealer_history_csv", args=[dealer.code])
    if request.GET:
        csv_url += "?" + request.GET.urlencode()
    return render(
        request,
        "dunning/history/dealer_history.html",
        {
            "dealer": dealer,
            "form": form,
            "page": page,
            "page_range": list(page.paginator.get_elided_page_range(page.number)),
            "entries": history.entries(page.object_list),
            "csv_url": csv_url,
        },
        status=400 if form.is_bound and not form.is_valid() else 200,
    )


class _Echo:
    """A file-like object whose write returns the line, for csv.writer to stream."""

    def write(self, value: str) -> str:
        return value


CSV_HEADER = [
    gettext_lazy("When"),
    gettext_lazy("Who"),
    gettext_lazy("Kind"),
    gettext_lazy("Object"),
    gettext_lazy("Field"),
    gettext_lazy("Old value"),
    gettext_lazy("New value"),
    gettext_lazy("Reason"),
]


def csv_rows(entries: Iterator[history.Entry]) -> Iterator[list[str]]:
    """One row per field changed (one for a change without fields, such as a deletion),
    every cell neutralised."""
    yield [neutralise(str(title)) for title in CSV_HEADER]
    for entry in entries:
        when = timezone.localtime(entry.when).isoformat(timespec="seconds")
        head = [when, entry.who, entry.kind_label, entry.object_label]
        changes = entry.changes or [history.Change(entry.action, "", "")]
        for change in changes:
            cells = [*head, change.field, change.old, change.new, entry.reason]
            yield [neutralise(cell) for cell in cells]


@login_required
@require_GET
def dealer_history_csv(request: AuthenticatedHttpRequest, code: str) -> HttpResponse:
    dealer = _readable_dealer(request, code)
    if isinstance(dealer, HttpResponse):
        return dealer
    form = HistoryFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        return HttpResponse(
            "\n".join(str(e) for errors in form.errors.values() for e in errors),
            status=400,
            content_type="text/plain; charset=utf-8",
        )
    filters = form.filters() if form.is_bound else {}
    writer = csv.writer(_Echo())
    lines = (writer.writerow(row) for row in csv_rows(history.all_entries(dealer.pk, **filters)))
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = re.sub(r"[^A-Za-z0-9._-]", "_", dealer.code)
    response["Content-Disposition"] = f'attachment; filename="{filename}-history.csv"'
    response["Cache-Control"] = "private, no-store"
    return response  # type: ignore[return-value]
