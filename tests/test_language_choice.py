"""Choosing the interface language: the browser's Accept-Language by default, the header's
language menu to change it, and the choice kept on the user so that it follows them to
another browser at login (config/language.py, receivables.UserPreference)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from django.conf import settings
from django.test import Client
from django.utils import translation
from playwright.sync_api import Page, expect

from receivables.models import UserPreference
from tests.factories import PASSWORD, UserFactory

COOKIE = settings.LANGUAGE_COOKIE_NAME


@pytest.fixture(autouse=True)
def _back_to_english():
    """LocaleMiddleware leaves the last request's language active in the test thread: put
    the default back, so that no later test renders in Spanish or Chinese by accident."""
    yield
    translation.deactivate()


def log_in(client: Client, username: str) -> None:
    response = client.post("/login/", {"username": username, "password": PASSWORD})
    assert response.status_code == 302, response.content.decode()[:500]


@pytest.mark.django_db
def test_the_browser_language_is_the_default():
    client = Client()
    body = client.get("/login/", HTTP_ACCEPT_LANGUAGE="es-ES,es;q=0.9").content.decode()
    assert '<html lang="es">' in body
    assert "Iniciar sesión" in body
    body = client.get("/login/", HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9").content.decode()
    assert '<html lang="zh-hans">' in body
    assert "登录" in body
    body = client.get("/login/", HTTP_ACCEPT_LANGUAGE="fr-FR").content.decode()
    assert '<html lang="en">' in body
    assert "Log in" in body


@pytest.mark.django_db
def test_the_login_page_and_every_page_have_the_language_menu(collector):
    client = Client()
    body = client.get("/login/").content.decode()
    assert 'data-testid="language-menu"' in body
    assert 'action="/i18n/setlang/"' in body
    for code, name in settings.LANGUAGES:
        assert f'<option value="{code}"' in body and name in body
    client.force_login(collector)
    body = client.get("/dealers/").content.decode()
    assert 'data-testid="language-menu"' in body
    assert '<option value="en" lang="en" selected>' in body


@pytest.mark.django_db
def test_choosing_a_language_changes_the_pages_and_is_stored_on_the_user(collector):
    client = Client()
    log_in(client, "carl")
    response = client.post("/i18n/setlang/", {"language": "es", "next": "/dealers/"})
    assert response.status_code == 302
    assert response["Location"] == "/dealers/"
    assert response.cookies[COOKIE].value == "es"
    assert UserPreference.objects.get(user=collector).language == "es"

    body = client.get("/dealers/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="es">' in body
    assert "Distribuidores" in body and "Cerrar sesión" in body
    assert '<option value="es" lang="es" selected>' in body


@pytest.mark.django_db
def test_the_choice_follows_the_user_to_another_browser(collector):
    first = Client()
    log_in(first, "carl")
    first.post("/i18n/setlang/", {"language": "zh-hans", "next": "/dealers/"})

    # Another browser, which asks for English: after login the pages are in Chinese.
    second = Client()
    response = second.post(
        "/login/", {"username": "carl", "password": PASSWORD}, HTTP_ACCEPT_LANGUAGE="en"
    )
    assert response.status_code == 302
    assert response.cookies[COOKIE].value == "zh-hans"
    body = second.get("/dealers/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert '<html lang="zh-hans">' in body
    assert "经销商" in body and "退出登录" in body

    # Changing it again there is remembered for the next login too.
    second.post("/i18n/setlang/", {"language": "en", "next": "/dealers/"})
    assert UserPreference.objects.get(user=collector).language == "en"
    third = Client()
    log_in(third, "carl")
    assert third.cookies[COOKIE].value == "en"


@pytest.mark.django_db
def test_a_choice_made_on_the_login_page_is_kept_for_a_user_without_one(collector):
    client = Client()
    client.post("/i18n/setlang/", {"language": "es", "next": "/login/"})
    assert not UserPreference.objects.exists()  # nobody is logged in yet
    log_in(client, "carl")
    assert UserPreference.objects.get(user=collector).language == "es"
    body = client.get("/dealers/").content.decode()
    assert '<html lang="es">' in body


@pytest.mark.django_db
def test_an_unknown_language_changes_nothing(collector):
    client = Client()
    log_in(client, "carl")
    response = client.post("/i18n/setlang/", {"language": "xx", "next": "/dealers/"})
    assert response.status_code == 302
    assert COOKIE not in response.cookies
    assert not UserPreference.objects.exists()
    assert '<html lang="en">' in client.get("/dealers/").content.decode()


LAPTOP = {"width": 1280, "height": 900}
TABLET = {"width": 768, "height": 1024}


def fits_the_window(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= window.innerWidth"))


@pytest.mark.browser
@pytest.mark.usefixtures("transactional_db")
@pytest.mark.parametrize("viewport", [LAPTOP, TABLET], ids=["laptop", "tablet"])
def test_choosing_spanish_in_the_header_on_the_login_page_and_after(
    page: Page, live_server: Any, viewport: dict[str, int]
) -> None:
    """A collector picks Spanish on the login page, logs in and works in Spanish; picks
    Chinese in the header of the dealer list, and logs in again from a fresh browser: the
    pages are still in Chinese. The header fits the window at both widths."""
    collector = UserFactory(role="collector", username="carl")
    page.set_viewport_size(viewport)
    page.goto(live_server.url + "/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    assert fits_the_window(page)

    page.get_by_label("Language").select_option("es")  # submits on change
    expect(page.get_by_role("heading", name="Iniciar sesión")).to_be_visible()
    page.get_by_label("Nombre de usuario").fill("carl")
    page.get_by_label("Contraseña").fill(PASSWORD)
    page.get_by_role("button", name="Iniciar sesión").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    page.goto(live_server.url + "/dealers/")
    expect(page.get_by_role("heading", name="Distribuidores")).to_be_visible()
    expect(page.get_by_role("button", name="Cerrar sesión")).to_be_visible()
    assert fits_the_window(page)

    page.get_by_label("Idioma").select_option("zh-hans")
    expect(page.get_by_role("heading", name="经销商")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/dealers/$"))
    assert fits_the_window(page)
    assert UserPreference.objects.get(user=collector).language == "zh-hans"

    page.context.clear_cookies()  # another browser, as far as the site can tell
    page.goto(live_server.url + "/login/")
    expect(page.get_by_role("heading", name="Log in")).to_be_visible()
    page.get_by_label("Username").fill("carl")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page).not_to_have_url(re.compile(r"/login/"))
    page.goto(live_server.url + "/dealers/")
    expect(page.get_by_role("heading", name="经销商")).to_be_visible()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
