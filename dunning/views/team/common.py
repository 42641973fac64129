"""What the team pages share: who may open them (managers; auditors read the policy, the
excuse library and the overrides but get no form), the read-only check, the pagination
of their lists and the history of changes.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http.response import HttpResponseBase
from django.utils.formats import number_format
from django.utils.translation import gettext as _

from dunning.team_forms import person
from dunning.views.common import AuthenticatedHttpRequest, forbidden
from receivables.roles import Role, role_of

HISTORY_PER_PAGE = 20


def _managers_only() -> str:
    return _("The team pages are for collection managers.")


def read_only() -> str:
    return _("Your role may read this page but not change it.")


def team_page(*, auditors_read: bool) -> Callable[..., Callable[..., HttpResponseBase]]:
    """Logged in and a manager (or, with `auditors_read`, an auditor), else the 403
    page. The views still check that only a manager changes anything (`may_change`)."""
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


def may_change(request: AuthenticatedHttpRequest) -> bool:
    return role_of(request.user) == Role.MANAGER


def with_query(request: AuthenticatedHttpRequest, url: str) -> str:
    query = request.GET.urlencode()
    return f"{url}?{query}" if query else url


def team_context(request: AuthenticatedHttpRequest, tab: str) -> dict[str, Any]:
    return {"tab": tab, "is_manager": may_change(request)}


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


__all__ = [
    "HISTORY_PER_PAGE",
    "Change",
    "CountedPaginator",
    "HistoryEntry",
    "Pager",
    "history_entries",
    "may_change",
    "paginate",
    "read_only",
    "shown",
    "team_context",
    "team_page",
    "with_query",
]
