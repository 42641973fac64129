"""Forms of the agency pages. Like `dunning.forms`, they check the shape of the input
only; the rules are the services' (`log_contact`, `make_promise`, `record_recovery`),
whose `InvalidInput(field, message)` the views put back on the field it names. The
labels are translated, and the contact form leaves out what is internal (the excuse
library and its counter-scripts)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from dunning.agency import DEFAULT_SORT
from dunning.forms import DateInput, DateTimeInput
from dunning.models import ContactLog
from dunning.services.agency import REFERENCE_MAX_LENGTH
from receivables.models import Contact
from receivables.validation import CENT, MAX_MONEY

SORT_CHOICES = [
    ("overdue", _("Most overdue first")),
    ("oldest", _("Oldest overdue first")),
    ("name", _("Name")),
]


def _money(label: Any) -> forms.DecimalField:
    return forms.DecimalField(
        label=label, max_digits=14, decimal_places=2, min_value=CENT, max_value=MAX_MONEY
    )


class AgencyWorklistForm(forms.Form):
    q = forms.CharField(label=_("Search"), required=False, max_length=100)
    sort = forms.ChoiceField(label=_("Sort"), choices=SORT_CHOICES, required=False)

    def search_and_sort(self) -> tuple[str, str]:
        """What to search for and how to sort: the defaults when the input is bad."""
        if not self.is_valid():
            return "", DEFAULT_SORT
        return self.cleaned_data["q"], self.cleaned_data["sort"] or DEFAULT_SORT


class AgencyContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactLog.Channel.choices)
    person = forms.ModelChoiceField(
        label=_("Person"), queryset=Contact.objects.none(), required=False, empty_label="—"
    )
    at = forms.DateTimeField(label=_("When"), widget=DateTimeInput())
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactLog.Outcome.choices)
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 2}),
    )

    def __init__(self, *args: Any, contacts: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        person = self.fields["person"]
        assert isinstance(person, forms.ModelChoiceField)
        person.queryset = contacts
        self.fields["at"].help_text = _("Your time (%(zone)s).") % {
            "zone": settings.BUSINESS_TIME_ZONE
        }
        # The channels and outcomes, in words (their labels are the model's).
        channel = self.fields["channel"]
        outcome = self.fields["outcome"]
        assert isinstance(channel, forms.ChoiceField) and isinstance(outcome, forms.ChoiceField)
        channel.choices = ContactLog.Channel.choices
        outcome.choices = ContactLog.Outcome.choices


class AgencyPromiseForm(forms.Form):
    amount = _money(_("Amount"))
    due_on = forms.DateField(
        label=_("Pay by"),
        widget=DateInput(),
        help_text=_("A weekend or public holiday moves to the next business day."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=1000, widget=forms.Textarea(attrs={"rows": 2})
    )


class RecoveryForm(forms.Form):
    reference = forms.CharField(
        label=_("Reference"),
        max_length=REFERENCE_MAX_LENGTH,
        help_text=_("Your reference of the transfer; each is recorded once."),
    )
    received_on = forms.DateField(label=_("Received on"), widget=DateInput())
    amount = _money(_("Amount"))


__all__ = ["AgencyContactForm", "AgencyPromiseForm", "AgencyWorklistForm", "RecoveryForm"]
