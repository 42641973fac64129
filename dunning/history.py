"""A dealer's whole change history, for the auditor: every change to the dealer, its
ledger and its collection workflow, with who, when, what (field: old -> new) and why.

Every model keeps its history with django-simple-history, one historical table each, so
the history of a dealer is spread over many tables. It is read set-based, at a cost
that does not grow with the rows:

1. `history_index` is one UNION ALL of the slim columns (when, who, why, which row) of
   each table, filtered by the dealer, kind and dates, sorted newest first and paginated
   in the database;
2. `entries` turns a page (or a batch, for the CSV) of that index into `Entry`s: per
   table on the page, one query for its full rows and the previous version of each
   (found by a correlated subquery); then one query for the people named and one per
   kind of related row named. `prev_record` and
   `diff_against` would cost a query per row.

`StageChange` has no historical table: it *is* history (one row per move, never
changed), so its rows are entries of their own.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import islice
from typing import TYPE_CHECKING, Any

from django.contrib.auth import get_user_model
from django.db import models
from django.db.models import F, OuterRef, Q, Subquery, Value
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from dunning.models import (
    CollectionAccount,
    ContactLog,
    DealerEvent,
    Escalation,
    Evidence,
    InstallmentPlan,
    InterestCharge,
    Letter,
    Promise,
    StageChange,
    Task,
)
from receivables.models import Agency, Allocation, Contact, Dealer, Order, OrderLine, Payment

if TYPE_CHECKING:
    from django.utils.functional import Promise as LazyText

# The kinds of change one can filter by, in the order the filter offers them.
KINDS: dict[str, LazyText] = {
    "dealer": gettext_lazy("Dealer and contacts"),
    "orders": gettext_lazy("Orders"),
    "payments": gettext_lazy("Payments"),
    "account": gettext_lazy("Collection account and stages"),
    "promises": gettext_lazy("Promises and plans"),
    "escalations": gettext_lazy("Escalations and evidence"),
    "contacts": gettext_lazy("Contacts and events"),
    "letters": gettext_lazy("Letters and interest"),
    "tasks": gettext_lazy("Tasks"),
}

# Written by the framework on every save: a change of them alone says nothing.
NOISE_FIELDS = {"id", "created_at", "updated_at"}
# Keys, not facts: a change is shown, never the value (the reply token opens the reply
# page without a login).
SECRET_FIELDS = {"reply_token"}
# What names a row of these models for a person (else "#id").
NAME_FIELDS: dict[type[models.Model], str] = {
    Dealer: "code",
    Contact: "name",
    Order: "number",
    OrderLine: "product",
    Payment: "reference",
    Agency: "name",
}


@dataclass(frozen=True)
class Source:
    """One table of history: which kind it is and how to find a dealer's rows in it."""

    key: str
    kind: str
    model: type[models.Model]

    def rows(self, dealer_id: int) -> models.QuerySet[Any]:
        """This table's rows about the dealer, in the index's slim columns."""
        if self.model is StageChange:
            return StageChange.objects.filter(dealer_id=dealer_id).annotate(
                h_id=F("id"),
                h_date=F("at"),
                h_user=F("by_id"),
                h_reason=F("reason"),
                h_type=Value("+"),
                h_object=F("id"),
                h_source=Value(self.key),
            )
        history = self.model.history  # type: ignore[attr-defined]
        if self.model is Dealer:
            rows = history.filter(id=dealer_id)
        elif self.model is OrderLine:
            rows = history.filter(
                order_id__in=Order.history.filter(dealer_id=dealer_id).values("id")  # type: ignore[attr-defined]
            )
        elif self.model is Allocation:
            rows = history.filter(
                payment_id__in=Payment.history.filter(dealer_id=dealer_id).values("id")  # type: ignore[attr-defined]
            )
        elif self.model is InterestCharge:
            rows = history.filter(
                notice_id__in=Letter.history.filter(dealer_id=dealer_id).values("id")  # type: ignore[attr-defined]
            )
        else:
            rows = history.filter(dealer_id=dealer_id)
        return rows.annotate(
            h_id=F("history_id"),
            h_date=F("history_date"),
            h_user=F("history_user_id"),
            h_reason=F("history_change_reason"),
            h_type=F("history_type"),
            h_object=F("id"),
            h_source=Value(self.key),
        )


SOURCES: list[Source] = [
    Source("dealer", "dealer", Dealer),
    Source("contact", "dealer", Contact),
    Source("order", "orders", Order),
    Source("orderline", "orders", OrderLine),
    Source("payment", "payments", Payment),
    Source("allocation", "payments", Allocation),
    Source("account", "account", CollectionAccount),
    Source("stagechange", "account", StageChange),
    Source("promise", "promises", Promise),
    Source("plan", "promises", InstallmentPlan),
    Source("escalation", "escalations", Escalation),
    Source("evidence", "escalations", Evidence),
    Source("contactlog", "contacts", ContactLog),
    Source("event", "contacts", DealerEvent),
    Source("letter", "letters", Letter),
    Source("interest", "letters", InterestCharge),
    Source("task", "tasks", Task),
]
SOURCE_BY_KEY = {source.key: source for source in SOURCES}
INDEX_COLUMNS = ("h_id", "h_date", "h_user", "h_reason", "h_type", "h_object", "h_source")

