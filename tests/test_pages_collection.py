"""The collection panel of a dealer: scoping, what it shows, and every form on it (errors
next to the fields, nothing changed by bad input)."""

import datetime as dt
import hashlib
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from dunning import services
from dunning.models import (
    Alert,
    CollectionAccount,
    ContactLog,
    DealerEvent,
    Escalation,
    Evidence,
    Excuse,
    InstallmentPlan,
    Promise,
)
from tests.factories import ContactFactory, DealerFactory, OrderFactory

TODAY = dt.date(2026, 3, 16)  # a Monday
NOW = dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC)  # 10:00 in Berlin
SATURDAY = dt.date(2026, 3, 21)
MONDAY = dt.date(2026, 3, 23)


@pytest.fixture(autouse=True)
def business_day(time_machine):
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def dealer(collector):
    dealer = DealerFactory(code="FEED01", name="Green Valley Feeds", collector=collector)
    OrderFactory(
        dealer=dealer,
        ordered_on=TODAY - dt.timedelta(days=75),
        due_on=TODAY - dt.timedelta(days=45),
        amount=Decimal("4200.00"),
    )
    return dealer


def in_soft_collection(dealer) -> CollectionAccount:
    account = services.ensure_account(dealer)
    services.move_stage(account, "remind", on=TODAY, by=None, reason="Past due")
    services.move_stage(account, "soften", on=TODAY, by=None, reason="30 days past due")
    return account


URL = "/dealers/FEED01/collection/"


def post(client, action: str, data: dict, **kwargs):
    return client.post(f"{URL}{action}/", data, **kwargs)


def messages_of(response) -> list[str]:
    # An action's message is shown next to its form (`panel_messages`), others at the top.
    by_part = response.context.get("panel_messages") or {}
    shown = [*response.context["messages"], *(m for part in by_part.values() for m in part)]
    return [str(m) for m in shown]


# Access


def test_collection_page_needs_login(client, dealer):
    response = client.get(URL)
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_another_collectors_dealer_is_not_found(client, dealer, other_collector):
    client.force_login(other_collector)
    assert client.get(URL).status_code == 404
    response = post(client, "promise", {"promise-amount": "10", "promise-due_on": "2026-03-20"})
    assert response.status_code == 404
    assert not Promise.objects.exists()


def test_changes_need_post(client, dealer, collector):
    client.force_login(collector)
    assert client.get(f"{URL}promise/").status_code == 405


# What the panel shows


def test_panel_shows_stage_history_credit_and_reliability(client, dealer, collector):
    in_soft_collection(dealer)
    client.force_login(collector)
    response = client.get(URL)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Soft collection" in body
    assert "30 days past due" in body  # the reason of the stage change
    assert "No hold: credit terms apply." in body
    assert "No history" in body  # promise reliability
    assert "45 days past due" in body
    assert response.context["risk"] == "in_collection"


def test_panel_shows_excuses_the_dealer_keeps_using(client, dealer, collector):
    borrow = Excuse.objects.get(text="I am trying to borrow")
    trip = Excuse.objects.get(text="I am on a business trip")
    for excuse in (borrow, borrow, trip):
        ContactLog.objects.create(
            dealer=dealer,
            channel=ContactLog.Channel.PHONE,
            at=NOW - dt.timedelta(days=3),
            outcome=ContactLog.Outcome.REACHED,
            excuse=excuse,
        )
    client.force_login(collector)
    response = client.get(URL)
    top = [(e.text, e.times) for e in response.context["top_excuses"]]
    assert top == [("I am trying to borrow", 2), ("I am on a business trip", 1)]


def test_timeline_lists_the_latest_entries(client, dealer, collector):
    client.force_login(collector)
    post(client, "promise", {"promise-amount": "500.00", "promise-due_on": "2026-03-20"})
    body = client.get(URL).content.decode()
    assert "Promise of 500.00 by 20 Mar 2026" in body
    assert "Feed order" in body


# Promises


