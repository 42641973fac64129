"""Forms of the collection pages. They check the shape of the input only (a number, a
date, a choice from the list); every rule of the collection practice lives in
`dunning.services`, whose `InvalidInput(field, message)` the views put back on the field
it names. Field names are the services' keyword names for that reason."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from dunning.models import (
    ESCALATED_STAGES,
    CollectionAccount,
    ContactLog,
    DealerEvent,
    Excuse,
)
from receivables.models import Agency, Contact, DealerQuerySet
from receivables.validation import CENT, MAX_MONEY

MAX_EVIDENCE_BYTES = 20 * 1024 * 1024


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%d")


class DateTimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs, format="%Y-%m-%dT%H:%M")


def _money(label: Any) -> forms.DecimalField:
    # The bounds of `receivables.validation`, which the services check again.
    return forms.DecimalField(
        label=label, max_digits=14, decimal_places=2, min_value=CENT, max_value=MAX_MONEY
    )


def _text(rows: int = 2) -> forms.Textarea:
    return forms.Textarea(attrs={"rows": rows})


class WorklistFilterForm(forms.Form):
    """Managers (and others who see more than one portfolio) pick a collector."""

    collector = forms.TypedChoiceField(
        required=False, coerce=int, empty_value=None, label=_("Collector")
    )

    def __init__(self, *args: Any, dealers: DealerQuerySet, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        users = (
            get_user_model()
            .objects.filter(pk__in=dealers.exclude(collector=None).values("collector"))
            .order_by("username")
        )
        field = self.fields["collector"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("All collectors"))] + [
            (u.pk, u.get_full_name() or u.get_username()) for u in users
        ]


class PromiseForm(forms.Form):
    amount = _money(_("Amount"))
    due_on = forms.DateField(
        label=_("Pay by"),
        widget=DateInput(),
        help_text=_("A weekend or public holiday moves to the next business day."),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=_text())


class InstallmentForm(forms.Form):
    amount = _money(_("Amount"))
    due_on = forms.DateField(label=_("Pay by"), widget=DateInput())


class BaseInstallmentFormSet(forms.BaseFormSet):
    def clean(self) -> None:
        super().clean()
        if any(self.errors):
            return
        if len(self.filled_forms()) < 2:
            raise forms.ValidationError(_("A plan has at least two installments."))

    def filled_forms(self) -> list[forms.Form]:
        return [f for f in self.forms if f.has_changed()]

    def installments(self) -> list[tuple[Decimal, dt.date]]:
        """(amount, date) of the filled rows, in the order of `filled_forms()`."""
        return [(f.cleaned_data["amount"], f.cleaned_data["due_on"]) for f in self.filled_forms()]


InstallmentFormSet = forms.formset_factory(
    InstallmentForm, formset=BaseInstallmentFormSet, extra=4, max_num=24, validate_max=True
)


class PlanNoteForm(forms.Form):
    note = forms.CharField(label=_("Note"), required=False, max_length=1000, widget=_text())


class ContactForm(forms.Form):
    channel = forms.ChoiceField(label=_("Channel"), choices=ContactLog.Channel.choices)
    person = forms.ModelChoiceField(
        label=_("Person"), queryset=Contact.objects.none(), required=False, empty_label=_("—")
    )
    at = forms.DateTimeField(label=_("When"), widget=DateTimeInput())
    outcome = forms.ChoiceField(label=_("Outcome"), choices=ContactLog.Outcome.choices)
    excuse = forms.ModelChoiceField(
        label=_("Excuse heard"),
        queryset=Excuse.objects.filter(active=True),
        required=False,
        empty_label=_("None"),
    )
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=_text())

    def __init__(self, *args: Any, contacts: QuerySet[Contact], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        person = self.fields["person"]
        assert isinstance(person, forms.ModelChoiceField)
        person.queryset = contacts
        self.fields["at"].help_text = _("Your time (%(zone)s).") % {
            "zone": settings.BUSINESS_TIME_ZONE
        }


class EscalationRequestForm(forms.Form):
    to_stage = forms.ChoiceField(
        label=_("Escalate to"), choices=[(s.value, s.label) for s in ESCALATED_STAGES]
    )
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=_text(3))
    agency = forms.ModelChoiceField(
        label=_("Agency (for a placement)"),
        queryset=Agency.objects.order_by("name"),
        required=False,
        empty_label=_("—"),
    )
    evidence_file = forms.FileField(label=_("Evidence file"), required=False)
    evidence_description = forms.CharField(
        label=_("Evidence description"), required=False, max_length=300
    )

    def clean_evidence_file(self) -> Any:
        return _checked_size(self.cleaned_data.get("evidence_file"))


class DealerEventForm(forms.Form):
    kind = forms.ChoiceField(label=_("What happened"), choices=DealerEvent.Kind.choices)
    occurred_on = forms.DateField(label=_("On"), widget=DateInput())
    note = forms.CharField(label=_("Note"), required=False, max_length=2000, widget=_text())


class EvidenceForm(forms.Form):
    file = forms.FileField(label=_("File"))
    description = forms.CharField(label=_("Description"), required=False, max_length=300)

    def clean_file(self) -> Any:
        return _checked_size(self.cleaned_data.get("file"))


class AssessmentForm(forms.Form):
    default_cause = forms.ChoiceField(
        label=_("Why not paying"), choices=CollectionAccount.Cause.choices, required=False
    )
    disposition = forms.ChoiceField(
        label=_("Able / willing"), choices=CollectionAccount.Disposition.choices, required=False
    )


class CreditOverrideForm(forms.Form):
    until = forms.DateField(label=_("Lift the hold until"), widget=DateInput())
    reason = forms.CharField(label=_("Reason"), max_length=2000, widget=_text())


class TaskDoneForm(forms.Form):
    outcome = forms.CharField(label=_("Outcome"), max_length=2000, widget=_text())


def _checked_size(upload: Any) -> Any:
    if upload is not None and upload.size > MAX_EVIDENCE_BYTES:
        raise forms.ValidationError(_("The file is larger than 20 MB."))
    return upload