# Reading the history shows every one of these tables: a role must be allowed to view
# them all (an agency sees only part of the workflow, a collector no order lines or
# allocations).
VIEW_PERMISSIONS = sorted(
    {f"{source.model._meta.app_label}.view_{source.model._meta.model_name}" for source in SOURCES}
)


def may_read_history(user: Any) -> bool:
    return bool(user.is_authenticated and user.has_perms(VIEW_PERMISSIONS))


@dataclass(frozen=True)
class IndexRow:
    """One change in the index: enough to sort, page and then fetch it."""

    history_id: int
    when: dt.datetime
    user_id: int | None
    reason: str
    type: str
    object_id: int
    source: str


@dataclass(frozen=True)
class Change:
    field: str
    old: str
    new: str


@dataclass
class Entry:
    """One change to one row, as a person reads it."""

    when: dt.datetime
    who: str
    kind: str
    kind_label: str
    object_label: str
    action: str
    reason: str
    changes: list[Change] = field(default_factory=list)


def history_index(
    dealer_id: int,
    *,
    kinds: Iterable[str] = (),
    since: dt.date | None = None,
    until: dt.date | None = None,
) -> models.QuerySet[Any]:
    """The dealer's changes, newest first, as one UNION ALL query of `INDEX_COLUMNS`
    tuples (slice it to page; `.count()` counts in SQL). `kinds` keeps those kinds only
    (all when empty); `since` and `until` are inclusive days in the current time zone."""
    wanted = set(kinds) or set(KINDS)
    window = Q()
    if since is not None:
        window &= Q(h_date__gte=_start_of(since))
    if until is not None:
        window &= Q(h_date__lt=_start_of(until + dt.timedelta(days=1)))
    parts = [
        source.rows(dealer_id).filter(window).values_list(*INDEX_COLUMNS).order_by()
        for source in SOURCES
        if source.kind in wanted
    ]
    first, *rest = parts
    return first.union(*rest, all=True).order_by("-h_date", "h_source", "-h_id")