def test_promise_on_a_saturday_moves_to_monday(client, dealer, collector):
    client.force_login(collector)
    response = post(
        client,
        "promise",
        {"promise-amount": "1500.00", "promise-due_on": SATURDAY.isoformat(), "promise-note": ""},
        follow=True,
    )
    promise = Promise.objects.get()
    assert (promise.requested_due_on, promise.due_on) == (SATURDAY, MONDAY)
    assert promise.made_by == collector
    assert response.redirect_chain[-1][0].endswith("#promises")
    assert messages_of(response) == [
        "Promise recorded: 1,500.00 by Mon, 23 Mar 2026 (asked for Sat 21 Mar, "
        "not a business day: moved to the next one)."
    ]
    assert "asked Sat 21 Mar, moved" in response.content.decode()


@pytest.mark.parametrize(
    ("amount", "due_on", "field", "error"),
    [
        ("-5", "2026-03-20", "amount", "Ensure this value is greater than or equal to 0.01."),
        ("abc", "2026-03-20", "amount", "Enter a number."),
        ("100.00", "2026-03-01", "due_on", "The date is in the past (today is 2026-03-16)."),
        ("100.00", "20/03/2026", "due_on", "Enter a valid date."),
    ],
)
def test_bad_promise_is_refused_next_to_the_field(
    client, dealer, collector, amount, due_on, field, error
):
    client.force_login(collector)
    response = post(client, "promise", {"promise-amount": amount, "promise-due_on": due_on})
    assert response.status_code == 400
    assert response.context["promise_form"].errors[field] == [error]
    assert f'id="id_promise-{field}_error"' in response.content.decode()
    assert not Promise.objects.exists()


def test_installment_plan_makes_a_promise_per_row(client, dealer, collector):
    client.force_login(collector)
    response = post(
        client,
        "plan",
        {
            "plan-TOTAL_FORMS": "4",
            "plan-INITIAL_FORMS": "0",
            "plan-0-amount": "1000.00",
            "plan-0-due_on": "2026-03-20",
            "plan-1-amount": "1000.00",
            "plan-1-due_on": "2026-04-20",
            "plan-2-amount": "2200.00",
            "plan-2-due_on": "2026-05-20",
            "plan-note": "Three months",
        },
        follow=True,
    )
    plan = InstallmentPlan.objects.get()
    assert plan.promises.count() == 3
    assert messages_of(response) == ["Installment plan recorded: 3 installments."]


def test_installment_plan_needs_two_rows(client, dealer, collector):
    client.force_login(collector)
    response = post(
        client,
        "plan",
        {
            "plan-TOTAL_FORMS": "4",
            "plan-INITIAL_FORMS": "0",
            "plan-0-amount": "1000.00",
            "plan-0-due_on": "2026-03-20",
        },
    )
    assert response.status_code == 400
    assert response.context["plan_formset"].non_form_errors() == [
        "A plan has at least two installments."
    ]
    assert not InstallmentPlan.objects.exists()


def test_installment_in_the_past_is_marked_on_its_row_and_nothing_is_made(
    client, dealer, collector
):
    client.force_login(collector)
    response = post(
        client,
        "plan",
        {
            "plan-TOTAL_FORMS": "4",
            "plan-INITIAL_FORMS": "0",
            "plan-0-amount": "1000.00",
            "plan-0-due_on": "2026-03-20",
            "plan-2-amount": "1000.00",
            "plan-2-due_on": "2026-03-02",
        },
    )
    assert response.status_code == 400
    formset = response.context["plan_formset"]
    assert formset.forms[2].errors["due_on"] == ["The date is in the past (today is 2026-03-16)."]
    assert not Promise.objects.exists()
    assert not InstallmentPlan.objects.exists()


# Contacts and excuses


