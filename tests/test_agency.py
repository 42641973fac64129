"""The agency portal: an agency user works the dealers placed with its agency on its own
pages (worklist, dealer, commission), records contacts, promises and recoveries there,
and sees nothing internal anywhere it can reach (the shared worklist and the collection
panel send it away; the dealer pages and the API show no risk class)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning.agency import commission_months, commission_totals, received_while_placed
from dunning.models import CollectionAccount, ContactLog, Promise, Stage, StageChange
from dunning.services import PermissionDenied
from dunning.services.agency import RECOVERY_METHOD, record_recovery
from dunning.services.errors import InvalidInput
from receivables.models import Agency, ApiToken, Dealer, ExchangeRate, Payment
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer
from tests.factories import AgencyFactory, ContactFactory, PaymentFactory, UserFactory
from tests.test_page_query_counts import grow_book

# Words only internal pages show: none may reach an agency user.
INTERNAL_WORDS = ["Priority", "Risk", "risk class", "Quasi-bad", "Escalat", "Assessment"]


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


@pytest.fixture
def agency(agency_user: Any) -> Agency:
    agency = Agency.objects.get(users=agency_user)
    agency.commission_percent = Decimal("12.50")
    agency.save()
    return agency


def place(dealer: Dealer, agency: Agency, *, on: dt.date = TODAY - dt.timedelta(days=20)) -> Dealer:
    """Put the dealer's account in `agency` as a placement on `on` would have."""
    account_in(dealer, Stage.AGENCY)
    StageChange.objects.create(
        dealer=dealer, from_stage=Stage.HARD, to_stage=Stage.AGENCY, on=on, reason="Placed"
    )
    dealer.agency = agency
    dealer.save(update_fields=["agency"])
    return dealer


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def placed(agency: Agency, collector: Any) -> Dealer:
    dealer = overdue_dealer(
        days=90,
        amount="2500.00",
        code="D-PLACED",
        name="Hof Brandt",
        city="Kiel",
        collector=collector,
    )
    return place(dealer, agency)


# --- The worklist ---------------------------------------------------------------------------


def test_worklist_shows_only_the_agencys_placed_dealers_and_nothing_internal(
    placed: Dealer, agency: Agency, agency_user: Any, collector: Any
) -> None:
    other_agency = AgencyFactory(name="Southern Recovery")
    place(overdue_dealer(days=50, code="D-SOUTH"), other_agency)
    overdue_dealer(days=50, code="D-INHOUSE", collector=collector)
    ContactLog.objects.create(
        dealer=placed,
        channel="phone",
        at=NOW - dt.timedelta(days=2),
        outcome="reached",
        logged_by=agency_user,
    )
    Promise.objects.create(
        dealer=placed,
        amount=Decimal("700.00"),
        requested_due_on=TODAY + dt.timedelta(days=5),
        due_on=TODAY + dt.timedelta(days=5),
        made_on=TODAY,
        made_by=agency_user,
    )

    response = client_for(agency_user).get("/agency/")

    assert response.status_code == 200
    page = response.content.decode()
    assert [d.code for d in response.context["dealers"]] == ["D-PLACED"]
    row = response.context["dealers"][0]
    assert (row.balance, row.overdue, row.days_past_due) == (
        Decimal("2500.00"),
        Decimal("2500.00"),
        90,
    )
    assert row.placed_since == TODAY - dt.timedelta(days=20)
    assert row.last_contact_at == NOW - dt.timedelta(days=2)
    assert (row.promise_amount, row.promise_due_on) == (
        Decimal("700.00"),
        TODAY + dt.timedelta(days=5),
    )
    assert "Hof Brandt" in page and "2,500.00" in page and "EUR" in page
    assert "D-SOUTH" not in page and "D-INHOUSE" not in page
    for word in INTERNAL_WORDS:
        assert word not in page, word


def test_worklist_sorts_and_searches_in_the_database(agency: Agency, agency_user: Any) -> None:
    place(overdue_dealer(days=30, amount="900.00", code="A-1", name="Zeta Agrar"), agency)
    place(overdue_dealer(days=120, amount="100.00", code="A-2", name="Alpha Mühle"), agency)
    place(overdue_dealer(days=60, amount="5000.00", code="A-3", name="Beta Futter"), agency)
    client = client_for(agency_user)

    def codes(query: str) -> list[str]:
        return [d.code for d in client.get("/agency/" + query).context["dealers"]]

    assert codes("") == ["A-3", "A-1", "A-2"]
    assert codes("?sort=oldest") == ["A-2", "A-3", "A-1"]
    assert codes("?sort=name") == ["A-2", "A-3", "A-1"]
    assert codes("?q=futter") == ["A-3"]
    assert codes("?q=nothing-like-it") == []
    assert codes("?sort=bogus") == ["A-3", "A-1", "A-2"]