def _start_of(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def entries(rows: Iterable[tuple[Any, ...]]) -> list[Entry]:
    """The entries of these index rows, in their order, with their changes; a bounded
    number of queries whatever the number of rows (see the module's docstring)."""
    index = [IndexRow(*row) for row in rows]
    by_source: dict[str, list[int]] = defaultdict(list)
    for row in index:
        by_source[row.source].append(row.history_id)
    versions: dict[tuple[str, int], Any] = {}
    previous: dict[tuple[str, int], Any] = {}
    for key, ids in by_source.items():
        model = SOURCE_BY_KEY[key].model
        if model is StageChange:
            for change in StageChange.objects.filter(id__in=ids):
                versions[key, change.id] = change
            continue
        history = model.history  # type: ignore[attr-defined]
        # Earlier: by date, and by history id between versions saved at the same instant.
        earlier = history.filter(
            Q(history_date__lt=OuterRef("history_date"))
            | Q(history_date=OuterRef("history_date"), history_id__lt=OuterRef("history_id")),
            id=OuterRef("id"),
        )
        before = history.filter(history_id__in=ids).annotate(
            prev_id=Subquery(
                earlier.order_by("-history_date", "-history_id").values("history_id")[:1]
            )
        )
        # The version before each (one query: an index probe per version), then the
        # page's versions and those, sorted per object, so that each version's
        # predecessor is the one just before it. Two plain IN lists, not an OR with a
        # subquery, which PostgreSQL answers by reading the whole history table.
        prev_ids = [pk for pk in before.values_list("prev_id", flat=True) if pk is not None]
        found = history.filter(history_id__in=[*ids, *prev_ids]).order_by(
            "id", "history_date", "history_id"
        )
        wanted = set(ids)
        last: Any = None
        for row in found:
            if row.history_id in wanted:
                versions[key, row.history_id] = row
                if last is not None and last.id == row.id:
                    previous[key, row.history_id] = last
            last = row
    names = _Names()
    for row in index:
        names.want_user(row.user_id)
    for (key, _id), version in versions.items():
        names.want_related(SOURCE_BY_KEY[key].model, version)
        if (key, _id) in previous:
            names.want_related(SOURCE_BY_KEY[key].model, previous[key, _id])
    names.fetch()
    result = []
    for row in index:
        source = SOURCE_BY_KEY[row.source]
        version = versions.get((row.source, row.history_id))
        if version is None:  # gone between the index and now: never for history
            continue
        result.append(
            Entry(
                when=row.when,
                who=names.user(row.user_id),
                kind=source.kind,
                kind_label=str(KINDS[source.kind]),
                object_label=_object_label(source.model, version, row.object_id),
                action=_action(row.type, source.model),
                reason=row.reason or "",
                changes=_changes(
                    source.model, version, previous.get((row.source, row.history_id)), names
                ),
            )
        )
    return result


def all_entries(dealer_id: int, *, batch: int = 500, **filters: Any) -> Iterator[Entry]:
    """Every entry of the dealer's history, newest first, built `batch` index rows at a
    time (for the CSV export: memory and queries per batch stay bounded)."""
    rows = history_index(dealer_id, **filters).iterator(chunk_size=batch)
    while chunk := list(islice(rows, batch)):
        yield from entries(chunk)


def _action(history_type: str, model: type[models.Model]) -> str:
    if model is StageChange:
        return _("Recorded")
    return {"+": _("Created"), "~": _("Changed"), "-": _("Deleted")}.get(history_type, "")


def _object_label(model: type[models.Model], version: Any, object_id: int) -> str:
    name_field = NAME_FIELDS.get(model)
    name = getattr(version, name_field, "") if name_field else ""
    return f"{capfirst(model._meta.verbose_name)} {name or f'#{object_id}'}"


def _tracked(model: type[models.Model]) -> list[models.Field[Any, Any]]:
    if model is StageChange:
        fields = [f for f in model._meta.concrete_fields if f.name not in ("by", "reason", "at")]
    else:
        fields = list(model.history.model.tracked_fields)  # type: ignore[attr-defined]
    return [
        f
        for f in fields
        if f.name not in NOISE_FIELDS and not (model is not Dealer and f.name == "dealer")
    ]


def _changes(
    model: type[models.Model], version: Any, before: Any | None, names: _Names
) -> list[Change]:
    """Field by field, what this version changed from the one before it (every filled
    field for a new row; nothing for a deleted one, the action says it)."""
    if getattr(version, "history_type", "+") == "-":
        return []
    changes = []
    for f in _tracked(model):
        new = getattr(version, f.attname)
        old = getattr(before, f.attname) if before is not None else None
        if before is not None and old == new:
            continue
        if before is None and new in (None, ""):
            continue
        label = str(capfirst(f.verbose_name))
        if f.name in SECRET_FIELDS:
            changes.append(Change(label, "•••" if old else "", "•••" if new else ""))
        else:
            changes.append(Change(label, names.show(f, old), names.show(f, new)))
    return changes


class _Names:
    """The people and related rows the entries name, fetched at once: one query for the
    users and one per related model, whatever the number of entries."""

    def __init__(self) -> None:
        self.user_ids: set[int] = set()
        self.wanted: dict[type[models.Model], set[Any]] = defaultdict(set)
        self.users: dict[int, str] = {}
        self.labels: dict[tuple[type[models.Model], Any], str] = {}
        self.user_model = get_user_model()

    def want_user(self, user_id: int | None) -> None:
        if user_id is not None:
            self.user_ids.add(user_id)

    def want_related(self, model: type[models.Model], version: Any) -> None:
        for f in _tracked(model):
            value = getattr(version, f.attname)
            if f.is_relation and value is not None:
                target = f.related_model
                if target is self.user_model:
                    self.user_ids.add(value)
                else:
                    self.wanted[target].add(value)  # type: ignore[index]

    def fetch(self) -> None:
        if self.user_ids:
            self.users = dict(
                self.user_model._default_manager.filter(pk__in=self.user_ids).values_list(
                    "pk", "username"
                )
            )
        for target, ids in self.wanted.items():
            name_field = NAME_FIELDS.get(target)
            if name_field is None:
                continue
            for pk, name in target._base_manager.filter(pk__in=ids).values_list("pk", name_field):
                self.labels[target, pk] = str(name)

    def user(self, user_id: int | None) -> str:
        if user_id is None:
            return _("System")
        return self.users.get(user_id, f"#{user_id}")

    def show(self, f: models.Field[Any, Any], value: Any) -> str:
        """A value as a person reads it: choice labels, names of related rows, Yes/No,
        ISO dates; never an internal code where a label exists."""
        if value is None or value == "":
            return ""
        if f.is_relation:
            target = f.related_model
            if target is self.user_model:
                return self.users.get(value, f"#{value}")
            verbose = capfirst(target._meta.verbose_name)  # type: ignore[union-attr]
            label = self.labels.get((target, value), f"#{value}")  # type: ignore[arg-type]
            return f"{verbose} {label}"
        if f.choices:
            return str(dict(f.flatchoices).get(value, value))
        if isinstance(value, bool):
            return _("Yes") if value else _("No")
        if isinstance(value, dt.datetime):
            return timezone.localtime(value).isoformat(timespec="seconds")
        if isinstance(value, dt.time):
            return value.strftime("%H:%M")
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, Decimal):
            return str(value)
        return str(value)
