"""The dealer list: scoping, search, filters, sorting, pagination, htmx fragment."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from receivables.allocation import reallocate_dealers
from tests.factories import (
    AgencyFactory,
    DealerFactory,
    OrderFactory,
    PaymentFactory,
    UserFactory,
)

TODAY = dt.date(2026, 3, 16)


@pytest.fixture(autouse=True)
def business_day(time_machine):
    # 10:00 in Berlin, the default business time zone.
    time_machine.move_to(dt.datetime(2026, 3, 16, 9, 0, tzinfo=dt.UTC), tick=False)


def overdue_dealer(days_late: int, amount: str = "1000.00", **dealer_fields):
    """A dealer with one order `days_late` days past due today."""
    dealer = DealerFactory(**dealer_fields)
    due_on = TODAY - dt.timedelta(days=days_late)
    OrderFactory(
        dealer=dealer,
        ordered_on=due_on - dt.timedelta(days=30),
        due_on=due_on,
        amount=Decimal(amount),
    )
    return dealer


def codes_in(response) -> list[str]:
    return [dealer.code for dealer in response.context["dealers"]]


def test_collector_sees_only_own_dealers(client, collector, other_collector):
    DealerFactory(code="MINE", collector=collector)
    DealerFactory(code="THEIRS", collector=other_collector)
    client.force_login(collector)
    response = client.get("/dealers/")
    assert codes_in(response) == ["MINE"]
    assert "THEIRS" not in response.content.decode()


def test_manager_sees_every_dealer(client, manager, collector, other_collector):
    DealerFactory(code="A1", collector=collector)
    DealerFactory(code="B1", collector=other_collector)
    DealerFactory(code="C1", collector=None)
    client.force_login(manager)
    assert sorted(codes_in(client.get("/dealers/"))) == ["A1", "B1", "C1"]


def test_agency_sees_only_dealers_placed_with_it(client, agency_user):
    agency = agency_user.agencies.get()
    DealerFactory(code="PLACED", agency=agency)
    DealerFactory(code="ELSEWHERE", agency=AgencyFactory(name="Other Agency"))
    DealerFactory(code="INHOUSE")
    client.force_login(agency_user)
    assert codes_in(client.get("/dealers/")) == ["PLACED"]


def test_search_matches_code_or_name(client, manager):
    DealerFactory(code="HAM-01", name="Hofmann Futtermittel")
    DealerFactory(code="BRE-02", name="Agrarhandel Hamelmann")
    DealerFactory(code="MUC-03", name="Bayern Feed")
    client.force_login(manager)
    assert sorted(codes_in(client.get("/dealers/?q=ham"))) == ["BRE-02", "HAM-01"]
    assert codes_in(client.get("/dealers/?q=bayern")) == ["MUC-03"]


def test_filters_by_region_country_and_collector(client, manager, collector, other_collector):
    DealerFactory(code="N-DE", region="North", country="DE", collector=collector)
    DealerFactory(code="S-DE", region="South", country="DE", collector=other_collector)
    DealerFactory(code="N-PL", region="North", country="PL", collector=other_collector)
    client.force_login(manager)
    assert sorted(codes_in(client.get("/dealers/?region=North"))) == ["N-DE", "N-PL"]
    assert sorted(codes_in(client.get("/dealers/?country=DE"))) == ["N-DE", "S-DE"]
    response = client.get(f"/dealers/?collector={other_collector.pk}&region=North")
    assert codes_in(response) == ["N-PL"]


def test_overdue_only_leaves_out_dealers_with_nothing_past_due(client, manager):
    overdue_dealer(10, code="LATE")
    not_due = DealerFactory(code="NOTDUE")
    OrderFactory(dealer=not_due, ordered_on=TODAY, due_on=TODAY + dt.timedelta(days=30))
    DealerFactory(code="CLEAN")
    client.force_login(manager)
    assert codes_in(client.get("/dealers/?overdue=on")) == ["LATE"]


def test_age_filter_keeps_dealers_with_an_item_in_that_bucket(client, manager):
    overdue_dealer(15, code="AGE15")
    overdue_dealer(45, code="AGE45")
    overdue_dealer(400, code="AGE400")
    client.force_login(manager)
    assert codes_in(client.get("/dealers/?age=31-60")) == ["AGE45"]
    assert codes_in(client.get("/dealers/?age=366-730")) == ["AGE400"]
    assert codes_in(client.get("/dealers/?age=current")) == []


def test_default_sort_puts_the_largest_overdue_first(client, manager):
    overdue_dealer(5, "100.00", code="SMALL")
    overdue_dealer(5, "9000.00", code="LARGE")
    DealerFactory(code="NONE")
    client.force_login(manager)
    assert codes_in(client.get("/dealers/")) == ["LARGE", "SMALL", "NONE"]


def test_sort_by_oldest_due_date_puts_dealers_without_overdue_last(client, manager):
    overdue_dealer(5, code="RECENT")
    overdue_dealer(90, code="OLD")
    DealerFactory(code="AAA-CLEAN")
    client.force_login(manager)
    assert codes_in(client.get("/dealers/?sort=oldest")) == ["OLD", "RECENT", "AAA-CLEAN"]
    assert codes_in(client.get("/dealers/?sort=code")) == ["AAA-CLEAN", "OLD", "RECENT"]
    assert codes_in(client.get("/dealers/?sort=-code")) == ["RECENT", "OLD", "AAA-CLEAN"]


def test_row_shows_balance_overdue_oldest_due_and_days_past_due(client, manager):
    dealer = overdue_dealer(45, "1234567.50", code="ROW")
    OrderFactory(dealer=dealer, ordered_on=TODAY, due_on=TODAY + dt.timedelta(days=30))
    client.force_login(manager)
    body = client.get("/dealers/").content.decode()
    assert "1,235,567.50" in body  # balance
    assert "1,234,567.50" in body  # overdue
    assert "30 Jan 2026" in body  # oldest due, TODAY - 45 days, in the medium format
    assert '<td class="num">45</td>' in body


def test_list_is_paginated_by_25_with_page_links(client, manager):
    for n in range(30):
        DealerFactory(code=f"P{n:02d}")
    client.force_login(manager)
    first = client.get("/dealers/?sort=code")
    assert codes_in(first) == [f"P{n:02d}" for n in range(25)]
    body = first.content.decode()
    assert 'aria-label="Page 2"' in body
    assert "?sort=code&amp;page=2" in body
    second = client.get("/dealers/?sort=code&page=2")
    assert codes_in(second) == [f"P{n:02d}" for n in range(25, 30)]


def test_page_out_of_range_shows_the_last_page(client, manager):
    for n in range(30):
        DealerFactory(code=f"P{n:02d}")
    client.force_login(manager)
    assert client.get("/dealers/?page=99").context["page"].number == 2
    assert client.get("/dealers/?page=abc").context["page"].number == 1


def test_unknown_filter_value_is_shown_next_to_the_field(client, manager):
    DealerFactory(code="X1", region="North")
    client.force_login(manager)
    response = client.get("/dealers/?region=Atlantis&sort=sideways")
    assert response.status_code == 200
    body = response.content.decode()
    assert 'id="id_region_error"' in body
    assert 'id="id_sort_error"' in body
    assert codes_in(response) == ["X1"]


def test_filter_choices_come_from_visible_dealers_only(client, collector, other_collector):
    DealerFactory(code="MINE", collector=collector, region="North")
    DealerFactory(code="THEIRS", collector=other_collector, region="Secret Valley")
    client.force_login(collector)
    body = client.get("/dealers/").content.decode()
    assert "Secret Valley" not in body
    assert 'name="collector"' not in body


def test_htmx_request_gets_only_the_table(client, manager):
    DealerFactory(code="FRAG")
    client.force_login(manager)
    response = client.get("/dealers/?q=FRAG", headers={"HX-Request": "true"})
    body = response.content.decode()
    assert "<html" not in body
    assert "FRAG" in body
    assert 'hx-swap-oob="true"' in body
    assert "HX-Request" in response["Vary"]


def test_htmx_history_restore_gets_the_whole_page(client, manager):
    client.force_login(manager)
    response = client.get(
        "/dealers/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"}
    )
    assert "<html" in response.content.decode()


def test_without_javascript_the_filter_form_is_a_plain_get_form(client, manager):
    client.force_login(manager)
    body = client.get("/dealers/").content.decode()
    assert 'method="get" action="/dealers/"' in body
    assert '<button type="submit" class="primary">Apply</button>' in body


def _ledger_of(count: int, collector) -> None:
    for _ in range(count):
        dealer = overdue_dealer(40, collector=collector)
        PaymentFactory(dealer=dealer, received_on=TODAY, amount=Decimal("100.00"))
    reallocate_dealers(dealer.pk for dealer in collector.dealers.all())


def test_query_count_does_not_grow_with_the_number_of_dealers(
    client, collector, django_assert_num_queries
):
    client.force_login(collector)
    _ledger_of(3, collector)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get("/dealers/").context["dealers"]) == 3
    _ledger_of(27, collector)
    with django_assert_num_queries(len(small)):
        assert len(client.get("/dealers/").context["dealers"]) == 25


def test_query_count_with_filters_does_not_grow_either(client, manager, django_assert_num_queries):
    other = UserFactory(role="collector", username="colin")
    client.force_login(manager)
    url = f"/dealers/?q=Dealer&collector={other.pk}&overdue=on&age=31-60&sort=oldest"
    _ledger_of(3, other)
    with CaptureQueriesContext(connection) as small:
        assert len(client.get(url).context["dealers"]) == 3
    _ledger_of(27, other)
    with django_assert_num_queries(len(small)):
        assert len(client.get(url).context["dealers"]) == 25