def test_contact_is_logged_with_the_excuse_heard(client, dealer, collector):
    person = ContactFactory(dealer=dealer, name="Otto Owner")
    excuse = Excuse.objects.get(text="Next month")
    client.force_login(collector)
    response = post(
        client,
        "contact",
        {
            "contact-channel": "phone",
            "contact-person": person.pk,
            "contact-at": "2026-03-16T09:45",
            "contact-outcome": "refused",
            "contact-excuse": excuse.pk,
            "contact-note": "Says next month",
        },
        follow=True,
    )
    contact = ContactLog.objects.get()
    assert (contact.person, contact.excuse, contact.logged_by) == (person, excuse, collector)
    assert contact.at == dt.datetime(2026, 3, 16, 8, 45, tzinfo=dt.UTC)  # Berlin time given
    assert messages_of(response) == ["Contact recorded."]


def test_contact_outside_the_rules_is_kept_and_flagged(client, dealer, collector):
    client.force_login(collector)
    response = post(
        client,
        "contact",
        {
            "contact-channel": "phone",
            "contact-at": "2026-03-16T07:10",
            "contact-outcome": "reached",
        },
        follow=True,
    )
    contact = ContactLog.objects.get()
    assert contact.broken_rule == "no calls before 08:00"
    assert messages_of(response) == [
        "Contact recorded. It broke a rule (no calls before 08:00): the manager is told."
    ]
    assert Alert.objects.filter(kind=Alert.Kind.CONTACT_RULE).count() == 1


def test_contact_in_the_future_is_refused_next_to_the_time(client, dealer, collector):
    client.force_login(collector)
    response = post(
        client,
        "contact",
        {
            "contact-channel": "phone",
            "contact-at": "2026-03-16T18:00",
            "contact-outcome": "reached",
        },
    )
    assert response.status_code == 400
    assert response.context["contact_form"].errors["at"] == [
        "A contact cannot be logged before it happens."
    ]
    assert not ContactLog.objects.exists()


def test_contact_with_another_dealers_person_is_refused(client, dealer, collector):
    stranger = ContactFactory()
    client.force_login(collector)
    response = post(
        client,
        "contact",
        {
            "contact-channel": "phone",
            "contact-person": stranger.pk,
            "contact-at": "2026-03-16T09:00",
            "contact-outcome": "reached",
        },
    )
    assert response.status_code == 400
    assert "person" in response.context["contact_form"].errors
    assert not ContactLog.objects.exists()


def test_picking_an_excuse_returns_its_counter_script(client, dealer, collector):
    excuse = Excuse.objects.get(text="When I have money")
    client.force_login(collector)
    response = client.get(
        f"{URL}excuse/", {"contact-excuse": excuse.pk}, headers={"HX-Request": "true"}
    )
    body = response.content.decode()
    assert response.status_code == 200
    assert "That is not a date." in body
    assert "A concrete date and amount" in body
    assert "<html" not in body


def test_no_excuse_returns_an_empty_fragment(client, dealer, collector):
    client.force_login(collector)
    response = client.get(f"{URL}excuse/", {"contact-excuse": ""})
    assert response.content.decode().strip() == ""


# Escalation, events, evidence


def test_collector_requests_escalation_with_evidence(client, dealer, collector):
    in_soft_collection(dealer)
    photo = SimpleUploadedFile("stock.jpg", b"photo of the stock", content_type="image/jpeg")
    client.force_login(collector)
    response = post(
        client,
        "escalate",
        {
            "escalation-to_stage": "hard",
            "escalation-reason": "Two broken promises",
            "escalation-evidence_file": photo,
            "escalation-evidence_description": "Stock in the barn",
        },
        follow=True,
    )
    escalation = Escalation.objects.get()
    assert (escalation.status, escalation.requested_by) == ("pending", collector)
    evidence = escalation.evidence.get()
    assert evidence.sha256 == hashlib.sha256(b"photo of the stock").hexdigest()
    assert messages_of(response) == [
        "Escalation to hard collection requested; a manager decides it."
    ]


def test_escalation_the_stage_does_not_allow_is_refused_next_to_the_stage(
    client, dealer, collector
):
    client.force_login(collector)
    response = post(
        client, "escalate", {"escalation-to_stage": "hard", "escalation-reason": "Late"}
    )
    assert response.status_code == 400
    errors = response.context["escalation_form"].errors["to_stage"]
    assert errors == ["Cannot ask to move to hard: an account in current cannot move to hard."]
    assert not Escalation.objects.exists()


