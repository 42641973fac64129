"""The collection policy page: every field in its fieldset, errors per field, changes
saved through `update_policy` with who and why, and the history of the changes."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.models import CollectionPolicy
from dunning.services.errors import InvalidInput
from dunning.services.team import POLICY_FIELDS, InvalidPolicy, update_policy
from dunning.team_forms import POLICY_FIELDSETS, PolicyForm

URL = "/team/policy/"


def policy_data(**changes: Any) -> dict[str, str]:
    """The form as the page sends it: the current values, with `changes`."""
    policy = CollectionPolicy.current()
    data: dict[str, str] = {"reason": "Seasonal review"}
    for name in POLICY_FIELDS:
        value = changes.get(name, getattr(policy, name))
        if isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, dt.time):
            data[name] = f"{value:%H:%M}"
        else:
            data[name] = str(value)
    for name, value in changes.items():
        if name not in POLICY_FIELDS:
            data[name] = value
    return data


def history_rows() -> int:
    return CollectionPolicy.history.count()


# Who sees what


@pytest.mark.parametrize("role", ["collector", "finance", "agency_user"])
def test_other_roles_get_the_403_page(role: str, client: Client, request: Any) -> None:
    client.force_login(request.getfixturevalue(role))

    assert client.get(URL).status_code == 403
    assert client.post(URL, policy_data(grace_days=3)).status_code == 403
    assert CollectionPolicy.current().grace_days == 0


def test_an_auditor_reads_the_policy_but_gets_no_form(client: Client, auditor: Any) -> None:
    client.force_login(auditor)

    response = client.get(URL)

    assert response.status_code == 200
    body = response.content.decode()
    assert 'method="post"' not in body.split('id="content"')[1]
    assert "First reminder, days past due" in body
    assert "Longest credit-hold override, days" in body
    assert "form" not in response.context
    refused = client.post(URL, policy_data(grace_days=3))
    assert refused.status_code == 403
    assert CollectionPolicy.current().grace_days == 0


def test_every_field_of_the_policy_is_in_one_fieldset() -> None:
    listed = [name for fieldset in POLICY_FIELDSETS for name in fieldset.names]

    assert sorted(listed) == sorted(POLICY_FIELDS)
    assert len(listed) == len(set(listed))
    assert "credit_override_max_days" in POLICY_FIELDS
    assert "allowance_dead_percent" in POLICY_FIELDS


def test_the_manager_sees_every_field_with_its_label_and_help(client: Client, manager: Any) -> None:
    client.force_login(manager)

    response = client.get(URL)

    body = response.content.decode()
    form = PolicyForm()
    for name in POLICY_FIELDS:
        assert f'name="{name}"' in body, name
        assert str(form[name].label) in body
    for legend in ("Stages and letters", "Calling hours", "Bad-debt allowance", "Risk classes"):
        assert f"<legend>{legend}</legend>" in body
    assert "Must be more than the first reminder&#x27;s days." in body
    assert 'name="reason"' in body


# Changing it


def test_manager_changes_a_value_and_sees_it_in_the_history(client: Client, manager: Any) -> None:
    client.force_login(manager)

    response = client.post(
        URL,
        policy_data(reminder_level1_days=10, reason="Dealers asked for more time"),
        follow=True,
    )

    assert CollectionPolicy.current().reminder_level1_days == 10
    assert [str(m) for m in response.context["messages"]] == [
        "Policy saved: 1 value changed (First reminder, days past due)."
    ]
    latest = response.context["history"][0]
    assert latest.by == "mona"
    assert latest.reason == "Dealers asked for more time"
    assert [(c.label, c.old, c.new) for c in latest.changes] == [
        ("First reminder, days past due", "7", "10")
    ]
    body = response.content.decode()
    assert "Dealers asked for more time" in body


def test_times_booleans_and_percents_are_shown_in_words(client: Client, manager: Any) -> None:
    client.force_login(manager)

    response = client.post(
        URL,
        policy_data(quiet_from="19:30", no_calls_on_sundays=False, allowance_bad_percent="55.5"),
        follow=True,
    )

    changes = {c.label: (c.old, c.new) for c in response.context["history"][0].changes}
    assert changes == {
        "No calls from": ("20:00", "19:30"),
        "No calls on Sundays": ("Yes", "No"),
        "Bad, percent": ("50.00", "55.50"),
    }
    policy = CollectionPolicy.current()
    assert policy.allowance_bad_percent == Decimal("55.50")
    assert policy.quiet_from == dt.time(19, 30)


@pytest.mark.parametrize(
    ("changes", "field", "words"),
    [
        ({"reminder_level2_days": "7"}, "reminder_level2_days", "after the first one"),
        ({"final_demand_days": "20"}, "final_demand_days", "after the second reminder"),
        ({"hard_proposal_days": "30"}, "hard_proposal_days", "after soft collection"),
        ({"bad_after_days": "90"}, "bad_after_days", "after it turned quasi-bad"),
        ({"dead_after_days": "300"}, "dead_after_days", "after it turned bad"),
        ({"quiet_from": "08:00"}, "quiet_from", "Calls must end after they may start"),
        ({"suggested_to": "21:00"}, "suggested_to", "after calls must stop"),
        ({"lunch_to": "11:00"}, "lunch_to", "Lunch must end after it starts"),
        ({"calls_per_week": "0"}, "calls_per_week", "At least as many calls a week"),
        ({"allowance_bad_percent": "120"}, "allowance_bad_percent", "100"),
        ({"allowance_dead_percent": "-1"}, "allowance_dead_percent", "0"),
        ({"interest_rate_percent": "150"}, "interest_rate_percent", "0 to 100 percent"),
        ({"credit_override_max_days": "0"}, "credit_override_max_days", "1"),
        ({"limitation_warning_days": "2000"}, "limitation_warning_days", "before the limitation"),
        ({"grace_days": "soon"}, "grace_days", "whole number"),
        ({"quiet_until": "25:00"}, "quiet_until", "valid time"),
        ({"reason": ""}, "reason", "required"),
    ],
)
def test_bad_values_are_explained_per_field_and_change_nothing(
    client: Client, manager: Any, changes: dict[str, str], field: str, words: str
) -> None:
    CollectionPolicy.current()
    before = history_rows()
    client.force_login(manager)

    response = client.post(URL, policy_data(**changes))

    assert response.status_code == 400
    errors = response.context["form"].errors
    assert field in errors, errors
    assert words in " ".join(errors[field])
    assert history_rows() == before
    assert CollectionPolicy.current().reminder_level2_days == 21


def test_several_problems_are_shown_at_once(client: Client, manager: Any) -> None:
    client.force_login(manager)

    response = client.post(
        URL, policy_data(reminder_level2_days="5", dead_after_days="100", quiet_from="07:00")
    )

    assert set(response.context["form"].errors) == {
        "reminder_level2_days",
        "dead_after_days",
        "quiet_from",
    }


def test_saving_the_same_values_writes_no_history(client: Client, manager: Any) -> None:
    CollectionPolicy.current()
    before = history_rows()
    client.force_login(manager)

    response = client.post(URL, policy_data(), follow=True)

    assert [str(m) for m in response.context["messages"]] == [
        "Nothing changed: the policy is as it was."
    ]
    assert history_rows() == before


# The service


def test_update_policy_stamps_who_and_why(manager: Any) -> None:
    changed = update_policy(
        changes={"grace_days": 2, "calls_per_week": 4}, by=manager, reason="Softer start"
    )

    assert changed == ["grace_days", "calls_per_week"]
    record = CollectionPolicy.history.order_by("-history_id").first()
    assert (record.history_user, record.history_change_reason) == (manager, "Softer start")


def test_update_policy_collects_every_problem(manager: Any) -> None:
    with pytest.raises(InvalidPolicy) as error:
        update_policy(
            changes={"bad_after_days": 50, "allowance_bad_percent": Decimal("101")},
            by=manager,
            reason="Oops",
        )

    assert set(error.value.problems) == {"allowance_bad_percent"}  # bounds first
    with pytest.raises(InvalidPolicy) as error:
        update_policy(
            changes={"bad_after_days": 50, "lunch_to": dt.time(11, 0)}, by=manager, reason="x"
        )
    assert set(error.value.problems) == {"bad_after_days", "lunch_to"}
    assert isinstance(error.value, InvalidInput)
    assert CollectionPolicy.current().bad_after_days == 365


def test_update_policy_refuses_an_unknown_field(manager: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        update_policy(changes={"id": 2}, by=manager, reason="x")
    assert error.value.field == "id"


@pytest.mark.parametrize("role", ["collector", "finance", "auditor"])
def test_only_a_manager_updates_the_policy(role: str, request: Any) -> None:
    with pytest.raises(PermissionDenied):
        update_policy(changes={"grace_days": 1}, by=request.getfixturevalue(role), reason="x")


# The history list


def test_the_history_paginates(client: Client, manager: Any) -> None:
    for days in range(1, 26):
        update_policy(changes={"grace_days": days}, by=manager, reason=f"Step {days}")
    client.force_login(manager)

    first = client.get(URL)
    last = client.get(f"{URL}?history=2")

    assert [e.reason for e in first.context["history"][:2]] == ["Step 25", "Step 24"]
    assert len(first.context["history"]) == 20
    # 25 changes and the policy's first record.
    assert len(last.context["history"]) == 6
    assert last.context["history"][-1].created
    step_five = last.context["history"][0]
    assert step_five.reason == "Step 5"
    assert [(c.old, c.new) for c in step_five.changes] == [("4", "5")]
    assert 'href="?history=2#history"' in first.content.decode()


def test_the_page_costs_the_same_queries_however_long_the_history(
    client: Client, manager: Any
) -> None:
    client.force_login(manager)

    def queries() -> int:
        client.get(URL)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    for days in range(1, 4):
        update_policy(changes={"grace_days": days}, by=manager, reason="short")
    short = queries()
    for days in range(4, 40):
        update_policy(changes={"grace_days": days}, by=manager, reason="long")
    assert queries() == short
