"""What a collection agency records on the accounts placed with it: the money it
recovered and passed on.

An agency has no general right to record payments (`receivables.add_payment` is the
ledger's, for finance): a recovery is accepted only for a dealer placed with the agency
of the user recording it, and only as a new payment, never as a correction of one the
ledger already holds.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from dunning.agency import placement_of
from dunning.services.common import check_text
from dunning.services.errors import InvalidInput, PermissionDenied, WorkflowConflict
from receivables.models import Dealer, Payment
from receivables.roles import Role, role_of
from receivables.services import upsert_payment
from receivables.validation import money_problem, received_on_problem, text_problem

if TYPE_CHECKING:
    from django.contrib.auth.models import User

# The money comes in from the agency's account, passed on by bank transfer. The ledger
# has no method of its own for an agency's recovery (yet): the payment's history says
# which agency and user recorded it.
RECOVERY_METHOD = Payment.Method.TRANSFER
REFERENCE_MAX_LENGTH = 60


@transaction.atomic
def record_recovery(
    *,
    dealer: Dealer,
    agency_user: User,
    reference: str,
    received_on: dt.date,
    amount: Decimal,
    today: dt.date,
) -> Payment:
    """Record money the agency collected from the dealer and passed on, as a new payment
    of the dealer (allocated as any payment, by `upsert_payment`).

    Refuses (`PermissionDenied`) a user who is not an agency user of the agency the
    dealer is placed with now, and (`InvalidInput`) a reference already in the ledger, a
    date after `today` or before the placement, and an amount out of bounds. Nothing is
    written when anything is refused."""
    if role_of(agency_user) != Role.AGENCY:
        raise PermissionDenied(_("Only a collection agency records recoveries here."))
    # Locked, so that the placement checked is the one in force when the money is booked.
    agency_id = (
        Dealer.objects.select_for_update()
        .filter(pk=dealer.pk)
        .values_list("agency_id", flat=True)
        .first()
    )
    if agency_id is None or not agency_user.agencies.filter(pk=agency_id).exists():
        raise PermissionDenied(
            _("%(code)s is not placed with your agency.") % {"code": dealer.code}
        )

    reference = check_text("reference", reference, max_length=REFERENCE_MAX_LENGTH)
    if text_problem(reference):
        raise InvalidInput("reference", _("The reference must not contain NUL characters."))
    problem = received_on_problem(received_on, today=today)
    if problem:
        raise InvalidInput(
            "received_on",
            _("The date is after today (%(today)s): record money once it has arrived.")
            % {"today": today.isoformat()},
        )
    since = placement_of(dealer)
    if since is not None and received_on < since:
        raise InvalidInput(
            "received_on",
            _(
                "The account was placed with your agency on %(since)s: "
                "a recovery is dated then or later."
            )
            % {"since": since.isoformat()},
        )
    if money_problem(amount):
        raise InvalidInput("amount", _("Give an amount of at least 0.01 within the money limit."))
    if Payment.objects.filter(reference=reference).exists():
        raise InvalidInput(
            "reference",
            _("A payment with the reference %(reference)s is already recorded: use a new one.")
            % {"reference": reference},
        )
    agency_name = agency_user.agencies.filter(pk=agency_id).values_list("name", flat=True).first()
    try:
        # A savepoint: a payment with the same reference written meanwhile by someone
        # else fails here on the unique reference, and the caller is told so.
        with transaction.atomic():
            return upsert_payment(
                reference=reference,
                dealer=dealer.code,
                received_on=received_on,
                amount=amount,
                method=RECOVERY_METHOD,
                order=None,
                user=agency_user,
                reason=f"Recovery passed on by the agency {agency_name}",
            )
    except IntegrityError as exc:
        raise WorkflowConflict(
            _("A payment with the reference %(reference)s was recorded meanwhile.")
            % {"reference": reference}
        ) from exc
    except ValidationError as exc:
        field, messages = next(iter(exc.message_dict.items()))
        raise InvalidInput(field, messages[0]) from exc


__all__ = ["RECOVERY_METHOD", "record_recovery"]