def test_escalation_needs_a_reason(client, dealer, collector):
    in_soft_collection(dealer)
    client.force_login(collector)
    response = post(client, "escalate", {"escalation-to_stage": "hard"})
    assert response.status_code == 400
    assert response.context["escalation_form"].errors["reason"] == ["This field is required."]
    assert not Escalation.objects.exists()


def test_danger_sign_alerts_the_manager_and_proposes_escalation(client, dealer, collector):
    in_soft_collection(dealer)
    client.force_login(collector)
    response = post(
        client,
        "event",
        {"event-kind": "relocation", "event-occurred_on": "2026-03-13", "event-note": "Moved"},
        follow=True,
    )
    assert DealerEvent.objects.get().kind == "relocation"
    assert Alert.objects.filter(kind=Alert.Kind.DEALER_EVENT).exists()
    assert Escalation.objects.get().requested_by is None
    assert messages_of(response) == ["Relocation reported; the managers are alerted."]


def test_danger_sign_in_the_future_is_refused(client, dealer, collector):
    client.force_login(collector)
    response = post(client, "event", {"event-kind": "closure", "event-occurred_on": "2026-04-01"})
    assert response.status_code == 400
    assert response.context["event_form"].errors["occurred_on"]
    assert not DealerEvent.objects.exists()


def test_evidence_upload_shows_its_sha256(client, dealer, collector):
    client.force_login(collector)
    upload = SimpleUploadedFile("note.pdf", b"signed delivery note", content_type="application/pdf")
    response = post(
        client,
        "evidence",
        {"evidence-file": upload, "evidence-description": "Signed delivery note"},
        follow=True,
    )
    digest = hashlib.sha256(b"signed delivery note").hexdigest()
    assert Evidence.objects.get().sha256 == digest
    assert f"sha256 {digest}" in response.content.decode()


def test_evidence_without_a_file_is_refused(client, dealer, collector):
    client.force_login(collector)
    response = post(client, "evidence", {"evidence-description": "Nothing"})
    assert response.status_code == 400
    assert response.context["evidence_form"].errors["file"] == ["This field is required."]
    assert not Evidence.objects.exists()


# Assessment and credit hold


def test_collector_records_cause_and_disposition(client, dealer, collector):
    client.force_login(collector)
    post(
        client,
        "assessment",
        {"assessment-default_cause": "tight_funds", "assessment-disposition": "willing_unable"},
    )
    account = CollectionAccount.objects.get(dealer=dealer)
    assert (account.default_cause, account.disposition) == ("tight_funds", "willing_unable")


def test_unknown_cause_is_refused(client, dealer, collector):
    client.force_login(collector)
    response = post(client, "assessment", {"assessment-default_cause": "laziness"})
    assert response.status_code == 400
    assert response.context["assessment_form"].errors["default_cause"]
    assert not CollectionAccount.objects.filter(default_cause="laziness").exists()


def test_collector_may_not_override_a_credit_hold(client, dealer, collector):
    client.force_login(collector)
    response = post(
        client, "credit-override", {"override-until": "2026-03-31", "override-reason": "Harvest"}
    )
    assert response.status_code == 403
    assert "Only a collection manager may override a credit hold." in response.content.decode()
    assert not CollectionAccount.objects.filter(credit_hold_override_until__isnull=False).exists()


def test_manager_overrides_a_credit_hold(client, dealer, manager):
    dealer.credit_limit = Decimal("1000.00")
    dealer.save()
    client.force_login(manager)
    before = client.get(URL)
    assert before.context["credit"].credit_hold
    assert "over the credit limit" in before.content.decode()
    response = post(
        client,
        "credit-override",
        {"override-until": "2026-03-31", "override-reason": "Harvest money due"},
        follow=True,
    )
    assert "Hold overridden by a manager until 31 Mar 2026" in response.content.decode()