@pytest.mark.parametrize("role", ["manager", "collector", "finance", "auditor"])
def test_agency_pages_are_refused_to_other_roles(role: str, placed: Dealer, request: Any) -> None:
    client = client_for(request.getfixturevalue(role))

    for url in ("/agency/", "/agency/dealers/D-PLACED/", "/agency/commission/"):
        assert client.get(url).status_code == 403, url
    assert client.post("/agency/dealers/D-PLACED/recovery/", {}).status_code == 403


def test_agency_pages_ask_anonymous_users_to_log_in() -> None:
    response = Client().get("/agency/")

    assert response.status_code == 302 and "/login/" in response["Location"]


def _bulk_place(agency: Agency, agency_user: Any) -> None:
    """Place every dealer of the grown book with the agency, each with a contact and a
    promise by the agency and a payment received after the placement."""
    dealers = list(Dealer.objects.filter(agency__isnull=True))
    CollectionAccount.objects.filter(dealer__in=dealers).update(stage=Stage.AGENCY)
    StageChange.objects.bulk_create(
        [
            StageChange(
                dealer=d,
                from_stage=Stage.HARD,
                to_stage=Stage.AGENCY,
                on=TODAY - dt.timedelta(days=200),
                reason="Placed",
            )
            for d in dealers
        ]
    )
    Dealer.objects.filter(pk__in=[d.pk for d in dealers]).update(agency=agency)
    ContactLog.objects.bulk_create(
        [
            ContactLog(dealer=d, channel="phone", at=NOW, outcome="reached", logged_by=agency_user)
            for d in dealers
        ]
    )
    Promise.objects.bulk_create(
        [
            Promise(
                dealer=d,
                amount=Decimal("10.00"),
                requested_due_on=TODAY,
                due_on=TODAY,
                made_on=TODAY,
                made_by=agency_user,
            )
            for d in dealers
        ]
    )


def queries_of(client: Client, url: str) -> int:
    client.get(url)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured)


def test_agency_pages_cost_the_same_queries_for_10_and_200_placed_dealers(
    agency: Agency, agency_user: Any, collector: Any
) -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))
    client = client_for(agency_user)
    pages = [
        "/agency/",
        "/agency/?page=2",
        "/agency/?sort=oldest&q=QC0",
        "/agency/?sort=name",
        "/agency/dealers/QC0001/",
        "/agency/commission/",
    ]

    grow_book(10, collector=collector, requester=collector)
    _bulk_place(agency, agency_user)
    small = {url: queries_of(client, url) for url in pages}
    grow_book(200, collector=collector, requester=collector)
    _bulk_place(agency, agency_user)
    large = {url: queries_of(client, url) for url in pages}

    assert Dealer.objects.filter(agency=agency).count() == 200
    assert large == small
    assert client.get("/agency/?page=4").context["page"].paginator.num_pages == 4


# --- One dealer -----------------------------------------------------------------------------


def test_dealer_page_shows_only_what_the_agency_logged(
    placed: Dealer, agency_user: Any, collector: Any
) -> None:
    ContactFactory(dealer=placed, name="Jens Brandt", phone="+49 431 555")
    colleague = UserFactory(role="agency", username="agatha")
    ContactLog.objects.create(
        dealer=placed,
        channel="phone",
        at=NOW,
        outcome="reached",
        logged_by=colleague,
        note="Agency call: pays Friday",
    )
    ContactLog.objects.create(
        dealer=placed,
        channel="phone",
        at=NOW,
        outcome="reached",
        logged_by=collector,
        note="Collector internal note",
    )
    Promise.objects.create(
        dealer=placed,
        amount=Decimal("333.00"),
        requested_due_on=TODAY,
        due_on=TODAY,
        made_on=TODAY,
        made_by=collector,
        note="Promise to the collector",
    )

    response = client_for(agency_user).get("/agency/dealers/D-PLACED/")

    page = response.content.decode()
    assert response.status_code == 200
    assert "Jens Brandt" in page and "Kiel" in page
    assert "Agency call: pays Friday" in page
    assert "Collector internal note" not in page
    assert "Promise to the collector" not in page and "333.00" not in page
    assert len(response.context["items_page"].object_list) == 1
    for word in INTERNAL_WORDS:
        assert word not in page, word


def test_a_dealer_not_placed_with_the_agency_is_not_found(agency_user: Any, collector: Any) -> None:
    overdue_dealer(code="D-INHOUSE", collector=collector)
    place(overdue_dealer(code="D-SOUTH"), AgencyFactory(name="Southern Recovery"))
    client = client_for(agency_user)

    assert client.get("/agency/dealers/D-INHOUSE/").status_code == 404
    assert client.get("/agency/dealers/D-SOUTH/").status_code == 404
    assert client.post("/agency/dealers/D-SOUTH/recovery/", {}).status_code == 404


