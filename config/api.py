"""The JSON API (API.md): one NinjaAPI under /api/v1/, authenticated by a bearer token or
the browser session, with the error shapes API.md promises."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.utils import timezone
from ninja import NinjaAPI
from ninja.errors import AuthenticationError, ValidationError
from ninja.security import HttpBearer, SessionAuth

from receivables.models import ApiToken


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
