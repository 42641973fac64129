"""What the collection services refuse, as exceptions the callers translate: a form error
or a 400 for `InvalidInput`, a 403 for `PermissionDenied`, a 409 for a `WorkflowConflict`.

`TransitionNotAllowed` is django-fsm's own, re-exported so that callers import every
refusal from one place.
"""

from __future__ import annotations

from django.core.exceptions import PermissionDenied as PermissionDenied
from django.core.exceptions import ValidationError
from django_fsm import TransitionNotAllowed as TransitionNotAllowed


class InvalidInput(ValidationError, ValueError):
    """Bad input for one field. Nothing was written.

    It is a Django `ValidationError` keyed by the field, so forms and the API's error
    handler show it against that field without knowing this class.
    """

    def __init__(self, field: str, message: str) -> None:
        super().__init__({field: [message]})
        self.field = field
        self.message = message

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else str(self.message)


class WorkflowConflict(Exception):
    """The request was sound when it was made, but the state changed under it."""


class StageConflict(WorkflowConflict):
    """Somebody moved the account's stage between our read and our write."""


class EscalationConflict(WorkflowConflict):
    """The escalation was already decided, or its move is no longer possible."""


class TaskAlreadyDone(WorkflowConflict):
    pass
