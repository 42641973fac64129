"""Forms of the team pages (`dunning.views.team`). Like `dunning.forms`, they check the
shape of the input only (a number, a time, a choice from the list); the rules (the
reminder levels in order, an active collector, an excuse said once) are the services'
(`dunning.services.team`, `receivables.services.reassign_dealers`), whose
`InvalidInput(field, message)` lands on the field of the same name.

Labels, help texts and choices are translated; the policy's labels are kept here rather
than in the model so that the page, its history and the form say the same words.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django import forms
from django.db import models
from django.db.models import F, Q
from django.utils.functional import Promise as LazyText
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from dunning.models import CollectionPolicy, Stage
from dunning.services.team import POLICY_FIELDS, REASON_MAX, SCRIPT_MAX, TEXT_MAX
from receivables.models import DealerQuerySet

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The collector filter's and the target's value for "no collector".
UNASSIGNED = "none"
# At most this many ticked dealers in one request (a page shows fewer).
MOST_SELECTED = 500


def _reason_field(label: Any = None) -> forms.CharField:
    return forms.CharField(
        label=label or _("Reason for the change"),
        max_length=REASON_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Kept in the history with your name."),
    )


def _plain(value: str) -> str:
    """Text typed into one line: no control characters."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise forms.ValidationError(_("Use letters, digits and spaces only."))
    return value


def person(user: User | None) -> str:
    """How a user is named on the team pages."""
    if user is None:
        return ""
    return user.get_full_name() or user.get_username()


# Reassigning dealers -------------------------------------------------------------------


