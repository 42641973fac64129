"""`create_user` and `create_api_token`: the way a deployment gets its users and tokens."""

from __future__ import annotations

import io
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.test import Client

from receivables.models import Agency, ApiToken
from receivables.roles import Role, role_of
from tests.factories import DealerFactory, UserFactory

User = get_user_model()
PASSWORD = "feed-and-grain-2026"


@pytest.fixture
def password_in_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NEW_USER_PASSWORD", PASSWORD)


def typed_passwords(monkeypatch: pytest.MonkeyPatch, *answers: str) -> list[str]:
    """Answer getpass prompts in turn; returns the prompts shown."""
    monkeypatch.delenv("NEW_USER_PASSWORD", raising=False)
    prompts: list[str] = []
    remaining = list(answers)

    def fake_getpass(prompt: str = "") -> str:
        prompts.append(prompt)
        return remaining.pop(0)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    return prompts


@pytest.mark.parametrize("role", ["collector", "manager", "finance", "auditor"])
def test_create_user_puts_the_user_in_its_role(
    db: Any, password_in_environment: None, role: str
) -> None:
    call_command("create_user", "kim", "--role", role, stdout=io.StringIO())

    user = User.objects.get(username="kim")
    assert role_of(user) == Role(role)
    assert user.check_password(PASSWORD)


def test_create_user_asks_for_the_password_twice_without_the_variable(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts = typed_passwords(monkeypatch, PASSWORD, PASSWORD)

    call_command("create_user", "kim", "--role", "collector", stdout=io.StringIO())

    assert len(prompts) == 2
    assert User.objects.get(username="kim").check_password(PASSWORD)


def test_create_user_refuses_passwords_that_differ(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    typed_passwords(monkeypatch, PASSWORD, PASSWORD + "x")

    with pytest.raises(CommandError, match="do not match"):
        call_command("create_user", "kim", "--role", "collector")

    assert not User.objects.filter(username="kim").exists()


def test_create_user_refuses_an_empty_password(db: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    typed_passwords(monkeypatch, "")

    with pytest.raises(CommandError, match="empty"):
        call_command("create_user", "kim", "--role", "collector")


def test_create_user_refuses_a_password_the_validators_reject(
    db: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEW_USER_PASSWORD", "short")

    with pytest.raises(CommandError, match="too short"):
        call_command("create_user", "kim", "--role", "collector")

    assert not User.objects.filter(username="kim").exists()


def test_agency_user_joins_a_new_or_existing_agency(db: Any, password_in_environment: None) -> None:
    Agency.objects.create(name="Northern Recovery Ltd")

    for username, agency in [("ann", "Northern Recovery Ltd"), ("bob", "Southern Collect")]:
        call_command(
            "create_user", username, "--role", "agency", "--agency", agency, stdout=io.StringIO()
        )

    members = {
        agency.name: [user.username for user in agency.users.all()]
        for agency in Agency.objects.all()
    }
    assert members == {"Northern Recovery Ltd": ["ann"], "Southern Collect": ["bob"]}
    assert role_of(User.objects.get(username="ann")) == Role.AGENCY


def test_agency_role_needs_an_agency(db: Any, password_in_environment: None) -> None:
    with pytest.raises(CommandError, match="--agency"):
        call_command("create_user", "ann", "--role", "agency")

    assert not User.objects.exists()


def test_only_agency_users_name_an_agency(db: Any, password_in_environment: None) -> None:
    with pytest.raises(CommandError, match="only for role agency"):
        call_command("create_user", "kim", "--role", "collector", "--agency", "X")

    assert not Agency.objects.exists()


def test_unknown_role_is_refused(db: Any, password_in_environment: None) -> None:
    with pytest.raises(CommandError, match="invalid choice"):
        call_command("create_user", "kim", "--role", "boss")


def test_existing_user_is_not_changed(db: Any, password_in_environment: None) -> None:
    UserFactory(username="kim", role="collector")

    with pytest.raises(CommandError, match="already exists"):
        call_command("create_user", "kim", "--role", "manager")

    assert role_of(User.objects.get(username="kim")) == Role.COLLECTOR


def test_created_token_authenticates_the_user_on_the_api(manager: Any) -> None:
    dealer = DealerFactory()
    out, err = io.StringIO(), io.StringIO()

    call_command("create_api_token", "mona", stdout=out, stderr=err)

    raw = out.getvalue().strip()
    assert raw.startswith("rd_")
    assert "not shown again" in err.getvalue()
    response = Client().get(
        f"/api/v1/dealers/{dealer.code}", headers={"authorization": f"Bearer {raw}"}
    )
    assert response.status_code == 200


def test_each_call_prints_a_new_token_and_stores_only_its_digest(manager: Any) -> None:
    first, second = io.StringIO(), io.StringIO()

    call_command("create_api_token", "mona", stdout=first, stderr=io.StringIO())
    call_command("create_api_token", "mona", stdout=second, stderr=io.StringIO())

    assert first.getvalue() != second.getvalue()
    stored = set(ApiToken.objects.filter(user=manager).values_list("digest", flat=True))
    assert stored == {ApiToken.digest_of(o.getvalue().strip()) for o in (first, second)}


def test_token_for_unknown_user_is_refused(db: Any) -> None:
    with pytest.raises(CommandError, match="No user 'ghost'"):
        call_command("create_api_token", "ghost")


def test_token_for_inactive_user_is_refused(db: Any) -> None:
    UserFactory(username="gone", is_active=False)

    with pytest.raises(CommandError, match="inactive"):
        call_command("create_api_token", "gone")

    assert not ApiToken.objects.exists()
