"""Forms of the print room (`dunning.views.printroom`). Like `dunning.forms`, they check
the shape of the input only: a date, a choice, an address, a balance as typed. Whether a
letter may be posted, sent, receipted or answered is the services' call
(`dunning.services.letters`, `dunning.services.reconciliation`); their
`InvalidInput(field, message)` lands on the field of the same name."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from dunning.forms import DateInput
from dunning.models import Letter
from dunning.services.errors import InvalidInput
from dunning.services.reconciliation import SCAN_MAX_BYTES, parse_balance

TRACKING_MAX = 60  # Letter.tracking_number's length


def _plain(value: str) -> str:
    """Text typed into one line: no control characters."""
    if any(ord(ch) < 32 or ord(ch) == 127 for ch in value):
        raise forms.ValidationError(_("Use letters, digits and spaces only."))
    return value


class DayFilterForm(forms.Form):
    """Which day's letters, and which of them. Every field may be left out."""

    day = forms.DateField(label=_("Letters of"), required=False, widget=DateInput())
    kind = forms.ChoiceField(
        label=_("Kind"), required=False, choices=[("", _("Every kind")), *Letter.Kind.choices]
    )
    status = forms.ChoiceField(
        label=_("Status"), required=False, choices=[("", _("Every status")), *Letter.Status.choices]
    )


class MarkPostedForm(forms.Form):
    """The ticked letters (`letter`, repeated) went into the post on `posted_on`, each
    with the tracked-mail number typed on its row (`tracking-<id>`)."""

    posted_on = forms.DateField(label=_("Posting date"), widget=DateInput())
    letter = forms.TypedMultipleChoiceField(
        label=_("Letters"),
        coerce=int,
        error_messages={"required": _("Tick the letters that went into the post.")},
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        raw = self.data.getlist("letter") if hasattr(self.data, "getlist") else []
        ids = list(dict.fromkeys(int(v) for v in raw if v.isdigit() and len(v) <= 12))
        letter = self.fields["letter"]
        assert isinstance(letter, forms.ChoiceField)
        letter.choices = [(i, str(i)) for i in ids]
        for i in ids:
            self.fields[self.tracking_name(i)] = forms.CharField(
                label=_("Tracking number of letter #%(id)s") % {"id": i},
                required=False,
                max_length=TRACKING_MAX,
            )

    @staticmethod
    def tracking_name(letter_id: int) -> str:
        return f"tracking-{letter_id}"

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        for name in list(cleaned):
            if name.startswith("tracking-") and cleaned[name]:
                try:
                    _plain(cleaned[name])
                except forms.ValidationError as error:
                    self.add_error(name, error)
        return cleaned

    def selected(self) -> list[tuple[int, str]]:
        """(letter id, tracking number) of the ticked letters, in the order ticked."""
        return [
            (i, self.cleaned_data.get(self.tracking_name(i), ""))
            for i in self.cleaned_data["letter"]
        ]

    def row_errors(self) -> dict[int, list[str]]:
        """The errors of each row's tracking number, by letter id."""
        return {
            int(name.removeprefix("tracking-")): [str(error) for error in errors]
            for name, errors in self.errors.items()
            if name.startswith("tracking-")
        }


class PostingForm(forms.Form):
    """One letter went into the post (the letter's own page)."""

    posted_on = forms.DateField(label=_("Posting date"), widget=DateInput())
    tracking_number = forms.CharField(
        label=_("Tracked-mail number"), required=False, max_length=TRACKING_MAX
    )

    def clean_tracking_number(self) -> str:
        return _plain(self.cleaned_data["tracking_number"])


class ReceiptForm(forms.Form):
    received_on = forms.DateField(label=_("Receipt signed on"), widget=DateInput())


class EmailForm(forms.Form):
    to = forms.EmailField(label=_("E-mail address"), max_length=254)


class ReplyForm(forms.Form):
    """The dealer's answer to a reconciliation letter, as finance types it in."""

    answer = forms.ChoiceField(
        label=_("Answer"), choices=Letter.Reply.choices, widget=forms.RadioSelect
    )
    replied_on = forms.DateField(label=_("Reply dated"), widget=DateInput())
    disputed_balance = forms.CharField(
        label=_("Balance the dealer states"),
        required=False,
        max_length=30,
        help_text=_("Only for a disputed reply, like 1234.50."),
    )
    note = forms.CharField(
        label=_("Note"), required=False, max_length=2000, widget=forms.Textarea(attrs={"rows": 2})
    )
    scan = forms.FileField(
        label=_("Scan of the signed reply slip"),
        required=False,
        help_text=_("PDF, PNG or JPEG, at most 10 MB."),
    )

    def clean_disputed_balance(self) -> Decimal | None:
        try:
            return parse_balance(self.cleaned_data["disputed_balance"])
        except InvalidInput as error:
            raise forms.ValidationError(error.message) from None

    def clean_scan(self) -> Any:
        scan = self.cleaned_data.get("scan")
        if scan is not None and scan.size > SCAN_MAX_BYTES:
            raise forms.ValidationError(_("The scan is larger than 10 MB."))
        return scan


class ReconciliationForm(forms.Form):
    """A new reconciliation letter: whose statement, as of which day."""

    dealer = forms.CharField(label=_("Dealer code"), max_length=40)
    as_of = forms.DateField(label=_("Statement as of"), widget=DateInput())

    def clean_dealer(self) -> str:
        return _plain(self.cleaned_data["dealer"].strip())
