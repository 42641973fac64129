"""The print room, finance's pages for letters: the day's letters in postal order (the
print run, posting with tracked-mail numbers, return receipts, e-mail), one letter with
its PDF and, for a reconciliation letter, the dealer's reply, and the reconciliation
letters with the form that issues a new one.

Every page starts from `Letter.objects.visible_to(user)`, so a letter of a dealer out of
sight is a 404. Reading needs `dunning.view_letter`; the forms are shown to, and their
POSTs accepted from, users with `dunning.change_letter` (`dunning.add_letter` for a new
reconciliation letter): anyone else gets the 403 page. The changes go through
`dunning.services.letters` and `dunning.services.reconciliation`.

A form on a row of the day's list posts with `from=list` and the list's query string, so
that a refusal shows the list again with the error on that row (400), and a success
returns to the same day, filters and page.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django import forms
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db import transaction
from django.db.models import Count, Prefetch
from django.http import FileResponse, Http404, HttpResponse, HttpResponseRedirect
from django.http.response import HttpResponseBase
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.http import require_GET, require_POST

from dunning import services
from dunning.models import Letter
from dunning.models.letters import LetterQuerySet
from dunning.printroom_forms import (
    DayFilterForm,
    EmailForm,
    MarkPostedForm,
    PostingForm,
    ReceiptForm,
    ReconciliationForm,
    ReplyForm,
)
from dunning.services import letters as letter_services
from dunning.services import reconciliation
from dunning.views.common import AuthenticatedHttpRequest, forbidden, put_error_on_form
from receivables.models import Contact, Dealer
from receivables.templatetags.money import local_date

VIEW_LETTERS = "dunning.view_letter"
CHANGE_LETTERS = "dunning.change_letter"
ADD_LETTERS = "dunning.add_letter"
LETTERS_PER_PAGE = 50
RECONCILIATIONS_PER_PAGE = 50
MAY_NOT_SEE = gettext_lazy("Your role does not show letters.")
MAY_NOT_CHANGE = gettext_lazy(
    "Your role may read letters but not record their posting, e-mail or reply."
)

# Whose address to offer for an e-mailed letter: the one who pays the bills first.
EMAIL_ROLE_ORDER = [
    Contact.Role.CONTROLLER,
    Contact.Role.OWNER,
    Contact.Role.RESPONSIBLE,
    Contact.Role.OTHER,
]


def _page_context(page: Any) -> dict[str, Any]:
    return {"page": page, "page_range": list(page.paginator.get_elided_page_range(page.number))}


def _letters(request: AuthenticatedHttpRequest) -> LetterQuerySet:
    return Letter.objects.visible_to(request.user)


def _visible_letter(request: AuthenticatedHttpRequest, pk: int) -> Letter:
    return get_object_or_404(_letters(request).select_related("dealer"), pk=pk)


def letters_page(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Logged in, and allowed to see letters (else the 403 page)."""

    @login_required
    @functools.wraps(view)
    def wrapped(request: AuthenticatedHttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.has_perm(VIEW_LETTERS):
            return forbidden(request, str(MAY_NOT_SEE))
        return view(request, *args, **kwargs)

    return wrapped


def _suggested_address(dealer: Dealer) -> str:
    """The e-mail address to offer: the financial controller's, else the owner's, ...
    (reads `dealer.contacts.all()`, prefetched on lists)."""
    with_email = [c for c in dealer.contacts.all() if c.email]
    with_email.sort(key=lambda c: (EMAIL_ROLE_ORDER.index(Contact.Role(c.role)), c.name))
    return with_email[0].email if with_email else ""


def _contacts_prefetch() -> Prefetch:
    return Prefetch("dealer__contacts", queryset=Contact.objects.exclude(email=""))


# Today's letters


@dataclass
class Row:
    """One letter of the day's list, with what its inputs show and its errors."""

    letter: Letter
    checked: bool = False
    tracking: str = ""
    received_on: str = ""
    email_to: str = ""
    email_open: bool = False
    errors: list[str] = field(default_factory=list)

    @property
    def messages(self) -> list[str]:
        """The errors, each naming the letter (under its row, for a screen reader too)."""
        own = _("Letter #%(id)s") % {"id": self.letter.pk}
        return [e if e.startswith(own) else f"{own}: {e}" for e in self.errors]


@dataclass
class Bound:
    """What a failed POST brings back to the list: the posting form, the values typed on
    a row, and the errors by letter."""

    post_form: MarkPostedForm | None = None
    values: dict[int, dict[str, str]] = field(default_factory=dict)
    errors: dict[int, list[str]] = field(default_factory=dict)


def _day_filters(request: AuthenticatedHttpRequest) -> tuple[DayFilterForm, dt.date, str, str]:
    today = services.business_today()
    data = request.GET.copy()
    if not data.get("day"):
        data["day"] = f"{today:%Y-%m-%d}"
    form = DayFilterForm(data)
    if not form.is_valid():
        return form, today, "", ""
    cleaned = form.cleaned_data
    return form, cleaned["day"], cleaned["kind"], cleaned["status"]


def _render_today(
    request: AuthenticatedHttpRequest, *, bound: Bound | None = None, status: int = 200
) -> HttpResponse:
    bound = bound or Bound()
    today = services.business_today()
    filter_form, day, kind, letter_status = _day_filters(request)
    day_letters = _letters(request).filter(issued_on=day)
    if kind:
        day_letters = day_letters.filter(kind=kind)
    counted = {
        row["status"]: row["n"]
        for row in day_letters.order_by().values("status").annotate(n=Count("pk"))
    }
    counts = [(value, label, counted.get(value, 0)) for value, label in Letter.Status.choices]
    shown = day_letters.filter(status=letter_status) if letter_status else day_letters
    shown = shown.select_related("dealer").in_postal_order()
    can_change = request.user.has_perm(CHANGE_LETTERS)
    if can_change:  # the e-mail forms offer an address
        shown = shown.prefetch_related(_contacts_prefetch())
    page = Paginator(shown, LETTERS_PER_PAGE).get_page(request.GET.get("page"))

    post_form = bound.post_form
    ticked = set(request.POST.getlist("letter")) if post_form is not None else set()
    rows = []
    for letter in page.object_list:
        typed = bound.values.get(letter.pk, {})
        row = Row(
            letter=letter,
            checked=str(letter.pk) in ticked,
            tracking=(
                request.POST.get(MarkPostedForm.tracking_name(letter.pk), "")
                if post_form is not None
                else ""
            ),
            received_on=typed.get("received_on", f"{today:%Y-%m-%d}"),
            email_to=(
                typed["to"]
                if "to" in typed
                else _suggested_address(letter.dealer)
                if can_change and letter.status == Letter.Status.READY
                else ""
            ),
            email_open="to" in typed,
            errors=bound.errors.get(letter.pk, []),
        )
        rows.append(row)
    on_page = {row.letter.pk for row in rows}
    elsewhere = [
        _("Letter #%(id)s: %(error)s") % {"id": pk, "error": error}
        for pk, errors in bound.errors.items()
        if pk not in on_page
        for error in errors
    ]
    context = {
        **_page_context(page),
        "filter_form": filter_form,
        "day": day,
        "today": today,
        "kind": kind,
        "kind_label": Letter.Kind(kind).label if kind else "",
        "letter_status": letter_status,
        "counts": counts,
        "day_total": sum(counted.values()),
        "ready_count": counted.get(Letter.Status.READY, 0),
        "rows": rows,
        "selectable": any(row.letter.status == Letter.Status.READY for row in rows),
        "post_form": post_form or MarkPostedForm(initial={"posted_on": today}),
        "other_errors": elsewhere,
        "can_change": can_change,
        "query": request.GET.urlencode(),
        "tab": "today",
    }
    return render(request, "dunning/printroom/today.html", context, status=status)


def _today_url(request: AuthenticatedHttpRequest) -> str:
    query = request.GET.urlencode()
    return reverse("printroom_today") + (f"?{query}" if query else "")


@letters_page
@require_GET
def today(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render_today(request)


@letters_page
@require_GET
def print_run(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The day's ready letters (of one kind, when filtered) in one PDF, in postal order."""
    _form, day, kind, _status = _day_filters(request)
    letters = _letters(request)
    if kind:
        letters = letters.filter(kind=kind)
    pdf, count = letter_services.print_run_pdf(letters, issued_on=day)
    if not count:
        messages.warning(
            request,
            _("No letter of %(day)s is ready to print: there is no print run.")
            % {"day": local_date(day)},
        )
        return HttpResponseRedirect(_today_url(request))
    response = HttpResponse(pdf, content_type="application/pdf")
    name = f"print-run-{day:%Y-%m-%d}{f'-{kind}' if kind else ''}.pdf"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["X-Letters"] = str(count)
    return response


@letters_page
@require_POST
def mark_posted(request: AuthenticatedHttpRequest) -> HttpResponse:
    """The ticked letters went into the post: all of them, or none when one is refused
    (the errors are shown on their rows)."""
    if not request.user.has_perm(CHANGE_LETTERS):
        return forbidden(request, str(MAY_NOT_CHANGE), back=_today_url(request))
    form = MarkPostedForm(request.POST)
    errors: dict[int, list[str]] = {}
    if form.is_valid():
        chosen = form.selected()
        visible = set(
            _letters(request)
            .filter(pk__in=[pk for pk, _tracking in chosen])
            .values_list("pk", flat=True)
        )
        posted_on = form.cleaned_data["posted_on"]
        with transaction.atomic():
            for pk, tracking in chosen:
                if pk not in visible:
                    errors.setdefault(pk, []).append(_("There is no such letter."))
                    continue
                try:
                    letter_services.mark_posted(
                        letter_id=pk,
                        posted_on=posted_on,
                        tracking_number=tracking,
                        by=request.user,
                    )
                except services.InvalidInput as error:
                    errors.setdefault(pk, []).append(str(error.message))
                except services.WorkflowConflict as error:
                    errors.setdefault(pk, []).append(str(error))
            if errors:
                transaction.set_rollback(True)
        if not errors:
            messages.success(
                request,
                ngettext(
                    "%(count)s letter marked posted on %(day)s.",
                    "%(count)s letters marked posted on %(day)s.",
                    len(chosen),
                )
                % {"count": len(chosen), "day": local_date(posted_on)},
            )
            return HttpResponseRedirect(_today_url(request))
        form.add_error(
            None,
            _(
                "Nothing was marked posted: %(refused)s of the %(ticked)s ticked letters "
                "cannot be. The reasons are on their rows."
            )
            % {"refused": len(errors), "ticked": len(chosen)},
        )
    else:
        errors = form.row_errors()
    return _render_today(request, bound=Bound(post_form=form, errors=errors), status=400)


# One letter: its page, its files, and the forms on it (also posted from the list's rows)


def _render_letter(
    request: AuthenticatedHttpRequest,
    letter: Letter,
    *,
    bound: dict[str, forms.Form] | None = None,
    status: int = 200,
) -> HttpResponse:
    today = services.business_today()
    unbound: dict[str, forms.Form] = {
        "posting_form": PostingForm(initial={"posted_on": today}),
        "receipt_form": ReceiptForm(initial={"received_on": today}),
        "email_form": EmailForm(initial={"to": _suggested_address(letter.dealer)}),
        "reply_form": ReplyForm(initial={"replied_on": today}),
    }
    context = {
        "letter": letter,
        "dealer": letter.dealer,
        "today": today,
        "can_change": request.user.has_perm(CHANGE_LETTERS),
        **unbound,
        **(bound or {}),
    }
    return render(request, "dunning/printroom/letter.html", context, status=status)


@letters_page
@require_GET
def letter_detail(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
    return _render_letter(request, _visible_letter(request, pk))


@letters_page
@require_GET
def letter_pdf(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    """The stored PDF, the same bytes every time; 404 before it is rendered."""
    letter = _visible_letter(request, pk)
    if not letter.sha256 or not letter.pdf:
        raise Http404(f"Letter #{pk} has no PDF yet ({letter.get_status_display()}).")
    return FileResponse(
        letter.pdf.open("rb"),
        content_type="application/pdf",
        filename=f"{letter.kind.replace('_', '-')}-{letter.dealer.code}-{letter.issued_on}.pdf",
    )


SCAN_TYPES = [(b"%PDF", "application/pdf", "pdf"), (b"\x89PNG", "image/png", "png")]


@letters_page
@require_GET
def reply_scan(request: AuthenticatedHttpRequest, pk: int) -> FileResponse:
    """The scan of the reply slip, for those who may see the letter."""
    letter = _visible_letter(request, pk)
    if not letter.reply_scan:
        raise Http404(f"Letter #{pk} has no scan of a reply.")
    stored = letter.reply_scan.open("rb")
    head = stored.read(8)
    stored.seek(0)
    content_type, extension = "image/jpeg", "jpg"
    for magic, kind, ext in SCAN_TYPES:
        if head.startswith(magic):
            content_type, extension = kind, ext
    return FileResponse(
        stored,
        content_type=content_type,
        filename=f"reply-{letter.dealer.code}-{letter.pk}.{extension}",
    )


# The forms on a letter. Each returns what was done (the success message); a refusal is
# an exception: `InvalidInput` goes onto the form, a conflict becomes a message.
LetterAct = Callable[[AuthenticatedHttpRequest, Letter, Any], str]


def letter_action(
    form_name: str,
    form_class: type[forms.Form],
    *,
    needs: str = CHANGE_LETTERS,
    list_fields: tuple[str, ...] = (),
) -> Callable[[LetterAct], Callable[..., HttpResponseBase]]:
    """A POST on one letter: check the role and that the letter is in sight, bind the
    form, run the action, and answer with a redirect and a message, or the page again
    with the errors (400). `from=list` answers on the day's list (`list_fields` are the
    inputs that list keeps on the row)."""

    def decorate(act: LetterAct) -> Callable[..., HttpResponseBase]:
        @letters_page
        @require_POST
        @functools.wraps(act)
        def view(request: AuthenticatedHttpRequest, pk: int) -> HttpResponse:
            on_list = request.POST.get("from") == "list"
            back = _today_url(request) if on_list else reverse("printroom_letter", args=[pk])
            if not request.user.has_perm(needs):
                return forbidden(request, str(MAY_NOT_CHANGE), back=back)
            letter = _visible_letter(request, pk)
            form = form_class(request.POST, request.FILES)
            if form.is_valid():
                try:
                    done = act(request, letter, form)
                except services.InvalidInput as error:
                    put_error_on_form(form, error)
                except PermissionDenied as error:
                    return forbidden(request, str(error), back=back)
                except services.WorkflowConflict as error:
                    messages.error(request, str(error))
                    return HttpResponseRedirect(back)
                else:
                    messages.success(request, done)
                    return HttpResponseRedirect(back)
            if on_list:
                errors = [str(e) for e in form.non_field_errors()] + [
                    str(e) for name in form.fields for e in form.errors.get(name, [])
                ]
                values = {name: request.POST.get(name, "") for name in list_fields}
                return _render_today(
                    request,
                    bound=Bound(values={pk: values}, errors={pk: errors}),
                    status=400,
                )
            return _render_letter(request, letter, bound={form_name: form}, status=400)

        return view

    return decorate


def _who(letter: Letter) -> str:
    return _("%(kind)s #%(id)s to %(code)s") % {
        "kind": letter.get_kind_display(),
        "id": letter.pk,
        "code": letter.dealer.code,
    }


@letter_action("posting_form", PostingForm)
def post_letter(request: AuthenticatedHttpRequest, letter: Letter, form: PostingForm) -> str:
    data = form.cleaned_data
    letter_services.mark_posted(
        letter_id=letter.pk,
        posted_on=data["posted_on"],
        tracking_number=data["tracking_number"],
        by=request.user,
    )
    return _("%(letter)s marked posted on %(day)s.") % {
        "letter": _who(letter),
        "day": local_date(data["posted_on"]),
    }


@letter_action("receipt_form", ReceiptForm, list_fields=("received_on",))
def record_receipt(request: AuthenticatedHttpRequest, letter: Letter, form: ReceiptForm) -> str:
    received_on = form.cleaned_data["received_on"]
    letter_services.record_receipt(letter_id=letter.pk, received_on=received_on, by=request.user)
    return _("%(letter)s: return receipt of %(day)s recorded.") % {
        "letter": _who(letter),
        "day": local_date(received_on),
    }


@letter_action("email_form", EmailForm, list_fields=("to",))
def send_by_email(request: AuthenticatedHttpRequest, letter: Letter, form: EmailForm) -> str:
    sent = letter_services.send_by_email(
        letter_id=letter.pk,
        to=form.cleaned_data["to"],
        by=request.user,
        today=services.business_today(),
    )
    return _("%(letter)s sent by e-mail to %(to)s.") % {"letter": _who(letter), "to": sent.email_to}


@letter_action("reply_form", ReplyForm)
def record_reply(request: AuthenticatedHttpRequest, letter: Letter, form: ReplyForm) -> str:
    if letter.kind != Letter.Kind.RECONCILIATION:
        raise Http404(f"Letter #{letter.pk} is not a reconciliation letter.")
    data = form.cleaned_data
    answered = reconciliation.record_reply(
        letter_id=letter.pk,
        answer=data["answer"],
        replied_on=data["replied_on"],
        disputed_balance=data["disputed_balance"],
        note=data["note"],
        scan=data["scan"],
        by=request.user,
        channel=Letter.ReplyChannel.FINANCE,
        today=services.business_today(),
        now=timezone.now(),
    )
    return _("%(letter)s: reply recorded (%(answer)s).") % {
        "letter": _who(letter),
        "answer": answered.get_reply_display(),
    }


# Reconciliation letters

RECONCILIATION_STATES = {
    "awaiting": gettext_lazy("Awaiting a reply"),
    "late": gettext_lazy("Past the reply-by date"),
    "replied": gettext_lazy("Replied"),
}


def _render_reconciliation(
    request: AuthenticatedHttpRequest,
    *,
    form: ReconciliationForm | None = None,
    status: int = 200,
) -> HttpResponse:
    today = services.business_today()
    letters = _letters(request)
    by_state: dict[str, LetterQuerySet] = {
        "awaiting": letters.awaiting_reply(today),
        "late": letters.past_reply_by(today),
        "replied": letters.replied(),
    }
    state = request.GET.get("state", "")
    if state not in by_state:
        state = ""
    shown = by_state[state] if state else letters.reconciliation()
    shown = shown.select_related("dealer").order_by("-issued_on", "-pk")
    page = Paginator(shown, RECONCILIATIONS_PER_PAGE).get_page(request.GET.get("page"))
    counts = [(key, label, by_state[key].count()) for key, label in RECONCILIATION_STATES.items()]
    context = {
        **_page_context(page),
        "letters": page.object_list,
        "state": state,
        "counts": counts,
        "total": sum(n for _key, _label, n in counts),
        "today": today,
        "form": form or ReconciliationForm(initial={"as_of": today}),
        "can_add": request.user.has_perm(ADD_LETTERS),
        "tab": "reconciliation",
    }
    return render(request, "dunning/printroom/reconciliation.html", context, status=status)


@letters_page
@require_GET
def reconciliation_list(request: AuthenticatedHttpRequest) -> HttpResponse:
    return _render_reconciliation(request)


@letters_page
@require_POST
def new_reconciliation(request: AuthenticatedHttpRequest) -> HttpResponse:
    back = reverse("printroom_reconciliation")
    if not request.user.has_perm(ADD_LETTERS):
        return forbidden(request, _("Your role may read letters but not issue them."), back=back)
    form = ReconciliationForm(request.POST)
    if form.is_valid():
        code = form.cleaned_data["dealer"]
        dealer = Dealer.objects.visible_to(request.user).filter(code=code).first()
        if dealer is None:
            form.add_error(
                "dealer", _("There is no dealer with the code '%(code)s'.") % {"code": code}
            )
        else:
            try:
                letter = reconciliation.issue_reconciliation_letter(
                    dealer=dealer,
                    as_of=form.cleaned_data["as_of"],
                    today=services.business_today(),
                    by=request.user,
                )
            except services.InvalidInput as error:
                put_error_on_form(form, error)
            except PermissionDenied as error:
                return forbidden(request, str(error), back=back)
            else:
                messages.success(
                    request,
                    _(
                        "Reconciliation letter to %(code)s %(name)s as of %(day)s issued; "
                        "its PDF is being rendered."
                    )
                    % {"code": dealer.code, "name": dealer.name, "day": local_date(letter.as_of)},
                )
                return HttpResponseRedirect(reverse("printroom_letter", args=[letter.pk]))
    return _render_reconciliation(request, form=form, status=400)
