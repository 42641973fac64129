"""The excuse library page: every excuse, active or not; adding, editing, deactivating
and reactivating one (never deleting: contact logs name them), each with who and why in
its history, which its page shows."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.exceptions import PermissionDenied
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.forms import ContactForm
from dunning.models import ContactLog, Excuse
from dunning.services.errors import InvalidInput
from dunning.services.team import add_excuse, update_excuse
from receivables.models import Contact

URL = "/team/excuses/"


@pytest.fixture
def trip(db: Any) -> Excuse:
    # Seeded by the data migration (tests/conftest.py `excuse_library` for others).
    return Excuse.objects.get(text="I am on a business trip")


def edit_data(excuse: Excuse, **changes: Any) -> dict[str, Any]:
    data = {
        "text": excuse.text,
        "counter_script": excuse.counter_script,
        "ask": excuse.ask,
        "position": excuse.position,
        "active": "on" if excuse.active else "",
        "reason": "Sharper wording",
    }
    data.update(changes)
    return {key: value for key, value in data.items() if value != ""}


def offered() -> list[str]:
    field = ContactForm(contacts=Contact.objects.none()).fields["excuse"]
    return [excuse.text for excuse in field.queryset]  # type: ignore[attr-defined]


# Who sees what


@pytest.mark.parametrize("role", ["collector", "finance", "agency_user"])
def test_other_roles_get_the_403_page(
    role: str, client: Client, request: Any, trip: Excuse
) -> None:
    client.force_login(request.getfixturevalue(role))

    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}{trip.pk}/").status_code == 403
    assert client.post(f"{URL}{trip.pk}/active/", {"active": "0"}).status_code == 403
    assert Excuse.objects.get(pk=trip.pk).active


def test_an_auditor_reads_the_library_and_its_history_without_forms(
    client: Client, auditor: Any, trip: Excuse
) -> None:
    client.force_login(auditor)

    listed = client.get(URL)
    one = client.get(f"{URL}{trip.pk}/")

    assert listed.status_code == one.status_code == 200
    for response in (listed, one):
        content = response.content.decode().split('id="content"')[1]
        assert 'method="post"' not in content
    assert "I am on a business trip" in listed.content.decode()
    assert "No change recorded yet." in one.content.decode()  # seeded by a migration
    assert client.post(f"{URL}{trip.pk}/active/", {"active": "0"}).status_code == 403
    assert client.post(f"{URL}new/", {"text": "x"}).status_code == 403
    assert client.post(f"{URL}{trip.pk}/", edit_data(trip, text="Away")).status_code == 403
    assert Excuse.objects.get(pk=trip.pk).text == "I am on a business trip"


# The list


def test_the_list_shows_active_and_inactive_excuses(
    client: Client, manager: Any, trip: Excuse
) -> None:
    Excuse.objects.filter(pk=trip.pk).update(active=False)
    client.force_login(manager)

    response = client.get(URL)

    texts = [excuse.text for excuse in response.context["excuses"]]
    assert "I am on a business trip" in texts
    assert len(texts) == Excuse.objects.count() == 7
    body = response.content.decode()
    assert "Inactive" in body
    assert "Reactivate" in body


def test_the_list_paginates_and_costs_the_same_queries_for_more_excuses(
    client: Client, manager: Any
) -> None:
    client.force_login(manager)

    def queries() -> int:
        client.get(URL)
        with CaptureQueriesContext(connection) as captured:
            assert client.get(URL).status_code == 200
        return len(captured)

    few = queries()
    Excuse.objects.bulk_create(
        [
            Excuse(text=f"Excuse {i}", counter_script="c", ask="a", position=100 + i)
            for i in range(60)
        ]
    )
    assert queries() == few
    second = client.get(f"{URL}?page=2")
    assert len(second.context["excuses"]) == 67 - 50


# Adding


def test_manager_adds_an_excuse_that_collectors_are_then_offered(
    client: Client, manager: Any
) -> None:
    client.force_login(manager)

    response = client.post(
        f"{URL}new/",
        {
            "text": "The bank has not released the loan",
            "counter_script": "Which bank, and when is the release date?",
            "ask": "A copy of the loan approval and a payment date.",
            "position": "80",
        },
        follow=True,
    )

    assert "Excuse “The bank has not released the loan” added" in " ".join(
        str(m) for m in response.context["messages"]
    )
    added = Excuse.objects.get(text="The bank has not released the loan")
    assert (added.active, added.position) == (True, 80)
    assert "The bank has not released the loan" in offered()
    record = added.history.get()
    assert (record.history_user, record.history_type) == (manager, "+")


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ({"text": "", "counter_script": "c", "ask": "a", "position": "1"}, "text"),
        (
            {"text": "i am on a BUSINESS trip", "counter_script": "c", "ask": "a", "position": "1"},
            "text",
        ),
        ({"text": "New", "counter_script": "", "ask": "a", "position": "1"}, "counter_script"),
        ({"text": "New", "counter_script": "c", "ask": "  ", "position": "1"}, "ask"),
        ({"text": "New", "counter_script": "c", "ask": "a", "position": "-3"}, "position"),
        ({"text": "New", "counter_script": "c", "ask": "a", "position": "first"}, "position"),
        ({"text": "x" * 201, "counter_script": "c", "ask": "a", "position": "1"}, "text"),
    ],
)
def test_bad_input_for_a_new_excuse_is_a_form_error(
    client: Client, manager: Any, trip: Excuse, data: dict[str, str], field: str
) -> None:
    client.force_login(manager)
    before = Excuse.objects.count()

    response = client.post(f"{URL}new/", data)

    assert response.status_code == 400
    assert response.context["form"].errors[field]
    assert Excuse.objects.count() == before


# Editing


def test_manager_edits_an_excuse_and_its_history_shows_the_change(
    client: Client, manager: Any
) -> None:
    trip = add_excuse(
        text="I am travelling",
        counter_script="Who pays while you are away?",
        ask="A transfer from the road, with a date.",
        position=50,
        by=manager,
    )
    client.force_login(manager)
    old_ask = trip.ask

    response = client.post(
        f"{URL}{trip.pk}/",
        edit_data(trip, ask="The name of whoever pays in your absence, and the date.", position=5),
        follow=True,
    )

    assert [str(m) for m in response.context["messages"]] == ["Excuse saved."]
    trip.refresh_from_db()
    assert trip.position == 5
    latest = response.context["history"][0]
    assert (latest.by, latest.reason) == ("mona", "Sharper wording")
    assert [(c.label, c.old, c.new) for c in latest.changes] == [
        ("The ask", old_ask, "The name of whoever pays in your absence, and the date."),
        ("Position", "50", "5"),
    ]
    first = response.context["history"][1]
    assert first.created
    assert "Excuse added to the library" in first.reason


def test_the_first_change_of_a_seeded_excuse_shows_its_values_as_recorded(
    client: Client, manager: Any, trip: Excuse
) -> None:
    client.force_login(manager)

    response = client.post(f"{URL}{trip.pk}/", edit_data(trip, position=3), follow=True)

    (entry,) = response.context["history"]
    assert not entry.created
    assert ("Position", "not recorded", "3") in [(c.label, c.old, c.new) for c in entry.changes]


def test_an_edit_needs_a_reason_and_changes_nothing_without(
    client: Client, manager: Any, trip: Excuse
) -> None:
    client.force_login(manager)

    response = client.post(f"{URL}{trip.pk}/", edit_data(trip, text="Away", reason=""))

    assert response.status_code == 400
    assert response.context["form"].errors["reason"]
    assert Excuse.objects.get(pk=trip.pk).text == "I am on a business trip"


def test_an_edit_may_not_take_another_excuses_words(
    client: Client, manager: Any, trip: Excuse
) -> None:
    client.force_login(manager)

    response = client.post(f"{URL}{trip.pk}/", edit_data(trip, text="Next month"))

    assert response.status_code == 400
    assert response.context["form"].errors["text"] == ["The library already has this excuse."]


def test_deactivating_by_the_edit_form(client: Client, manager: Any, trip: Excuse) -> None:
    client.force_login(manager)

    client.post(f"{URL}{trip.pk}/", edit_data(trip, active=""))

    assert not Excuse.objects.get(pk=trip.pk).active


# Deactivating and reactivating


def test_a_deactivated_excuse_leaves_the_contact_form_but_stays_in_the_logs(
    client: Client, manager: Any, trip: Excuse, collector: Any
) -> None:
    from tests.factories import DealerFactory

    log = ContactLog.objects.create(
        dealer=DealerFactory(),
        channel=ContactLog.Channel.PHONE,
        at="2026-03-02T10:00:00Z",
        outcome=ContactLog.Outcome.REACHED,
        excuse=trip,
    )
    client.force_login(manager)

    response = client.post(f"{URL}{trip.pk}/active/?page=1", {"active": "0"}, follow=True)

    assert response.redirect_chain[-1][0] == f"{URL}?page=1"
    assert "no longer offered to collectors" in " ".join(
        str(m) for m in response.context["messages"]
    )
    assert "I am on a business trip" not in offered()
    log.refresh_from_db()
    assert log.excuse == trip
    record = trip.history.order_by("-history_id").first()
    assert (record.history_user, record.history_change_reason) == (
        manager,
        "Deactivated in the excuse library",
    )

    client.post(f"{URL}{trip.pk}/active/", {"active": "1"})

    assert "I am on a business trip" in offered()


def test_there_is_no_way_to_delete_an_excuse(client: Client, manager: Any, trip: Excuse) -> None:
    client.force_login(manager)

    body = client.get(URL).content.decode() + client.get(f"{URL}{trip.pk}/").content.decode()

    assert "Delete" not in body
    assert client.delete(f"{URL}{trip.pk}/").status_code == 405


# The services


@pytest.mark.parametrize("role", ["collector", "finance", "auditor"])
def test_only_a_manager_changes_the_library(role: str, request: Any, trip: Excuse) -> None:
    user = request.getfixturevalue(role)
    with pytest.raises(PermissionDenied):
        add_excuse(text="New", counter_script="c", ask="a", position=1, by=user)
    with pytest.raises(PermissionDenied):
        update_excuse(excuse_id=trip.pk, changes={"active": False}, by=user, reason="x")


def test_update_excuse_writes_nothing_when_nothing_changes(manager: Any, trip: Excuse) -> None:
    before = trip.history.count()

    _excuse, changed = update_excuse(
        excuse_id=trip.pk, changes={"position": trip.position}, by=manager, reason="Same"
    )

    assert changed == []
    assert trip.history.count() == before


def test_update_excuse_refuses_what_is_not_an_excuse_field(manager: Any, trip: Excuse) -> None:
    with pytest.raises(InvalidInput) as error:
        update_excuse(excuse_id=trip.pk, changes={"id": 3}, by=manager, reason="x")
    assert error.value.field == "id"
