"""What the panel views and the list views share."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from dunning import services

if TYPE_CHECKING:
    from django.contrib.auth.models import User


class AuthenticatedHttpRequest(HttpRequest):
    """What `@login_required` guarantees: the user is a real one."""

    user: User


def is_fragment_request(request: HttpRequest) -> bool:
    """An htmx request that wants only the swapped part, not a history restore."""
    htmx = getattr(request, "htmx", None)
    return bool(htmx) and not htmx.history_restore_request  # type: ignore[union-attr]


def forbidden(request: HttpRequest, message: str, *, back: str = "") -> HttpResponse:
    """The 403 page for a role that may not do this, with a way back."""
    return render(request, "dunning/forbidden.html", {"message": message, "back": back}, status=403)


def put_error_on_form(form: forms.BaseForm, error: services.InvalidInput) -> None:
    """Show a service's refusal next to the field it names, or above the form when the
    form has no such field."""
    field = error.field if error.field in form.fields else None
    form.add_error(field, error.message)
