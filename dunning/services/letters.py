"""The print room's services: letters issued outside the sweep (the notices of an
approved escalation), rendering after commit, the day's print run, posting (by post or
e-mail) and the return receipt (docs/API.md "Letters"). Rendering itself is
`dunning.printing`; reconciliation letters and their replies are
`dunning.services.reconciliation`."""

from __future__ import annotations

import datetime as dt
import io
from typing import TYPE_CHECKING

from django.db import transaction

from dunning.models import CollectionPolicy, Escalation, Letter, Stage
from dunning.services.common import stamp
from dunning.services.errors import InvalidInput, WorkflowConflict
from receivables.models import ZERO, Order

if TYPE_CHECKING:
    from django.contrib.auth.models import AnonymousUser, User

    from dunning.models.letters import LetterQuerySet


class LetterNotReady(WorkflowConflict):
    """The letter has no PDF yet (still rendering, or rendering failed)."""


def render_after_commit(letters: list[Letter]) -> None:
    """The new letters are rendered to PDF by Celery tasks, in batches of one kind and
    language (`dunning.tasks.enqueue_rendering`), once the transaction that made them has
    committed: a rendering that fails is retried and undoes nothing."""
    from dunning.tasks import enqueue_rendering

    enqueue_rendering(letters)


# The notice an approved escalation sends the dealer, by the stage it moves to.
NOTICE_OF_STAGE = {
    Stage.LITIGATION: Letter.Kind.PRE_LITIGATION,
    Stage.AGENCY: Letter.Kind.PLACEMENT,
}


def issue_escalation_notice(
    escalation: Escalation, *, today: dt.date, by: User | None
) -> Letter | None:
    """The pre-litigation notice (a move to litigation) or the placement notice (a
    placement with an agency) of an approved escalation, rendered after the commit;
    None for escalations that send no letter. Call it inside the approval's transaction."""
    from dunning.printing import letter_language

    kind = NOTICE_OF_STAGE.get(Stage(escalation.to_stage))
    if kind is None:
        return None
    dealer = escalation.dealer
    overdue = sum(
        (o.open_amount for o in Order.objects.filter(dealer=dealer).overdue_on(today)),  # type: ignore[attr-defined]
        ZERO,
    )
    letter = Letter(
        dealer=dealer,
        kind=kind,
        level=1,
        issued_on=today,
        amount=overdue,
        escalation=escalation,
        deadline=today + dt.timedelta(days=CollectionPolicy.current().notice_deadline_days),
        language=letter_language(dealer.language),
    )
    stamp(letter, by=by, reason=f"notice of escalation #{escalation.pk}")
    letter.save()
    render_after_commit([letter])
    return letter


def print_run_letters(letters: LetterQuerySet, *, issued_on: dt.date) -> LetterQuerySet:
    """The letters of a business date that are ready and not yet posted, in postal order
    (country, postal code, dealer name), as the post office sorts them."""
    return (
        letters.filter(issued_on=issued_on, status=Letter.Status.READY)
        .select_related("dealer")
        .in_postal_order()
    )


def print_run_pdf(letters: LetterQuerySet, *, issued_on: dt.date) -> tuple[bytes, int]:
    """One PDF of the day's print run, each letter's stored pages in postal order, and
    how many letters it holds. Nothing is rendered again."""
    from pypdf import PdfWriter

    writer = PdfWriter()
    count = 0
    for letter in print_run_letters(letters, issued_on=issued_on):
        with letter.pdf.open("rb") as stored:
            writer.append(io.BytesIO(stored.read()))
        count += 1
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue(), count


@transaction.atomic
def mark_posted(
    *,
    letter_id: int,
    posted_on: dt.date,
    tracking_number: str = "",
    by: User | AnonymousUser | None,
) -> Letter:
    """The letter went into the post on `posted_on` (with its tracked-mail number)."""
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.status not in (Letter.Status.READY, Letter.Status.POSTED):
        raise LetterNotReady(
            f"Letter #{letter_id} cannot be posted: it is {letter.get_status_display().lower()}."
        )
    if posted_on < letter.issued_on:
        raise InvalidInput(
            "posted_on", f"A letter is posted on or after its date, {letter.issued_on}."
        )
    letter.status = Letter.Status.POSTED
    letter.posted_on = posted_on
    letter.tracking_number = tracking_number
    letter._history_user = by if by is not None and by.is_authenticated else None  # type: ignore[attr-defined]
    letter._change_reason = "posted"  # type: ignore[attr-defined]
    letter.save(update_fields=["status", "posted_on", "tracking_number"])
    return letter


