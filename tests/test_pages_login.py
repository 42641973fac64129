"""Logging in and out of the web UI."""

import pytest

from tests.factories import PASSWORD

pytestmark = pytest.mark.django_db


def test_login_page_has_labelled_fields(client):
    response = client.get("/login/")
    assert response.status_code == 200
    body = response.content.decode()
    assert '<label for="id_username">' in body
    assert '<label for="id_password">' in body


def test_wrong_password_shows_an_error_and_keeps_the_username(client, collector):
    response = client.post("/login/", {"username": "carl", "password": "wrong"})
    assert response.status_code == 200
    body = response.content.decode()
    assert 'role="alert"' in body
    assert "correct username and password" in body
    assert 'value="carl"' in body


def test_login_with_next_goes_back_to_the_page_asked_for(client, collector):
    response = client.post(
        "/login/", {"username": "carl", "password": PASSWORD, "next": "/dealers/"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/dealers/"


def test_logout_is_a_post_and_returns_to_login(client, collector):
    client.force_login(collector)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("url", ["/", "/dealers/", "/dealers/D1/", "/reports/aging/"])
def test_every_page_asks_anonymous_users_to_log_in(client, url):
    response = client.get(url)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/?next=")


def test_user_without_a_role_sees_no_dealers(client, db):
    from tests.factories import DealerFactory, UserFactory

    DealerFactory(code="D1")
    client.force_login(UserFactory(username="nobody"))
    assert client.get("/dealers/D1/").status_code == 404
    assert "D1" not in client.get("/dealers/").content.decode()
