"""Small pieces the collection services share: the business date, role checks, history
stamps and input checks."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.db import models

from dunning.services.errors import InvalidInput, PermissionDenied

if TYPE_CHECKING:
    from django.contrib.auth.models import User


def require(by: User | None, permission: str) -> None:
    """A user acting must hold the permission; the daily sweep (`by=None`) may act."""
    if by is not None and not by.has_perm(permission):
        raise PermissionDenied("Your role does not allow this.")


def stamp(instance: models.Model, *, by: User | None, reason: str) -> None:
    """Who and why, for the django-simple-history record the next save writes."""
    instance._history_user = by  # type: ignore[attr-defined]
    instance._change_reason = reason  # type: ignore[attr-defined]


def check_text(field: str, value: str, *, required: bool = True, max_length: int = 0) -> str:
    value = (value or "").strip()
    if required and not value:
        raise InvalidInput(field, "This field is required.")
    if "\x00" in value:
        raise InvalidInput(field, "The text contains a NUL character.")
    if max_length and len(value) > max_length:
        raise InvalidInput(field, f"At most {max_length} characters.")
    return value


def check_choice(field: str, value: str, choices: type[models.TextChoices]) -> str:
    if value not in choices.values:
        allowed = ", ".join(v for v in choices.values if v)
        raise InvalidInput(field, f"'{value}' is not one of: {allowed}.")
    return value
