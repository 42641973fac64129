"""Alerts: what a manager must look at now, on the alert board and by e-mail."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import Q

from dunning.models import Alert
from dunning.services.common import require
from dunning.services.errors import WorkflowConflict
from receivables.models import Dealer
from receivables.roles import Role

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def alert_managers(
    dealer: Dealer, *, kind: str, message: str, source_key: str | None = None
) -> Alert:
    """An alert on the managers' board, and an e-mail to them once the change is
    committed (a rolled-back change alerts nobody)."""
    alert = Alert.objects.create(dealer=dealer, kind=kind, message=message, source_key=source_key)
    subject = f"[Receivables Desk] {alert.get_kind_display()}: {dealer.code} {dealer.name}"
    mail_managers_after_commit(subject, message)
    return alert


def mail_managers_after_commit(subject: str, message: str) -> None:
    """E-mail the managers once the transaction commits. A mail server that is down is
    logged (robust=True), never undoes or breaks the committed work."""

    def send() -> None:
        _mail_managers(subject, message)

    transaction.on_commit(send, robust=True)


def _mail_managers(subject: str, message: str) -> None:
    recipients = list(
        get_user_model()
        .objects.filter(Q(groups__name=Role.MANAGER.value) | Q(is_superuser=True), is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
        .distinct()
    )
    if recipients:
        send_mail(subject, message, None, recipients)


@transaction.atomic
def acknowledge_alert(*, alert: Alert, by: User, now: dt.datetime) -> Alert:
    """A manager has seen the alert. Acknowledging it twice is a conflict."""
    require(by, "dunning.change_alert")
    locked = (
        Alert.objects.select_for_update(of=("self",))
        .select_related("acknowledged_by")
        .get(pk=alert.pk)
    )
    if locked.acknowledged_at is not None:
        who = locked.acknowledged_by.get_username() if locked.acknowledged_by else "someone"
        raise WorkflowConflict(f"This alert was already acknowledged by {who}.")
    locked.acknowledged_by = by
    locked.acknowledged_at = now
    locked.save(update_fields=["acknowledged_by", "acknowledged_at"])
    alert.acknowledged_by, alert.acknowledged_at = by, now
    return locked


__all__ = ["acknowledge_alert", "alert_managers", "mail_managers_after_commit"]