@transaction.atomic
def record_receipt(
    *, letter_id: int, received_on: dt.date, by: User | AnonymousUser | None
) -> Letter:
    """The return receipt of a posted letter came back, signed on `received_on`."""
    letter = Letter.objects.select_for_update().get(pk=letter_id)
    if letter.posted_on is None:
        raise WorkflowConflict(f"Letter #{letter_id} has not been posted: no receipt yet.")
    if received_on < letter.posted_on:
        raise InvalidInput(
            "received_on", f"The receipt cannot be before the posting, {letter.posted_on}."
        )
    letter.receipt_on = received_on
    letter._history_user = by if by is not None and by.is_authenticated else None  # type: ignore[attr-defined]
    letter._change_reason = "return receipt"  # type: ignore[attr-defined]
    letter.save(update_fields=["receipt_on"])
    return letter


class EmailNotSent(WorkflowConflict):
    """The mail server did not take the letter's e-mail; nothing was recorded."""


@transaction.atomic
def send_by_email(
    *, letter_id: int, to: str, by: User | AnonymousUser | None, today: dt.date
) -> Letter:
    """E-mail the letter's stored PDF to `to` and record it like a posting: posted today,
    delivered by e-mail to that address. Only a letter ready to print goes out.

    Unlike the alerts, the e-mail is the delivery itself, so it is sent inside the
    transaction, after every check and the write: when the mail server refuses it, the
    posting is rolled back (`EmailNotSent`) and the letter stays ready."""
    from django.conf import settings
    from django.core.exceptions import ValidationError
    from django.core.mail import EmailMessage
    from django.core.validators import validate_email

    from dunning.services.errors import PermissionDenied

    if by is not None and not by.has_perm("dunning.change_letter"):
        raise PermissionDenied("Your role does not allow this.")
    address = (to or "").strip()
    if not address:
        raise InvalidInput("to", "Give the address to send the letter to.")
    try:
        validate_email(address)
    except ValidationError:
        raise InvalidInput("to", f"'{address}' is not an e-mail address.") from None
    if len(address) > 254:  # Letter.email_to's length, an EmailField's
        raise InvalidInput("to", "This address is too long.")
    letter = Letter.objects.select_for_update().select_related("dealer").get(pk=letter_id)
    if letter.status != Letter.Status.READY or not letter.sha256:
        raise LetterNotReady(
            f"Letter #{letter_id} cannot be sent: it is {letter.get_status_display().lower()}."
        )
    if today < letter.issued_on:
        raise InvalidInput(
            "posted_on", f"A letter is sent on or after its date, {letter.issued_on}."
        )
    with letter.pdf.open("rb") as stored:
        pdf = stored.read()
    letter.status = Letter.Status.POSTED
    letter.posted_on = today
    letter.tracking_number = ""
    letter.delivery = Letter.Delivery.EMAIL
    letter.email_to = address
    letter._history_user = by if by is not None and by.is_authenticated else None  # type: ignore[attr-defined]
    letter._change_reason = f"sent by e-mail to {address}"  # type: ignore[attr-defined]
    letter.save(update_fields=["status", "posted_on", "tracking_number", "delivery", "email_to"])

    dealer = letter.dealer
    what = letter.get_kind_display()
    message = EmailMessage(
        # One line: a name with a line break in it must not break the header.
        subject=" ".join(
            f"{what} for {dealer.name} ({dealer.code}), {letter.issued_on:%-d %B %Y}".split()
        ),
        body=(
            f"Dear {dealer.name},\n\n"
            f"Please find attached our {what.lower()} of {letter.issued_on:%-d %B %Y} "
            f"(customer number {dealer.code}).\n\n"
            f"Kind regards,\n{settings.COMPANY_SIGNATORY}\n{settings.COMPANY_NAME}\n"
        ),
        to=[address],
    )
    message.attach(
        f"{letter.kind.replace('_', '-')}-{dealer.code}-{letter.issued_on:%Y-%m-%d}.pdf",
        pdf,
        "application/pdf",
    )
    try:
        message.send()
    except OSError as error:  # smtplib's errors, a refused connection, a failed lookup
        raise EmailNotSent(
            f"Letter #{letter_id} was not sent: the mail server refused it ({error})."
        ) from error
    return letter
