"""The 403, 404 and 500 pages: styled, saying what happened and where to go next, in the
reader's language, and the 500 page rendered without a request context."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.template import loader
from django.test import Client
from django.urls import include, path
from django.utils import translation


def broken(request: HttpRequest) -> HttpResponse:
    raise RuntimeError("a bug")


def refused(request: HttpRequest) -> HttpResponse:
    raise PermissionDenied


urlpatterns = [
    path("test-broken/", broken),
    path("test-refused/", refused),
    path("", include("config.urls")),
]

pytestmark = [pytest.mark.django_db, pytest.mark.urls(__name__)]


@pytest.fixture(autouse=True)
def _back_to_english():
    """LocaleMiddleware leaves the last request's language active in the test thread: put
    the default back, so that no later test renders in Spanish or Chinese by accident."""
    yield
    translation.deactivate()


@pytest.fixture(autouse=True)
def _production(settings) -> None:
    settings.DEBUG = False


def test_404_says_the_page_does_not_exist_and_where_to_go():
    response = Client().get("/no-such-page/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "This page does not exist" in body
    assert "Error 404" in body
    assert 'href="/"' in body and "Go to your start page" in body
    assert "Go back" in body
    assert "<style>" in body  # styled without any static file


def test_404_of_a_dealer_out_of_sight_uses_the_same_page(collector):
    client = Client()
    client.force_login(collector)
    response = client.get("/dealers/NO-SUCH-DEALER/")
    assert response.status_code == 404
    assert "This page does not exist" in response.content.decode()


@pytest.mark.parametrize(
    ("language", "heading", "home"),
    [
        ("es", "Esta página no existe", "Ir a su página de inicio"),
        ("zh-hans", "此页面不存在", "前往您的起始页"),
    ],
)
def test_404_is_translated(language, heading, home):
    response = Client().get("/no-such-page/", HTTP_ACCEPT_LANGUAGE=language)
    assert response.status_code == 404
    body = response.content.decode()
    assert f'<html lang="{language}">' in body
    assert heading in body and home in body
    assert "This page does not exist" not in body


def test_500_is_a_plain_page_saying_nothing_was_saved():
    client = Client(raise_request_exception=False)
    response = client.get("/test-broken/")
    assert response.status_code == 500
    body = response.content.decode()
    assert "Something went wrong on our side" in body
    assert "Nothing you entered on it was saved" in body
    assert 'href="/"' in body
    assert "a bug" not in body  # no detail of the error leaks


def test_500_is_translated():
    client = Client(raise_request_exception=False)
    response = client.get("/test-broken/", HTTP_ACCEPT_LANGUAGE="es")
    assert response.status_code == 500
    assert "Algo ha fallado por nuestra parte" in response.content.decode()


def test_500_renders_without_a_request_context():
    with translation.override("en"):
        body = loader.get_template("500.html").render()
    assert "Something went wrong on our side" in body


def test_403_says_the_role_does_not_allow_it():
    response = Client().get("/test-refused/", HTTP_ACCEPT_LANGUAGE="zh-hans")
    assert response.status_code == 403
    body = response.content.decode()
    assert "您无权打开此页面" in body
    assert "错误 403" in body
