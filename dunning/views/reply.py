"""The reply page (docs/API.md "Letters"): the address printed on every reconciliation
letter, where the dealer confirms or disputes the statement without logging in.

The token is the only key: it shows that one statement and nothing else of the dealer's,
takes one reply, and expires `Letter.REPLY_TOKEN_DAYS` after the letter's date. The reply
goes through the same service as one entered by finance
(`dunning.services.reconciliation.record_reply`), with the time and the address it came
from.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect

from dunning import services
from dunning.models import Letter
from dunning.services.reconciliation import (
    ReplyClosed,
    letter_for_reply,
    parse_balance,
    record_reply,
)
from dunning.templatetags.letter_format import babel_locale
from dunning.views.common import put_error_on_form


class ReplyForm(forms.Form):
    answer = forms.ChoiceField(
        label=_("Your answer"),
        choices=[
            (Letter.Reply.CONFIRMED, _("I confirm the balance")),
            (Letter.Reply.DISPUTED, _("I dispute the balance")),
        ],
        widget=forms.RadioSelect,
    )
    disputed_balance = forms.CharField(
        label=_("The balance I believe is right"),
        required=False,
        max_length=20,
        help_text=_("Only when you dispute the balance, e.g. 1234.50"),
    )
    note = forms.CharField(
        label=_("Note (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
    )

    def __init__(self, *args: Any, locale: str = "en", **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.locale = locale  # how the dealer writes amounts

    def clean(self) -> dict:
        cleaned = super().clean() or {}
        answer = cleaned.get("answer")
        try:
            balance = parse_balance(cleaned.get("disputed_balance"), locale=self.locale)
        except services.InvalidInput as error:
            self.add_error("disputed_balance", error.message)
            return cleaned
        if answer == Letter.Reply.DISPUTED and balance is None:
            self.add_error("disputed_balance", _("Give the balance you believe is right."))
        if answer == Letter.Reply.CONFIRMED:
            balance = None
        cleaned["disputed_balance"] = balance
        return cleaned


@never_cache
@csrf_protect
def reply(request: HttpRequest, token: str) -> HttpResponse:
    """Show the statement and take the dealer's one reply."""
    from dunning.printing import letter_language, statement_context

    today = services.business_today()
    letter, closed = letter_for_reply(token, today)
    language = letter_language(letter.language if letter else "")
    with translation.override(language):
        if letter is None or closed:
            status = {"unknown": 404, "expired": 410, "answered": 409}[closed]
            # An unknown or expired address shows nothing of any dealer.
            context: dict[str, Any] = {"closed": closed, "language": language}
            if closed == "answered":
                context["letter"] = letter
            return _page(request, context, status=status)
        form = ReplyForm(request.POST or None, locale=babel_locale(language))
        if request.method == "POST" and form.is_valid():
            try:
                record_reply(
                    letter_id=letter.pk,
                    answer=form.cleaned_data["answer"],
                    replied_on=today,
                    disputed_balance=form.cleaned_data["disputed_balance"],
                    note=form.cleaned_data["note"],
                    by=None,
                    channel=Letter.ReplyChannel.REPLY_PAGE,
                    address=request.META.get("REMOTE_ADDR") or None,
                    today=today,
                    now=timezone.now(),
                )
            except ReplyClosed:
                return _page(
                    request, {"closed": "answered", "letter": letter, "language": language}, 409
                )
            except services.InvalidInput as error:
                put_error_on_form(form, error)
            else:
                letter.refresh_from_db()
                return _page(request, {"done": True, "letter": letter, "language": language})
        context = {
            **statement_context(letter),
            "letter": letter,
            "dealer": letter.dealer,
            "form": form,
            "language": language,
        }
        return _page(request, context, status=400 if request.method == "POST" else 200)


def _page(request: HttpRequest, context: dict, status: int = 200) -> HttpResponse:
    from django.conf import settings

    context.setdefault("company_name", settings.COMPANY_NAME)
    context.setdefault("company_phone", settings.COMPANY_PHONE)
    context.setdefault("company_email", settings.COMPANY_EMAIL)
    response = render(request, "dunning/reply.html", context, status=status)
    # The address is the key: never leak it to another site ("no-referrer" would also
    # make the browser send "Origin: null" with the form, which CSRF rightly refuses).
    response["Referrer-Policy"] = "same-origin"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response
