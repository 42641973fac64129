"""The main menu and the landing page of each role (config/navigation.py): every entry
leads to a page the role may open, each role lands on the page its day starts on, and
no role is shown a page it would be refused."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from config.navigation import LANDING, MENUS
from receivables.roles import Role
from tests.factories import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db


def client_for(role: Role) -> Client:
    client = Client()
    client.force_login(UserFactory(role=role.value, username=f"nav-{role.value}"))
    return client


@pytest.mark.parametrize("role", list(Role))
def test_every_menu_entry_of_a_role_opens_for_it(role: Role) -> None:
    client = client_for(role)
    for entry in MENUS[role]:
        response = client.get(reverse(entry.url_name))
        assert response.status_code == 200, (role, entry.url_name, response.status_code)


@pytest.mark.parametrize("role", list(Role))
def test_the_page_shows_the_roles_menu_and_marks_the_current_entry(role: Role) -> None:
    client = client_for(role)
    first = MENUS[role][0]
    body = client.get(reverse(first.url_name)).content.decode()
    nav = body.split('<nav class="mainnav"', 1)[1].split("</nav>", 1)[0]
    for entry in MENUS[role]:
        assert f'href="{reverse(entry.url_name)}"' in nav
    assert nav.count('aria-current="page"') == 1
    assert f'href="{reverse(first.url_name)}" aria-current="page"' in nav


def test_no_menu_offers_a_page_outside_the_role() -> None:
    # The manager's own pages are not on the others' menus, and finance's import and
    # payments are not on the collector's.
    manager_only = {"team_desk", "team_reassign", "alert_list"}
    for role in (Role.COLLECTOR, Role.AGENCY, Role.FINANCE):
        names = {entry.url_name for entry in MENUS[role]}
        assert not names & manager_only, role
    collector = {entry.url_name for entry in MENUS[Role.COLLECTOR]}
    assert not collector & {"finance_import", "finance_payments", "finance_desk"}


@pytest.mark.parametrize(
    ("role", "lands_on"),
    [
        (Role.MANAGER, "team_desk"),
        (Role.FINANCE, "finance_desk"),
        (Role.COLLECTOR, "worklist"),
        (Role.AUDITOR, "home"),
        (Role.AGENCY, "agency_worklist"),
    ],
)
def test_each_role_lands_on_its_days_first_page_after_logging_in(role: Role, lands_on: str) -> None:
    assert LANDING.get(role, "home") == lands_on
    user = UserFactory(role=role.value, username=f"land-{role.value}")
    client = Client()
    response = client.post(reverse("login"), {"username": user.username, "password": PASSWORD})
    assert response.status_code == 302
    landing = client.get(response["Location"])
    assert landing.status_code == 302
    assert landing["Location"] == reverse(lands_on)


def test_anonymous_users_have_no_menu_and_land_on_the_login_form() -> None:
    body = Client().get(reverse("login")).content.decode()
    assert 'class="mainnav"' not in body
