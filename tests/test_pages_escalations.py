"""The escalation queue, tasks and alerts: who sees what, who may decide, and refusals
shown as pages and messages, never as a 500."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from dunning import services
from dunning.models import Alert, CollectionAccount, Escalation, Task
from tests.factories import DealerFactory, OrderFactory, UserFactory

TODAY = dt.date(2026, 3, 16)
NOW = dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)


@pytest.fixture(autouse=True)
def business_day(time_machine):
    time_machine.move_to(NOW, tick=False)


def soft_dealer(collector, code: str | None = None):
    dealer = DealerFactory(collector=collector, **({"code": code} if code else {}))
    OrderFactory(
        dealer=dealer,
        ordered_on=TODAY - dt.timedelta(days=75),
        due_on=TODAY - dt.timedelta(days=45),
        amount=Decimal("3000.00"),
    )
    account = services.ensure_account(dealer)
    services.move_stage(account, "remind", on=TODAY, by=None, reason="Past due")
    services.move_stage(account, "soften", on=TODAY, by=None, reason="30 days past due")
    return dealer


def requested(dealer, by, to_stage: str = "hard") -> Escalation:
    return services.request_escalation(
        dealer=dealer, to_stage=to_stage, reason="Promises broken", by=by, today=TODAY
    )


def messages_of(response) -> list[str]:
    return [str(m) for m in response.context["messages"]]


def ids_in(response) -> list[int]:
    return [e.pk for e in response.context["escalations"]]


# The queue


def test_escalations_need_login(client):
    assert client.get("/escalations/").status_code == 302


def test_manager_sees_pending_requests_with_decision_buttons(client, manager, collector):
    escalation = requested(soft_dealer(collector, "SOFT1"), collector)
    client.force_login(manager)
    response = client.get("/escalations/")
    assert ids_in(response) == [escalation.pk]
    body = response.content.decode()
    assert f"/escalations/{escalation.pk}/approve/" in body
    assert f"/escalations/{escalation.pk}/reject/" in body


def test_collector_sees_only_own_requests_without_buttons(
    client, collector, other_collector, manager
):
    mine = requested(soft_dealer(collector), collector)
    requested(soft_dealer(other_collector), other_collector)
    client.force_login(collector)
    response = client.get("/escalations/")
    assert ids_in(response) == [mine.pk]
    assert "/approve/" not in response.content.decode()


def test_status_filter_shows_decided_requests(client, manager, collector):
    pending = requested(soft_dealer(collector), collector)
    decided = requested(soft_dealer(collector), collector)
    services.reject_escalation(
        escalation_id=decided.pk, by=manager, note="No", today=TODAY, now=NOW
    )
    client.force_login(manager)
    assert ids_in(client.get("/escalations/")) == [pending.pk]
    assert ids_in(client.get("/escalations/", {"status": "rejected"})) == [decided.pk]
    assert set(ids_in(client.get("/escalations/", {"status": ""}))) == {pending.pk, decided.pk}


def _queries_for_queue(client, manager, collector, requests: int) -> int:
    for _ in range(requests):
        requested(soft_dealer(collector), collector)
    client.force_login(manager)
    client.get("/escalations/")
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/escalations/")
    assert len(response.context["escalations"]) == requests
    return len(queries)


def test_escalation_queue_costs_the_same_queries_for_3_and_20_requests(client, collector):
    few = _queries_for_queue(client, UserFactory(role="manager"), collector, 3)
    Escalation.objects.all().delete()
    many = _queries_for_queue(client, UserFactory(role="manager"), collector, 20)
    assert few == many


# Deciding


def test_manager_approves_and_the_account_moves_to_hard(client, manager, collector):
    escalation = requested(soft_dealer(collector, "SOFT1"), collector)
    client.force_login(manager)
    response = client.post(
        f"/escalations/{escalation.pk}/approve/", {"note": "Go ahead"}, follow=True
    )
    assert messages_of(response) == ["Escalation of SOFT1 to hard collection approved."]
    escalation.refresh_from_db()
    assert (escalation.status, escalation.decided_by, escalation.decision_note) == (
        "approved",
        manager,
        "Go ahead",
    )
    assert CollectionAccount.objects.get(dealer__code="SOFT1").stage == "hard"


def test_manager_rejects_and_the_stage_stays(client, manager, collector):
    escalation = requested(soft_dealer(collector, "SOFT1"), collector)
    client.force_login(manager)
    response = client.post(f"/escalations/{escalation.pk}/reject/", {"note": "Wait"}, follow=True)
    assert messages_of(response) == ["Escalation of SOFT1 to hard collection rejected."]
    assert CollectionAccount.objects.get(dealer__code="SOFT1").stage == "soft"


def test_collector_cannot_approve_and_sees_why(client, collector, other_collector):
    escalation = requested(soft_dealer(collector), collector)
    client.force_login(collector)
    response = client.post(f"/escalations/{escalation.pk}/approve/")
    assert response.status_code == 403
    assert "Only a collection manager may decide an escalation." in response.content.decode()
    escalation.refresh_from_db()
    assert escalation.status == "pending"


def test_collector_cannot_reach_another_collectors_request(client, collector, other_collector):
    escalation = requested(soft_dealer(collector), collector)
    client.force_login(other_collector)
    assert client.post(f"/escalations/{escalation.pk}/approve/").status_code == 404


def test_manager_cannot_approve_own_request(client, manager, collector):
    escalation = requested(soft_dealer(collector), manager)
    client.force_login(manager)
    queue = client.get("/escalations/").content.decode()
    assert "You requested this: another manager decides it." in queue
    response = client.post(f"/escalations/{escalation.pk}/approve/")
    assert response.status_code == 403
    assert "You requested this escalation: another manager must decide it." in (
        response.content.decode()
    )
    escalation.refresh_from_db()
    assert escalation.status == "pending"


def test_second_decision_is_a_message_not_an_error(client, manager, collector):
    escalation = requested(soft_dealer(collector, "SOFT1"), collector)
    other_manager = UserFactory(role="manager", username="max")
    services.approve_escalation(
        escalation_id=escalation.pk, by=other_manager, note="", today=TODAY, now=NOW
    )
    client.force_login(manager)
    response = client.post(
        f"/escalations/{escalation.pk}/reject/", {"note": "Not yet"}, follow=True
    )
    assert response.status_code == 200
    assert messages_of(response) == [f"Escalation #{escalation.pk} was already approved by max."]
    escalation.refresh_from_db()
    assert escalation.status == "approved"


def test_decision_returns_to_the_filtered_queue_but_never_off_site(client, manager, collector):
    first = requested(soft_dealer(collector), collector)
    second = requested(soft_dealer(collector), collector)
    client.force_login(manager)
    response = client.post(
        f"/escalations/{first.pk}/reject/",
        {"next": "/escalations/?status=pending", "note": "Not yet"},
    )
    assert response["Location"] == "/escalations/?status=pending"
    response = client.post(
        f"/escalations/{second.pk}/reject/", {"next": "https://evil.example/", "note": "No"}
    )
    assert response["Location"] == "/escalations/"


# Tasks


def test_tasks_page_lists_my_open_tasks(client, collector, other_collector):
    dealer = soft_dealer(collector, "SOFT1")
    Task.objects.create(
        dealer=dealer, assignee=collector, kind="call", due_on=TODAY, reason="Call about it"
    )
    Task.objects.create(
        dealer=dealer, assignee=other_collector, kind="call", due_on=TODAY, reason="Not mine"
    )
    client.force_login(collector)
    body = client.get("/tasks/").content.decode()
    assert "Call about it" in body
    assert "Not mine" not in body


def test_task_is_marked_done_with_an_outcome(client, collector):
    task = Task.objects.create(
        dealer=soft_dealer(collector), assignee=collector, kind="call", due_on=TODAY, reason="Call"
    )
    client.force_login(collector)
    response = client.post(f"/tasks/{task.pk}/done/", {"outcome": "Paid half"}, follow=True)
    task.refresh_from_db()
    assert (task.outcome, task.done_at) == ("Paid half", NOW)
    assert messages_of(response) == [f"{task}: done."]
    assert "Paid half" not in response.content.decode()  # no longer listed


def test_task_needs_an_outcome(client, collector):
    task = Task.objects.create(
        dealer=soft_dealer(collector), assignee=collector, kind="call", due_on=TODAY, reason="Call"
    )
    client.force_login(collector)
    client.post(f"/tasks/{task.pk}/done/", {"outcome": " "})
    task.refresh_from_db()
    assert task.done_at is None


def test_another_collectors_task_is_not_found(client, collector, other_collector):
    task = Task.objects.create(
        dealer=soft_dealer(collector), assignee=collector, kind="call", due_on=TODAY, reason="Call"
    )
    client.force_login(other_collector)
    assert client.post(f"/tasks/{task.pk}/done/", {"outcome": "x"}).status_code == 404


# Alerts


def test_alerts_are_for_managers(client, collector):
    client.force_login(collector)
    response = client.get("/alerts/")
    assert response.status_code == 403
    assert "Alerts are for collection managers and auditors." in response.content.decode()


def test_agencies_and_finance_get_no_alerts(client, agency_user, finance):
    for user in (agency_user, finance):
        client.force_login(user)
        assert client.get("/alerts/").status_code == 403


def test_auditor_reads_every_alert_without_a_form(client, auditor, manager, collector):
    dealer = soft_dealer(collector, "SOFT1")
    Alert.objects.create(dealer=dealer, kind="dealer_event", message="Bankruptcy filed")
    Alert.objects.create(
        dealer=dealer,
        kind="limitation",
        message="Limitation in 30 days",
        acknowledged_by=manager,
        acknowledged_at=NOW,
    )
    client.force_login(auditor)
    response = client.get("/alerts/")
    assert response.status_code == 200
    page = response.content.decode()
    # Open and acknowledged alike, each dealer linked to its collection page.
    assert "Bankruptcy filed" in page and "Limitation in 30 days" in page
    assert "Acknowledged by mona" in page
    assert page.count('href="/dealers/SOFT1/collection/"') == 2
    main = page[page.index("<main") :]
    assert 'method="post"' not in main
    assert "Acknowledge</button>" not in page
    # Open only, on request.
    open_only = client.get("/alerts/?show=open").content.decode()
    assert "Bankruptcy filed" in open_only and "Limitation in 30 days" not in open_only


def test_auditor_may_not_acknowledge(client, auditor, collector):
    dealer = soft_dealer(collector, "SOFT1")
    alert = Alert.objects.create(dealer=dealer, kind="dealer_event", message="Bankruptcy filed")
    client.force_login(auditor)
    response = client.post(f"/alerts/{alert.pk}/acknowledge/")
    assert response.status_code == 403
    assert "Only collection managers acknowledge alerts." in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_at is None


def test_manager_acknowledges_an_alert(client, manager, collector):
    dealer = soft_dealer(collector, "SOFT1")
    alert = Alert.objects.create(dealer=dealer, kind="dealer_event", message="Bankruptcy filed")
    client.force_login(manager)
    assert "Bankruptcy filed" in client.get("/alerts/").content.decode()
    response = client.post(f"/alerts/{alert.pk}/acknowledge/", follow=True)
    assert messages_of(response) == ["Alert acknowledged."]
    assert "Bankruptcy filed" not in response.content.decode()
    alert.refresh_from_db()
    assert alert.acknowledged_by == manager
    again = client.post(f"/alerts/{alert.pk}/acknowledge/", follow=True)
    assert messages_of(again) == ["This alert was already acknowledged by mona."]