def test_agency_logs_a_contact(placed: Dealer, agency_user: Any) -> None:
    client = client_for(agency_user)
    response = client.post(
        "/agency/dealers/D-PLACED/contact/",
        {
            "contact-channel": "phone",
            "contact-at": "2026-03-02T10:15",
            "contact-outcome": "reached",
            "contact-note": "Will pay half next week",
        },
    )

    assert response.status_code == 302
    contact = ContactLog.objects.get(dealer=placed)
    assert (contact.logged_by, contact.note) == (agency_user, "Will pay half next week")


def test_a_contact_in_the_future_is_a_form_error(placed: Dealer, agency_user: Any) -> None:
    response = client_for(agency_user).post(
        "/agency/dealers/D-PLACED/contact/",
        {
            "contact-channel": "phone",
            "contact-at": "2026-03-09T10:15",
            "contact-outcome": "reached",
        },
    )

    assert response.status_code == 400
    assert response.context["contact_form"].errors["at"]
    assert not ContactLog.objects.exists()


def test_agency_records_a_promise(placed: Dealer, agency_user: Any) -> None:
    response = client_for(agency_user).post(
        "/agency/dealers/D-PLACED/promise/",
        {"promise-amount": "800.00", "promise-due_on": "2026-03-10"},
    )

    assert response.status_code == 302
    promise = Promise.objects.get(dealer=placed)
    assert (promise.amount, promise.made_by) == (Decimal("800.00"), agency_user)


def test_agency_records_a_recovery(placed: Dealer, agency_user: Any) -> None:
    response = client_for(agency_user).post(
        "/agency/dealers/D-PLACED/recovery/",
        {
            "recovery-reference": "NRL-2026-0042",
            "recovery-received_on": "2026-03-01",
            "recovery-amount": "1000.00",
        },
    )

    assert response.status_code == 302
    payment = Payment.objects.get(reference="NRL-2026-0042")
    assert (payment.dealer, payment.amount, payment.method) == (
        placed,
        Decimal("1000.00"),
        RECOVERY_METHOD,
    )
    assert payment.history.get().history_user == agency_user
    assert Dealer.objects.with_balance(TODAY).get(pk=placed.pk).balance == Decimal("1500.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (
            {
                "recovery-reference": "PAY-OLD",
                "recovery-received_on": "2026-03-01",
                "recovery-amount": "10.00",
            },
            "reference",
        ),
        (
            {
                "recovery-reference": "NEW-1",
                "recovery-received_on": "2026-03-03",
                "recovery-amount": "10.00",
            },
            "received_on",
        ),
        (
            {
                "recovery-reference": "NEW-1",
                "recovery-received_on": "2026-01-01",
                "recovery-amount": "10.00",
            },
            "received_on",
        ),
        (
            {
                "recovery-reference": "NEW-1",
                "recovery-received_on": "2026-03-01",
                "recovery-amount": "-5",
            },
            "amount",
        ),
        (
            {
                "recovery-reference": "NEW-1",
                "recovery-received_on": "not a date",
                "recovery-amount": "10.00",
            },
            "received_on",
        ),
        (
            {
                "recovery-reference": "",
                "recovery-received_on": "2026-03-01",
                "recovery-amount": "10.00",
            },
            "reference",
        ),
    ],
    ids=["existing-reference", "future", "before-placement", "negative", "bad-date", "empty"],
)
def test_a_bad_recovery_is_a_form_error_and_changes_nothing(
    placed: Dealer, agency_user: Any, body: dict[str, str], field: str
) -> None:
    PaymentFactory(reference="PAY-OLD", dealer=overdue_dealer(code="D-ELSE"))

    response = client_for(agency_user).post("/agency/dealers/D-PLACED/recovery/", body)

    assert response.status_code == 400
    assert response.context["recovery_form"].errors[field]
    assert list(Payment.objects.values_list("reference", flat=True)) == ["PAY-OLD"]


def test_record_recovery_refuses_dealers_not_placed_with_the_users_agency(
    placed: Dealer, agency_user: Any, collector: Any
) -> None:
    other = place(overdue_dealer(code="D-SOUTH"), AgencyFactory(name="Southern Recovery"))
    recovery = {"reference": "R-1", "received_on": TODAY, "amount": Decimal("1.00"), "today": TODAY}

    with pytest.raises(PermissionDenied):
        record_recovery(dealer=other, agency_user=agency_user, **recovery)
    with pytest.raises(PermissionDenied):
        record_recovery(dealer=placed, agency_user=collector, **recovery)
    with pytest.raises(InvalidInput, match="placed with your agency on"):
        record_recovery(
            dealer=placed,
            agency_user=agency_user,
            **{**recovery, "received_on": TODAY - dt.timedelta(days=30)},
        )
    assert not Payment.objects.exists()


