"""Forms of the finance desk: the import's upload, a payment entered by hand, and the
filters of the payment list.

They parse and word refusals; the rules they ask are elsewhere: amounts and dates in
`receivables.validation`, the allocation in `receivables.services`, who may see which
dealer in `DealerQuerySet.visible_to`.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path
from typing import Any

from django import forms
from django.core.files.uploadedfile import UploadedFile
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from receivables.importing.jobs import KINDS
from receivables.models import Dealer, DealerQuerySet, Payment
from receivables.payment_preview import PaymentEntry
from receivables.validation import money_problem, received_on_problem, text_problem

IMPORT_SUFFIXES = (".csv", ".xlsx")
FILE_LABELS = {
    "dealers": _("Dealers"),
    "orders": _("Orders"),
    "payments": _("Payments"),
    "rates": _("Exchange rates"),
}
FILE_HELP = {
    "dealers": _("Columns code, name, country, currency; optional address, credit_limit, …"),
    "orders": _("Columns number, dealer, ordered_on, due_on, amount; optional disputed, …"),
    "payments": _("Columns reference, dealer, received_on, amount; optional order, method"),
    "rates": _("Columns currency, on, rate"),
}
DATE_WIDGET = forms.DateInput(attrs={"type": "date"}, format="%Y-%m-%d")


class ImportUploadForm(forms.Form):
    """Any of the four files, CSV or XLSX; at least one."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for kind in KINDS:
            self.fields[kind] = forms.FileField(
                label=FILE_LABELS[kind],
                required=False,
                help_text=FILE_HELP[kind],
                widget=forms.ClearableFileInput(attrs={"accept": ",".join(IMPORT_SUFFIXES)}),
            )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for kind in KINDS:
            upload = cleaned.get(kind)
            if upload and Path(upload.name or "").suffix.lower() not in IMPORT_SUFFIXES:
                self.add_error(
                    kind,
                    gettext("“%(name)s” is neither a CSV nor an XLSX file.")
                    % {"name": upload.name},
                )
        if not self.errors and not any(cleaned.get(kind) for kind in KINDS):
            raise forms.ValidationError(gettext("Choose at least one file to import."))
        return cleaned

    def files_by_kind(self) -> dict[str, UploadedFile]:
        return {kind: upload for kind in KINDS if (upload := self.cleaned_data.get(kind))}


class IsoDateField(forms.DateField):
    """A YYYY-MM-DD date whose error repeats what was typed: a date input shows nothing
    for a value it cannot parse, so the message is the only place the user sees it."""

    input_formats = ["%Y-%m-%d"]

    def to_python(self, value: Any) -> dt.date | None:
        try:
            day = super().to_python(value)
        except forms.ValidationError:
            raise forms.ValidationError(
                _("“%(value)s” is not a date: use YYYY-MM-DD."),
                code="invalid",
                params={"value": value},
            ) from None
        if day is not None and day.year < 1900:
            raise forms.ValidationError(_("Enter a date after 1900."), code="invalid")
        return day


class PaymentForm(forms.Form):
    """A payment as finance types it from the bank statement or the cash book."""

    dealer = forms.CharField(label=_("Dealer code"), max_length=40)
    reference = forms.CharField(
        label=_("Reference"),
        max_length=60,
        help_text=_("As on the bank statement or receipt; each reference is recorded once."),
    )
    received_on = IsoDateField(label=_("Received on"), widget=DATE_WIDGET)
    amount = forms.DecimalField(
        label=_("Amount"),
        widget=forms.TextInput(attrs={"inputmode": "decimal", "autocomplete": "off"}),
        error_messages={"invalid": _("Enter an amount such as 1250.00.")},
    )
    order = forms.CharField(
        label=_("Order paid (optional)"),
        max_length=40,
        required=False,
        help_text=_("The order number the dealer named; it is paid first."),
    )
    method = forms.ChoiceField(label=_("Method"), choices=Payment.Method.choices)

    def __init__(self, *args: Any, dealers: DealerQuerySet, today: dt.date, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.dealers = dealers
        self.today = today
        self.found_dealer: Dealer | None = None
        self.fields["dealer"].widget.attrs.update({"autocomplete": "off", "spellcheck": "false"})
        self.fields["received_on"].widget.attrs["max"] = today.isoformat()

    def clean_dealer(self) -> str:
        code: str = self.cleaned_data["dealer"].strip()
        # A dealer out of the user's sight is "no dealer", as on every page.
        self.found_dealer = self.dealers.filter(code=code).first()
        if self.found_dealer is None:
            raise forms.ValidationError(
                gettext("There is no dealer with the code “%(code)s”.") % {"code": code}
            )
        return code

    def clean_reference(self) -> str:
        reference: str = self.cleaned_data["reference"].strip()
        if text_problem(reference):
            raise forms.ValidationError(gettext("The reference contains characters not allowed."))
        if Payment.objects.filter(reference=reference).exists():
            raise forms.ValidationError(
                gettext(
                    "A payment with the reference “%(reference)s” is recorded already; "
                    "a reference is recorded once."
                )
                % {"reference": reference}
            )
        return reference

    def clean_received_on(self) -> dt.date:
        day: dt.date = self.cleaned_data["received_on"]
        if received_on_problem(day, today=self.today):
            raise forms.ValidationError(
                gettext(
                    "A payment cannot be dated after today (%(today)s): record it on the day "
                    "the money arrives."
                )
                % {"today": self.today.isoformat()}
            )
        return day

    def clean_amount(self) -> Decimal:
        amount: Decimal = self.cleaned_data["amount"]
        if problem := money_problem(amount):
            raise forms.ValidationError(gettext("The amount %(problem)s.") % {"problem": problem})
        return amount

    def clean_order(self) -> str | None:
        number: str = self.cleaned_data["order"].strip()
        return number or None

    def entry(self) -> PaymentEntry:
        """The valid input, for the preview and for saving."""
        assert self.found_dealer is not None
        data = self.cleaned_data
        return PaymentEntry(
            reference=data["reference"],
            dealer=self.found_dealer,
            received_on=data["received_on"],
            amount=data["amount"],
            method=data["method"],
            order=data["order"],
        )


class PaymentFilterForm(forms.Form):
    """The payment list's filters: a dealer, and a span of receipt dates."""

    dealer = forms.CharField(label=_("Dealer code"), max_length=40, required=False)
    received_from = IsoDateField(label=_("Received from"), required=False, widget=DATE_WIDGET)
    received_to = IsoDateField(label=_("Received until"), required=False, widget=DATE_WIDGET)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        start, end = cleaned.get("received_from"), cleaned.get("received_to")
        if start and end and start > end:
            self.add_error("received_to", gettext("The end of the span is before its start."))
        return cleaned