class ReassignFilterForm(forms.Form):
    """Which dealers the list shows, and which "all dealers matching this filter" moves.
    Every field may be left out; an invalid one is ignored (and shown with its error)."""

    SORTS: dict[str, tuple[LazyText, list[Any]]] = {
        "-overdue": (_("Most overdue first"), [F("overdue").desc(), "code"]),
        "code": (_("Code A-Z"), ["code"]),
        "name": (_("Name A-Z"), ["name", "code"]),
        "collector": (
            _("Collector"),
            [F("collector__username").asc(nulls_first=True), "code"],
        ),
    }
    DEFAULT_SORT = "-overdue"

    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    collector = forms.ChoiceField(label=_("Collector now"), required=False)
    country = forms.ChoiceField(label=_("Country"), required=False)
    currency = forms.ChoiceField(label=_("Currency"), required=False)
    stage = forms.ChoiceField(
        label=_("Stage"),
        required=False,
        choices=[("", _("Every stage")), *Stage.choices],
    )
    overdue = forms.BooleanField(label=_("Overdue only"), required=False)
    sort = forms.ChoiceField(
        label=_("Sort by"),
        required=False,
        choices=[(key, label) for key, (label, _order) in SORTS.items()],
    )

    def __init__(
        self,
        *args: Any,
        dealers: DealerQuerySet,
        people: Sequence[User],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.fields["q"].widget.attrs.update(
            {"placeholder": _("Code or name"), "type": "search", "autocomplete": "off"}
        )
        pairs = list(dealers.order_by().values_list("country", "currency").distinct())
        countries = sorted({country for country, _currency in pairs})
        currencies = sorted({currency for _country, currency in pairs})
        self._choices("country", [("", _("All countries")), *((c, c) for c in countries)])
        self._choices("currency", [("", _("All currencies")), *((c, c) for c in currencies)])
        self._choices(
            "collector",
            [
                ("", _("Anyone")),
                (UNASSIGNED, _("Unassigned")),
                *((str(user.pk), person(user)) for user in people),
            ],
        )

    def _choices(self, name: str, choices: list[tuple[str, Any]]) -> None:
        field = self.fields[name]
        assert isinstance(field, forms.ChoiceField)
        field.choices = choices

    @property
    def sort_key(self) -> str:
        if self.is_valid() and self.cleaned_data["sort"]:
            return self.cleaned_data["sort"]
        return self.DEFAULT_SORT

    @property
    def is_narrowed(self) -> bool:
        """Whether any filter is set (the sort is not a filter)."""
        data = self.cleaned_data if self.is_valid() else {}
        return any(data.get(name) for name in ("q", "collector", "country", "currency", "stage"))

    def narrow(self, dealers: DealerQuerySet) -> DealerQuerySet:
        """The filters on the dealer's own columns: apply before `with_balance`, so that
        it refreshes the figures of these dealers only."""
        data = self.cleaned_data if self.is_valid() else {}
        if query := (data.get("q") or "").strip():
            dealers = dealers.filter(Q(code__icontains=query) | Q(name__icontains=query))
        if collector := data.get("collector"):
            dealers = (
                dealers.filter(collector__isnull=True)
                if collector == UNASSIGNED
                else dealers.filter(collector_id=int(collector))
            )
        if country := data.get("country"):
            dealers = dealers.filter(country=country)
        if currency := data.get("currency"):
            dealers = dealers.filter(currency=currency)
        if stage := data.get("stage"):
            # A dealer without an account is current.
            in_stage = Q(account__stage=stage)
            if stage == Stage.CURRENT:
                in_stage |= Q(account__isnull=True)
            dealers = dealers.filter(in_stage)
        return dealers

    @property
    def filters_figures(self) -> bool:
        """Whether a filter reads `with_balance`'s figures (`narrow_figures`)."""
        return bool(self.is_valid() and self.cleaned_data.get("overdue"))

    def narrow_figures(self, dealers: DealerQuerySet) -> DealerQuerySet:
        """The filters on `with_balance`'s figures: apply after it."""
        data = self.cleaned_data if self.is_valid() else {}
        if data.get("overdue"):
            dealers = dealers.filter(Q(overdue__gt=0))
        return dealers

    def order(self, dealers: DealerQuerySet) -> DealerQuerySet:
        return dealers.order_by(*self.SORTS[self.sort_key][1])

    def summary(self) -> list[str]:
        """The filters set, in words, for the confirmation of a move by filter."""
        if not self.is_valid():
            return []
        words = []
        for name in ("q", "collector", "country", "currency", "stage"):
            value = self.cleaned_data.get(name)
            if not value:
                continue
            field = self[name]
            shown = value
            if isinstance(field.field, forms.ChoiceField) and name != "q":
                shown = dict(field.field.choices).get(value, value)  # type: ignore[arg-type]
            words.append(f"{field.label}: {shown}")
        if self.cleaned_data.get("overdue"):
            words.append(str(_("Overdue only")))
        return words


class ReassignForm(forms.Form):
    """Move the ticked dealers (`scope=selected`) or every dealer of the filter
    (`scope=filter`, confirmed with the number the user was shown: `expected`) to a
    collector, or to nobody."""

    SELECTED = "selected"
    FILTER = "filter"

    scope = forms.ChoiceField(
        choices=[(SELECTED, _("The ticked dealers")), (FILTER, _("Every dealer of the filter"))],
        widget=forms.HiddenInput,
    )
    collector = forms.ChoiceField(label=_("Move to"))
    reason = _reason_field(_("Reason"))
    expected = forms.IntegerField(required=False, min_value=0, widget=forms.HiddenInput)

    def __init__(self, *args: Any, targets: Sequence[User], **kwargs: Any) -> None:
        # Its own ids: the filter above it on the page has a `collector` too.
        kwargs.setdefault("auto_id", "move_%s")
        super().__init__(*args, **kwargs)
        field = self.fields["collector"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [
            ("", _("Choose a collector")),
            *((str(user.pk), person(user)) for user in targets),
            (UNASSIGNED, _("Nobody (unassigned)")),
        ]
        self.fields["reason"].widget.attrs["placeholder"] = _(
            "For example: Carl's portfolio while he is on leave"
        )

    def clean_reason(self) -> str:
        return self.cleaned_data["reason"].strip()

    def selected_ids(self) -> list[int]:
        """The ticked dealers' ids (`dealer`, repeated), in the order ticked."""
        raw = self.data.getlist("dealer") if hasattr(self.data, "getlist") else []
        return list(dict.fromkeys(int(v) for v in raw if v.isdigit() and len(v) <= 12))

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("scope") == self.SELECTED:
            ids = self.selected_ids()
            if not ids:
                self.add_error(
                    None, _("Tick the dealers to move, or move every dealer of the filter.")
                )
            elif len(ids) > MOST_SELECTED:
                self.add_error(
                    None,
                    _("At most %(most)s dealers at a time by ticking them; move by filter instead.")
                    % {"most": MOST_SELECTED},
                )
        return cleaned

    def target_id(self) -> int | None:
        """The chosen collector's id, None for nobody."""
        value = self.cleaned_data["collector"]
        return None if value == UNASSIGNED else int(value)


# The collection policy -----------------------------------------------------------------


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%H:%M")


POLICY_LABELS: dict[str, LazyText] = {
    "grace_days": _("Grace days"),
    "reminder_level1_days": _("First reminder, days past due"),
    "reminder_level2_days": _("Second reminder, days past due"),
    "final_demand_days": _("Final demand, days past due"),
    "letter_spacing_days": _("Days between two letters"),
    "reconciliation_reply_days": _("Days to answer a reconciliation letter"),
    "notice_deadline_days": _("Deadline of the interest notice, days"),
    "soft_after_days": _("Soft collection from, days past due"),
    "hard_proposal_days": _("Hard collection proposed from, days past due"),
    "broken_promises_for_hard": _("Broken promises that propose hard collection"),
    "broken_promise_window_days": _("Counting broken promises over, days"),
    "interest_rate_percent": _("Interest rate, percent a year"),
    "interest_posting_days": _("Interest posted at most every, days"),
    "limitation_years": _("Limitation period, years"),
    "limitation_warning_days": _("Warn before the limitation ends, days"),
    "calls_per_day": _("Calls a day, at most"),
    "calls_per_week": _("Calls a week, at most"),
    "quiet_until": _("No calls before"),
    "quiet_from": _("No calls from"),
    "no_calls_on_sundays": _("No calls on Sundays"),
    "no_calls_on_holidays": _("No calls on public holidays"),
    "suggested_from": _("Suggested calls from"),
    "suggested_to": _("Suggested calls until"),
    "lunch_from": _("Lunch from"),
    "lunch_to": _("Lunch until"),
    "quasi_bad_after_days": _("Quasi-bad after, days past due"),
    "bad_after_days": _("Bad after, days past due"),
    "dead_after_days": _("Dead after, days past due"),
    "allowance_uncollected_percent": _("Uncollected (nothing past due), percent"),
    "allowance_in_collection_percent": _("In collection, percent"),
    "allowance_quasi_bad_percent": _("Quasi-bad, percent"),
    "allowance_bad_percent": _("Bad, percent"),
    "allowance_dead_percent": _("Dead, percent"),
    "credit_override_max_days": _("Longest credit-hold override, days"),
}

POLICY_HELP: dict[str, LazyText] = {
    "grace_days": _("Days past due before an account enters the reminder stage."),
    "reminder_level1_days": _("Age of the oldest overdue order that calls for the first reminder."),
    "reminder_level2_days": _("Must be more than the first reminder's days."),
    "final_demand_days": _(
        "The final demand carries the written interest notice; more days than the second reminder."
    ),
    "letter_spacing_days": _("Letters go up one level at a time, at least this many days apart."),
    "reconciliation_reply_days": _(
        "After this, an unanswered balance counts as confirmed (printed on the letter)."
    ),
    "notice_deadline_days": _("Interest runs only after the notice's deadline."),
    "soft_after_days": _("A reminder account moves to soft collection at this age."),
    "hard_proposal_days": _(
        "The daily sweep proposes hard collection to a manager; more days than soft."
    ),
    "broken_promises_for_hard": _("This many broken promises in the window propose hard."),
    "broken_promise_window_days": _("The window in which broken promises are counted."),
    "interest_rate_percent": _("Simple interest, from 0 to 100 percent a year."),
    "interest_posting_days": _("Interest is posted as a ledger line at most this often."),
    "limitation_years": _("Counted from the debt's last acknowledgment."),
    "limitation_warning_days": _("The managers are alerted this many days before the period ends."),
    "calls_per_day": _("Per dealer."),
    "calls_per_week": _("Per dealer; at least the calls a day."),
    "quiet_until": _("Dealer's local time."),
    "quiet_from": _("Dealer's local time; later than the first call."),
    "no_calls_on_holidays": _("The dealer's country's holidays."),
    "suggested_from": _("Collectors are offered this window (about mid-afternoon)."),
    "suggested_to": _("Within the calling hours."),
    "lunch_from": _("Never suggested during lunch."),
    "quasi_bad_after_days": _("By the age of the oldest overdue order."),
    "bad_after_days": _("More days than quasi-bad."),
    "dead_after_days": _("More days than bad."),
    "allowance_uncollected_percent": _("Share of the open amount expected to be lost, 0 to 100."),
    "allowance_in_collection_percent": _("0 to 100."),
    "allowance_quasi_bad_percent": _("0 to 100."),
    "allowance_bad_percent": _("0 to 100."),
    "allowance_dead_percent": _("0 to 100."),
    "credit_override_max_days": _(
        "A manager's override of a credit hold ends at most this many days ahead."
    ),
}


@dataclass(frozen=True)
class Fieldset:
    legend: LazyText
    description: LazyText
    names: tuple[str, ...]


POLICY_FIELDSETS = [
    Fieldset(
        _("Stages and letters"),
        _("When an overdue account is reminded, moved to soft collection and written to."),
        (
            "grace_days",
            "reminder_level1_days",
            "reminder_level2_days",
            "final_demand_days",
            "letter_spacing_days",
            "soft_after_days",
            "hard_proposal_days",
            "reconciliation_reply_days",
        ),
    ),
    Fieldset(
        _("Promises"),
        _("Broken promises bring hard collection closer."),
        ("broken_promises_for_hard", "broken_promise_window_days"),
    ),
    Fieldset(
        _("Interest"),
        _("Interest on arrears, only after a written notice with a deadline."),
        ("interest_rate_percent", "notice_deadline_days", "interest_posting_days"),
    ),
    Fieldset(
        _("Limitation"),
        _("Debts older than the limitation period are lost: go to law before."),
        ("limitation_years", "limitation_warning_days"),
    ),
    Fieldset(
        _("Calling hours"),
        _("When collectors may call a dealer, and when they are told to."),
        (
            "calls_per_day",
            "calls_per_week",
            "quiet_until",
            "quiet_from",
            "suggested_from",
            "suggested_to",
            "lunch_from",
            "lunch_to",
            "no_calls_on_sundays",
            "no_calls_on_holidays",
        ),
    ),
    Fieldset(
        _("Risk classes"),
        _("A debt's class by the age of its oldest overdue order."),
        ("quasi_bad_after_days", "bad_after_days", "dead_after_days"),
    ),
    Fieldset(
        _("Bad-debt allowance"),
        _("The share of each risk class's open amount expected to be lost."),
        (
            "allowance_uncollected_percent",
            "allowance_in_collection_percent",
            "allowance_quasi_bad_percent",
            "allowance_bad_percent",
            "allowance_dead_percent",
        ),
    ),
    Fieldset(
        _("Credit overrides"),
        _("How long a manager may let a dealer on credit hold buy on credit."),
        ("credit_override_max_days",),
    ),
]


class PolicyForm(forms.ModelForm):
    """Every field of the policy, and why it changes. The values are checked against
    each other by `update_policy`, not here."""

    reason = _reason_field()

    class Meta:
        model = CollectionPolicy
        fields = POLICY_FIELDS
        labels = POLICY_LABELS
        help_texts = POLICY_HELP
        widgets = {
            name: TimeInput()
            for name in POLICY_FIELDS
            if isinstance(CollectionPolicy._meta.get_field(name), models.TimeField)
        }

    def fieldsets(self) -> Iterator[tuple[Fieldset, list[forms.BoundField]]]:
        for fieldset in POLICY_FIELDSETS:
            yield fieldset, [self[name] for name in fieldset.names]

    def changes(self) -> dict[str, Any]:
        return {name: self.cleaned_data[name] for name in POLICY_FIELDS}


# The excuse library --------------------------------------------------------------------


class ExcuseForm(forms.Form):
    """An excuse's words and place; `active` and `reason` only when editing."""

    text = forms.CharField(
        label=_("Excuse"),
        max_length=TEXT_MAX,
        help_text=_("As collectors hear it, e.g. “Next month”."),
    )
    counter_script = forms.CharField(
        label=_("Counter script"),
        max_length=SCRIPT_MAX,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("The firm, standard answer."),
    )
    ask = forms.CharField(
        label=_("The ask"),
        max_length=SCRIPT_MAX,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text=_("Concrete: a date, an amount, a channel."),
    )
    position = forms.IntegerField(
        label=pgettext_lazy("place in a list", "Position"),
        min_value=0,
        max_value=10_000,
        initial=0,
        help_text=_("Lower first in the collectors' list."),
    )
    active = forms.BooleanField(
        label=_("Offered to collectors"),
        required=False,
        help_text=_("An inactive excuse stays in the contact logs that name it."),
    )
    reason = _reason_field()

    def __init__(self, *args: Any, editing: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not editing:
            del self.fields["active"]
            del self.fields["reason"]

    def clean_text(self) -> str:
        return _plain(self.cleaned_data["text"].strip())

    def values(self) -> dict[str, Any]:
        return {
            name: self.cleaned_data[name]
            for name in ("text", "counter_script", "ask", "position", "active")
            if name in self.fields
        }


class ActiveForm(forms.Form):
    """Offer an excuse to collectors again, or stop offering it."""

    active = forms.TypedChoiceField(
        choices=[("1", _("Active")), ("0", _("Inactive"))], coerce=lambda v: v == "1"
    )


# Credit overrides ----------------------------------------------------------------------


class EndOverrideForm(forms.Form):
    reason = forms.CharField(
        label=_("Why end it now"),
        max_length=REASON_MAX,
        error_messages={"required": _("Say why the override ends early.")},
    )

    def clean_reason(self) -> str:
        return _plain(self.cleaned_data["reason"].strip())