# --- Commission -----------------------------------------------------------------------------


def test_commission_counts_money_received_while_placed_by_month_and_currency(
    agency: Agency, agency_user: Any
) -> None:
    eur = place(overdue_dealer(code="E-1"), agency, on=dt.date(2026, 1, 15))
    czk = place(
        overdue_dealer(code="C-1", currency="CZK", country="CZ"), agency, on=dt.date(2026, 2, 1)
    )
    gone = place(overdue_dealer(code="G-1"), agency, on=dt.date(2026, 1, 1))
    StageChange.objects.create(
        dealer=gone,
        from_stage=Stage.AGENCY,
        to_stage=Stage.WRITTEN_OFF,
        on=dt.date(2026, 2, 15),
        reason="Written off",
    )
    other = place(
        overdue_dealer(code="S-1"), AgencyFactory(name="Southern Recovery"), on=dt.date(2026, 1, 1)
    )
    for dealer, day, amount in [
        (eur, dt.date(2026, 1, 10), "999.00"),  # before the placement
        (eur, dt.date(2026, 1, 20), "1000.00"),
        (eur, dt.date(2026, 2, 5), "500.00"),
        (czk, dt.date(2026, 2, 10), "10000.00"),
        (gone, dt.date(2026, 2, 1), "200.00"),
        (gone, dt.date(2026, 2, 20), "777.00"),  # after the account left the stage
        (other, dt.date(2026, 2, 1), "555.00"),  # another agency's
    ]:
        PaymentFactory(dealer=dealer, received_on=day, amount=Decimal(amount))

    assert sorted(received_while_placed(agency).values_list("amount", flat=True)) == [
        Decimal("200.00"),
        Decimal("500.00"),
        Decimal("1000.00"),
        Decimal("10000.00"),
    ]
    totals = {
        line.currency: (line.received, line.commission)
        for line in commission_totals(commission_months(agency), agency)
    }
    assert totals == {
        "CZK": (Decimal("10000.00"), Decimal("1250.00")),
        "EUR": (Decimal("1700.00"), Decimal("212.50")),
    }

    response = client_for(agency_user).get("/agency/commission/")

    assert response.status_code == 200
    months = [(line.month, line.currency, line.received) for line in response.context["lines"]]
    assert months == [
        (dt.date(2026, 2, 1), "CZK", Decimal("10000.00")),
        (dt.date(2026, 2, 1), "EUR", Decimal("700.00")),
        (dt.date(2026, 1, 1), "EUR", Decimal("1000.00")),
    ]
    page = response.content.decode()
    assert "1,250.00 CZK" in page and "212.50 EUR" in page


# --- What agencies are kept from ------------------------------------------------------------


def test_shared_worklist_sends_agency_users_to_their_own(agency_user: Any) -> None:
    response = client_for(agency_user).get("/worklist/")

    assert response.status_code == 302 and response["Location"] == "/agency/"


def test_collection_panel_is_refused_to_agency_users(placed: Dealer, agency_user: Any) -> None:
    client = client_for(agency_user)

    assert client.get("/dealers/D-PLACED/collection/").status_code == 403
    response = client.post(
        "/dealers/D-PLACED/collection/contact/",
        {
            "contact-channel": "phone",
            "contact-at": "2026-03-02T10:15",
            "contact-outcome": "reached",
        },
    )
    assert response.status_code == 403
    assert client.post("/dealers/D-PLACED/collection/plan/", {}).status_code == 403
    assert not ContactLog.objects.exists()


def test_dealer_list_and_detail_show_agency_users_nothing_internal(
    placed: Dealer, agency_user: Any
) -> None:
    client = client_for(agency_user)

    for url in ("/dealers/", "/dealers/D-PLACED/"):
        response = client.get(url)
        page = response.content.decode()
        assert response.status_code == 200, url
        assert "D-PLACED" in page
        for word in INTERNAL_WORDS:
            assert word not in page, (url, word)


def test_api_dealer_answer_hides_the_risk_class_from_agency_users(
    placed: Dealer, agency_user: Any, manager: Any
) -> None:
    def api_as(user: Any) -> Client:
        _, raw = ApiToken.issue(user)
        return Client(headers={"authorization": f"Bearer {raw}"})

    as_agency = api_as(agency_user).get("/api/v1/dealers/D-PLACED")
    as_manager = api_as(manager).get("/api/v1/dealers/D-PLACED")

    assert as_agency.status_code == 200 and as_agency.json()["risk_class"] is None
    assert as_agency.json()["stage"] == "agency"
    assert as_manager.json()["risk_class"] == "bad"  # 90 days past due, placed
