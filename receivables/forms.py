"""Search and filter forms for the ledger pages.

They are GET forms: the choices come from the dealers the user may see, so a collector is
never offered a region, country or colleague outside their own portfolio. Turning the
cleaned values into QuerySet filters is done here, next to the fields that name them;
balances and aging themselves come from the model QuerySets.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any, cast

from django import forms
from django.contrib.auth import get_user_model
from django.db.models import F, Q
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from receivables.models import AGING_BUCKETS, DealerQuerySet, Order, OrderQuerySet
from receivables.roles import Role, role_of

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise  # a development dependency: types only

User = get_user_model()


def _days_label(key: str) -> str:
    """`"1-30"` -> `"1-30 days"`, in the active language."""
    return gettext("%(range)s days") % {"range": key}


# Lazy, so each page shows them in its reader's language (and they pickle by reference
# for the team desk's cached figures).
# Typed as the str they become when shown.
BUCKET_LABELS: dict[str, str] = {
    key: cast(str, _("Not yet due") if key == "current" else lazy(_days_label, str)(key))
    for key, *_rest in AGING_BUCKETS
}
BUCKET_CHOICES = [("", _("Any age")), *BUCKET_LABELS.items()]


def _choices(values: list[str], empty_label: Any) -> list[tuple[str, str]]:
    return [("", empty_label)] + [(v, v) for v in values if v]


def _currencies_of(dealers: DealerQuerySet) -> list[str]:
    return list(dealers.order_by("currency").values_list("currency", flat=True).distinct())


class CollectorField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return obj.get_full_name() or obj.get_username()


class _VisibleChoicesMixin:
    """Fills region/country/collector choices from the dealers the user may see."""

    fields: dict[str, forms.Field]

    def _fill_choices(self, dealers: DealerQuerySet) -> None:
        regions = list(
            dealers.exclude(region="")
            .order_by("region")
            .values_list("region", flat=True)
            .distinct()
        )
        region = self.fields["region"]
        assert isinstance(region, forms.ChoiceField)
        region.choices = _choices(regions, _("All regions"))
        if "country" in self.fields:
            countries = list(
                dealers.order_by("country").values_list("country", flat=True).distinct()
            )
            country = self.fields["country"]
            assert isinstance(country, forms.ChoiceField)
            country.choices = _choices(countries, _("All countries"))
        if "collector" not in self.fields:
            return
        collector = self.fields["collector"]
        assert isinstance(collector, forms.ModelChoiceField)
        collector.queryset = User.objects.filter(
            pk__in=dealers.filter(collector__isnull=False).values("collector")
        ).order_by("username")


class DealerFilterForm(_VisibleChoicesMixin, forms.Form):
    SORTS: dict[str, tuple[StrOrPromise, list[Any]]] = {
        "-overdue": (_("Most overdue first"), [F("overdue").desc(), "code"]),
        "overdue": (_("Least overdue first"), [F("overdue").asc(), "code"]),
        "oldest": (
            _("Oldest due first"),
            [F("oldest_due_on").asc(nulls_last=True), "code"],
        ),
        "-oldest": (
            _("Oldest due last"),
            [F("oldest_due_on").desc(nulls_last=True), "code"],
        ),
        "code": (_("Code A-Z"), ["code"]),
        "-code": (_("Code Z-A"), ["-code"]),
    }
    DEFAULT_SORT = "-overdue"

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    region = forms.ChoiceField(label=_("Region"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    collector = CollectorField(
        label=_("Collector"), required=False, queryset=User.objects.none(), empty_label=_("Anyone")
    )
    age = forms.ChoiceField(label=_("Has items aged"), required=False, choices=BUCKET_CHOICES)
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
    )

    def __init__(self, *args: Any, dealers: DealerQuerySet, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if role_of(user) == Role.COLLECTOR:
            # A collector sees only their own portfolio: the filter would offer one name.
            del self.fields["collector"]
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("Code or name"), "type": "search", "autocomplete": "off"}
        )
        self._fill_choices(dealers)

    @property
    def sort_key(self) -> str:
        if self.is_valid() and self.cleaned_data["sort"]:
            return self.cleaned_data["sort"]
        return self.DEFAULT_SORT

    def filter_dealers(self, dealers: DealerQuerySet, *, today: dt.date) -> DealerQuerySet:
        """Apply the valid filters to `dealers` (already annotated with balances) and sort.

        An invalid field is ignored rather than emptying the list; the form shows its
        error next to it.
        """
        data = self.cleaned_data if self.is_valid() else {}
        if query := (data.get("q") or "").strip():
            dealers = dealers.filter(Q(code__icontains=query) | Q(name__icontains=query))
        if region := data.get("region"):
            dealers = dealers.filter(region=region)
        if country := data.get("country"):
            dealers = dealers.filter(country=country)
        if collector := data.get("collector"):
            dealers = dealers.filter(collector=collector)
        if age := data.get("age"):
            aged = Order.objects.open_at(today).filter(**due_on_range(age, today))
            dealers = dealers.filter(pk__in=aged.values("dealer"))
        if data.get("overdue"):
            # Q rather than a keyword: django-stubs cannot see the with_balance annotation.
            dealers = dealers.filter(Q(overdue__gt=0))
        return dealers.order_by(*self.SORTS[self.sort_key][1])


def due_on_range(bucket: str, on: dt.date) -> dict[str, dt.date]:
    """Lookups on `due_on` selecting the orders in aging bucket `bucket` on `on`."""
    for key, low, high in AGING_BUCKETS:
        if key != bucket:
            continue
        lookups = {}
        if low is not None:
            lookups["due_on__lte"] = on - dt.timedelta(days=low)
        if high is not None:
            lookups["due_on__gte"] = on - dt.timedelta(days=high)
        return lookups
    raise ValueError(f"unknown aging bucket {bucket!r}")


class IsoDateField(forms.DateField):
    """A YYYY-MM-DD date whose error repeats what was typed: a date input shows nothing
    for a value it cannot parse, so the message is the only place the user sees it."""

    input_formats = ["%Y-%m-%d"]

    def to_python(self, value: Any) -> dt.date | None:
        try:
            return super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                "“%(value)s” is not a date: use YYYY-MM-DD.",
                code="invalid",
                params={"value": value},
            ) from None


class AgingForm(_VisibleChoicesMixin, forms.Form):
    as_of = IsoDateField(
        label=_("As of"),
        widget=forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d"),
    )
    region = forms.ChoiceField(label=_("Region"), required=False)
    collector = CollectorField(
        label=_("Collector"), required=False, queryset=User.objects.none(), empty_label=_("Anyone")
    )
    currency = forms.ChoiceField(label=_("Currency"), required=False)

    def __init__(self, *args: Any, dealers: DealerQuerySet, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if role_of(user) == Role.COLLECTOR:
            del self.fields["collector"]
        self._fill_choices(dealers)
        currency = self.fields["currency"]
        assert isinstance(currency, forms.ChoiceField)
        currency.choices = _choices(_currencies_of(dealers), _("Each currency"))

    def clean_as_of(self) -> dt.date:
        as_of: dt.date = self.cleaned_data["as_of"]
        if as_of.year < 1900:
            raise forms.ValidationError(_("Enter a date after 1900."))
        return as_of

    def _filtered(self, dealers: DealerQuerySet) -> DealerQuerySet:
        if region := self.cleaned_data.get("region"):
            dealers = dealers.filter(region=region)
        if collector := self.cleaned_data.get("collector"):
            dealers = dealers.filter(collector=collector)
        return dealers

    def orders(self, dealers: DealerQuerySet) -> OrderQuerySet:
        """The orders of `dealers` narrowed by the region and collector filters."""
        return Order.objects.of_dealers(self._filtered(dealers))

    def currencies(self, dealers: DealerQuerySet) -> list[str]:
        """The currencies to report: the chosen one, or each one the user's dealers use."""
        if currency := self.cleaned_data.get("currency"):
            return [currency]
        return _currencies_of(self._filtered(dealers))
