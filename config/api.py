"""The JSON API (docs/API.md): one NinjaAPI under /api/v1/, authenticated by a bearer token or
the browser session, with the error shapes it promises."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied
from django.core.exceptions import ValidationError as ModelValidationError
from django.db import DataError, IntegrityError
from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from django_fsm import TransitionNotAllowed
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, HttpError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from dunning.api import collection_router, dealers_router, kpi_router, letters_router
from dunning.services.errors import WorkflowConflict
from receivables.api import ledger_router, reports_router
from receivables.models import ApiToken
from receivables.rates import MissingRate
from receivables.rates_api import rates_router

logger = logging.getLogger(__name__)


class TokenAuth(HttpBearer):
    def authenticate(self, request: HttpRequest, token: str):  # type: ignore[no-untyped-def]
        found = (
            ApiToken.objects.select_related("user")
            .filter(digest=ApiToken.digest_of(token), user__is_active=True)
            .first()
        )
        if found is None:
            return None
        now = timezone.now()
        # Write the last-use time at most once a minute: it is for humans, not auditing.
        if found.last_used_at is None or (now - found.last_used_at).total_seconds() > 60:
            ApiToken.objects.filter(pk=found.pk).update(last_used_at=now)
        request.user = found.user
        return found.user


class SessionUserAuth(SessionAuth):
    """The browser session, with Django's CSRF check on unsafe methods."""

    def _get_key(self, request: HttpRequest) -> str | None:
        # Without a session cookie there is no session to forge a request with: answer 401
        # (not a CSRF 403) to a client that sent no or a wrong bearer token.
        if settings.SESSION_COOKIE_NAME not in request.COOKIES:
            return None
        return super()._get_key(request)


api = NinjaAPI(
    title="Receivables Desk API",
    version="1",
    auth=[TokenAuth(), SessionUserAuth()],
    docs_url="/docs",
    openapi_url="/openapi.json",
)


def error_body(field: str, message: str) -> dict:
    return {"errors": [{"field": field, "message": message}]}


@api.exception_handler(ValidationError)
def on_validation_error(request: HttpRequest, exc: ValidationError) -> HttpResponse:
    errors = []
    for error in exc.errors:
        location = [
            str(part)
            for part in error.get("loc", [])
            if part not in ("body", "query", "path", "payload")
        ]
        errors.append({"field": ".".join(location), "message": error.get("msg", "invalid")})
    return api.create_response(request, {"errors": errors}, status=400)


@api.exception_handler(AuthenticationError)
def on_authentication_error(request: HttpRequest, exc: AuthenticationError) -> HttpResponse:
    return api.create_response(
        request, error_body("", "Authentication required: send a bearer token."), status=401
    )


@api.exception_handler(Http404)
def on_not_found(request: HttpRequest, exc: Http404) -> HttpResponse:
    return api.create_response(request, error_body("", str(exc) or "Not found."), status=404)


@api.exception_handler(ModelValidationError)
def on_rule_broken(request: HttpRequest, exc: ModelValidationError) -> HttpResponse:
    """A service refused the input; it raises before writing, so nothing changed."""
    if hasattr(exc, "error_dict"):
        errors = [
            {"field": "" if field == NON_FIELD_ERRORS else field, "message": message}
            for field, messages in exc.message_dict.items()
            for message in messages
        ]
    else:
        errors = [{"field": "", "message": message} for message in exc.messages]
    return api.create_response(request, {"errors": errors}, status=400)


@api.exception_handler(IntegrityError)
@api.exception_handler(DataError)
def on_database_refusal(request: HttpRequest, exc: Exception) -> HttpResponse:
    """A database constraint caught what validation did not (or a concurrent write won):
    still bad input, and the service's transaction has been rolled back."""
    logger.warning("API input refused by the database: %s", exc)
    return api.create_response(
        request,
        error_body("", "The data conflicts with the ledger's rules or with a concurrent change."),
        status=400,
    )


@api.exception_handler(PermissionDenied)
def on_permission_denied(request: HttpRequest, exc: PermissionDenied) -> HttpResponse:
    return api.create_response(
        request, error_body("", str(exc) or "Permission denied."), status=403
    )


@api.exception_handler(WorkflowConflict)
@api.exception_handler(TransitionNotAllowed)
def on_state_conflict(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The request was sound, but the state does not allow it (now): somebody decided
    the escalation first, the account moved, the task was already done."""
    return api.create_response(request, error_body("", str(exc)), status=409)


@api.exception_handler(MissingRate)
def on_missing_rate(request: HttpRequest, exc: MissingRate) -> HttpResponse:
    """A figure across currencies needs an exchange rate nobody has entered: say which,
    rather than add different currencies as if they were one."""
    return api.create_response(request, error_body("currency", str(exc)), status=409)


@api.exception_handler(HttpError)
def on_http_error(request: HttpRequest, exc: HttpError) -> HttpResponse:
    """Other HTTP errors (a failed CSRF check, a body that is not JSON) in the same shape."""
    return api.create_response(request, error_body("", str(exc)), status=exc.status_code)


api.add_router("/", dealers_router)
api.add_router("/", ledger_router)
api.add_router("/", collection_router)
api.add_router("/reports/", reports_router)
api.add_router("/reports/", kpi_router)
api.add_router("/", rates_router)
api.add_router("/", letters_router)
