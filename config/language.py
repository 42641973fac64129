"""The interface language a user chose follows them from browser to browser.

Django's `set_language` view (the header's language menu) keeps the choice in a cookie,
which `LocaleMiddleware` reads before the browser's Accept-Language. A cookie stays in one
browser, so the choice is also stored on the user (`receivables.UserPreference`):

- when a signed-in user's response sets the language cookie, the choice is saved;
- at login (`user_logged_in`), a stored choice is put back in the cookie of the new
  browser; a user without one keeps what they chose on the login page, and it is saved.

One middleware does both halves on the response, because a signal has no response to set
a cookie on. It sits after `AuthenticationMiddleware`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Literal, cast

from django.conf import settings
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse
from django.utils import translation

from receivables.models import UserPreference

API_PREFIX = "/api/"

SameSite = Literal["Lax", "Strict", "None"] | None

# Where the login signal leaves the language for the response to write in the cookie.
LOGIN_LANGUAGE = "_language_at_login"


def _supported(code: str | None) -> str | None:
    """`code` if it is one of `settings.LANGUAGES`, else None."""
    return code if code in {language for language, _ in settings.LANGUAGES} else None


def remember_language(user: Any, language: str) -> None:
    """Store `language` as the user's choice (one row per user)."""
    UserPreference.objects.update_or_create(user=user, defaults={"language": language})


@receiver(user_logged_in, dispatch_uid="config.language.apply_at_login")
def apply_at_login(sender: Any, request: HttpRequest | None, user: Any, **kwargs: Any) -> None:
    """At login, the user's stored language wins over this browser's; without one, the
    language chosen on the login page (the cookie) becomes their choice."""
    if request is None:
        return
    stored = UserPreference.objects.filter(user=user).values_list("language", flat=True).first()
    language = _supported(stored)
    if language is not None:
        setattr(request, LOGIN_LANGUAGE, language)
        translation.activate(language)
        return
    chosen = _supported(request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME))
    if chosen is not None:
        remember_language(user, chosen)


class UserLanguageMiddleware:
    """Writes the language cookie from the user's stored choice at login, and stores the
    choice a signed-in user makes with the language menu."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        at_login = getattr(request, LOGIN_LANGUAGE, None)
        if at_login is not None:
            response.set_cookie(
                settings.LANGUAGE_COOKIE_NAME,
                at_login,
                max_age=settings.LANGUAGE_COOKIE_AGE,
                path=settings.LANGUAGE_COOKIE_PATH,
                domain=settings.LANGUAGE_COOKIE_DOMAIN,
                secure=settings.LANGUAGE_COOKIE_SECURE,
                httponly=settings.LANGUAGE_COOKIE_HTTPONLY,
                samesite=cast(SameSite, settings.LANGUAGE_COOKIE_SAMESITE),
            )
            return response
        cookie = response.cookies.get(settings.LANGUAGE_COOKIE_NAME)
        user = getattr(request, "user", None)
        if cookie is not None and user is not None and user.is_authenticated:
            chosen = _supported(cookie.value)
            if chosen is not None:
                remember_language(user, chosen)
        return response


class ApiInEnglishMiddleware:
    """The JSON API answers in English whatever the caller's Accept-Language: its words
    (summaries, reasons, error messages) are part of the interface outside systems rely
    on (docs/API.md). Pages follow the reader's language; the API does not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if not request.path_info.startswith(API_PREFIX):
            return self.get_response(request)
        with translation.override(settings.LANGUAGE_CODE):
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            response = self.get_response(request)
        response.headers["Content-Language"] = settings.LANGUAGE_CODE
        return response
