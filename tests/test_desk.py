"""The manager's team desk (/desk/): who may open it, each section's figures equal to the
API's for the same days, each collector's load, the alerts and overrides read live, a
missing exchange rate shown rather than failing, the figures kept in the cache (and
recomputed by a manager or the Celery task), and a query count that does not grow with
the book, with the cache warm or cold."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from dunning import desk
from dunning.models import Alert, CollectionAccount, ContactLog, Promise, Stage
from dunning.tasks import refresh_team_desk
from receivables.allocation import reallocate_dealers
from receivables.models import Dealer, ExchangeRate, Order
from tests.collection_helpers import NOW, TODAY, overdue_dealer
from tests.factories import DealerFactory, OrderFactory, PaymentFactory, UserFactory
from tests.test_page_query_counts import grow_book

DESK = "/desk/"
REFRESH = "/desk/refresh/"


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any) -> None:
    time_machine.move_to(NOW, tick=False)


def logged_in(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def czk_rate() -> None:
    ExchangeRate.objects.create(currency="CZK", on=dt.date(2024, 1, 1), rate=Decimal("0.04"))


def promise(dealer: Dealer, due_on: dt.date, amount: str, **fields: Any) -> Promise:
    fields.setdefault("made_on", min(due_on, TODAY) - dt.timedelta(days=5))
    return Promise.objects.create(
        dealer=dealer, amount=Decimal(amount), requested_due_on=due_on, due_on=due_on, **fields
    )


@pytest.fixture
def book(manager: Any, collector: Any, other_collector: Any) -> dict[str, Dealer]:
    """carl has an EUR dealer 40 days late who paid 100.00 this month and a CZK dealer 400
    days late; cora an EUR dealer 120 days late; nobody a dealer not yet due and one who
    bought 300.00 every month for a year and paid each order 10 days late (so that
    every month has sales and paid orders), the last one not yet due."""
    czk_rate()
    dealers = {
        "late": overdue_dealer(code="LATE", days=40, amount="1000.00", collector=collector),
        "czech": overdue_dealer(
            code="CZECH", days=400, amount="10000.00", currency="CZK", collector=collector
        ),
        "older": overdue_dealer(
            code="OLDER", days=120, amount="2000.00", collector=other_collector
        ),
        "fresh": DealerFactory(code="FRESH"),
        "steady": DealerFactory(code="STEADY"),
    }
    OrderFactory(dealer=dealers["fresh"], ordered_on=TODAY, due_on=TODAY + dt.timedelta(days=30))
    for year, month in [(2025, m) for m in range(4, 13)] + [(2026, 1), (2026, 2)]:
        ordered_on = dt.date(year, month, 5)
        OrderFactory(
            dealer=dealers["steady"],
            ordered_on=ordered_on,
            due_on=ordered_on + dt.timedelta(days=30),
            amount=Decimal("300.00"),
        )
        if ordered_on + dt.timedelta(days=40) <= TODAY:
            PaymentFactory(
                dealer=dealers["steady"],
                received_on=ordered_on + dt.timedelta(days=40),
                amount=Decimal("300.00"),
            )
    PaymentFactory(dealer=dealers["late"], received_on=dt.date(2026, 3, 1), amount="100.00")
    reallocate_dealers([dealer.pk for dealer in dealers.values()])
    promise(dealers["late"], dt.date(2026, 2, 10), "50.00", status=Promise.Status.KEPT)
    promise(dealers["older"], dt.date(2026, 2, 12), "50.00", status=Promise.Status.BROKEN)
    promise(dealers["late"], dt.date(2026, 3, 10), "300.00", made_on=TODAY, made_by=collector)
    ContactLog.objects.create(
        dealer=dealers["late"], channel="phone", at=NOW, outcome="reached", logged_by=collector
    )
    ContactLog.objects.create(  # last week's: not this week's load
        dealer=dealers["late"],
        channel="phone",
        at=NOW - dt.timedelta(days=4),
        outcome="reached",
        logged_by=collector,
    )
    ContactLog.objects.create(
        dealer=dealers["older"],
        channel="visit",
        at=NOW,
        outcome="refused",
        logged_by=other_collector,
    )
    return dealers


def figures_of(client: Client) -> desk.TeamFigures:
    response = client.get(DESK)
    assert response.status_code == 200
    return response.context["figures"]


# --- Who may open it -------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["manager", "finance", "auditor"])
def test_roles_that_see_the_whole_book_open_the_desk(role: str, request: Any) -> None:
    response = logged_in(request.getfixturevalue(role)).get(DESK)

    assert response.status_code == 200
    assert "Team desk" in response.content.decode()


@pytest.mark.parametrize("role", ["collector", "agency_user"])
def test_collectors_and_agencies_get_the_403_page(role: str, request: Any) -> None:
    response = logged_in(request.getfixturevalue(role)).get(DESK)

    assert response.status_code == 403
    assert "whole book" in response.content.decode()
    assert "figures" not in (response.context or {})


def test_the_desk_needs_a_login(db: Any) -> None:
    response = Client().get(DESK)

    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_only_the_roles_whose_visible_dealers_are_the_whole_book_see_it(
    request: Any, collector: Any
) -> None:
    DealerFactory(collector=collector)
    DealerFactory()
    for role in ["manager", "finance", "auditor", "collector", "agency_user"]:
        user = request.getfixturevalue(role)
        everything = Dealer.objects.visible_to(user).count() == Dealer.objects.count()
        assert desk.sees_whole_book(user) == everything, role
    assert not desk.sees_whole_book(UserFactory())


# --- The figures, as the API gives them -----------------------------------------------------


def test_every_months_kpis_are_the_kpi_endpoints(manager: Any, book: dict[str, Dealer]) -> None:
    client = logged_in(manager)
    figures = figures_of(client)

    assert (figures.kpis[0].start, figures.kpis[0].end) == (
        dt.date(2025, 4, 1),
        dt.date(2025, 4, 30),
    )
    assert (figures.kpis[-1].start, figures.kpis[-1].end) == (dt.date(2026, 3, 1), TODAY)
    assert len(figures.kpis) == 12
    assert any(month.dso is not None for month in figures.kpis)
    assert any(month.broken_promise_rate is not None for month in figures.kpis)
    for month in figures.kpis:
        api = client.get(
            "/api/v1/reports/kpis", {"from": month.start.isoformat(), "to": month.end.isoformat()}
        ).json()
        shown = {
            "dso": month.dso,
            "cei": month.cei,
            "average_days_late": month.average_days_late,
            "broken_promise_rate": month.broken_promise_rate,
        }
        assert {k: None if v is None else str(v) for k, v in shown.items()} == {
            key: api[key] for key in shown
        }, month.start


def test_aging_allowance_and_forecast_are_the_apis(manager: Any, book: dict[str, Dealer]) -> None:
    client = logged_in(manager)
    figures = figures_of(client)

    aging = client.get("/api/v1/reports/aging").json()
    assert figures.aging is not None
    assert [(row.key, row.count, str(row.amount)) for row in figures.aging.rows] == [
        (b["key"], b["count"], b["amount"]) for b in aging["buckets"]
    ]
    # 900.00 + 10,000 CZK at 0.04 + 2,000.00 + 1,000.00 + 300.00
    assert str(figures.aging.amount) == aging["total"]["amount"] == "4600.00"
    assert {t.currency: str(t.amount) for t in figures.aging_by_currency} == {
        "CZK": "10000.00",
        "EUR": "4200.00",
    }

    allowance = client.get("/api/v1/reports/allowance").json()
    assert figures.allowance is not None
    assert [
        (r.risk_class, r.count, str(r.open_amount), str(r.rate_percent), str(r.allowance))
        for r in figures.allowance.rows
    ] == [
        (c["risk_class"], c["count"], c["open_amount"], c["rate_percent"], c["allowance"])
        for c in allowance["classes"]
    ]
    assert str(figures.allowance.allowance) == allowance["total"]["allowance"]

    forecast = client.get("/api/v1/reports/forecast").json()
    assert figures.forecast is not None
    assert [(w.key, str(w.promised), str(w.expected)) for w in figures.forecast.weeks] == [
        (w["week"], w["promised"], w["expected"]) for w in forecast["weeks"]
    ]
    assert len(figures.forecast.weeks) == 8
    # 300.00 due next week from a dealer who kept 1 of 1: all of it expected.
    assert (figures.forecast.weeks[1].promised, figures.forecast.weeks[1].expected) == (
        Decimal("300.00"),
        Decimal("300.00"),
    )


def test_the_book_by_stage_and_by_risk_class(manager: Any, book: dict[str, Dealer]) -> None:
    CollectionAccount.objects.create(dealer=book["older"], stage=Stage.HARD)

    figures = figures_of(logged_in(manager))

    stages = {row.key: row for row in figures.by_stage}
    assert list(stages) == [stage.value for stage in Stage]
    assert stages["hard"].dealers == 1
    assert stages["hard"].balance.converted == Decimal("2000.00")
    assert stages["current"].dealers == 4
    assert stages["current"].balance.converted == Decimal("2600.00")  # 900 + 400 + 1000 + 300
    assert stages["current"].overdue.converted == Decimal("1300.00")
    risks = {row.key: (row.dealers, row.balance.converted) for row in figures.by_risk}
    assert risks == {
        "uncollected": (2, Decimal("1300.00")),
        "in_collection": (1, Decimal("900.00")),
        "quasi_bad": (1, Decimal("2000.00")),
        "bad": (1, Decimal("400.00")),
        "dead": (0, Decimal("0")),
    }


def test_each_collectors_load(
    manager: Any, collector: Any, other_collector: Any, book: dict[str, Dealer]
) -> None:
    idle = UserFactory(role="collector", username="ida")

    response = logged_in(manager).get(DESK)

    loads = {load.user_id: load for load in response.context["figures"].collectors}
    carl = loads[collector.pk]
    assert (carl.dealers, carl.overdue_dealers) == (2, 2)
    assert carl.overdue.converted == Decimal("1300.00")  # 900.00 + 10,000 CZK at 0.04
    assert carl.overdue.by_currency == (("CZK", Decimal("10000.00")), ("EUR", Decimal("900.00")))
    assert (carl.contacts_this_week, carl.promises_this_week) == (1, 1)
    assert carl.recovered_this_month.converted == Decimal("100.00")
    cora = loads[other_collector.pk]
    assert (cora.dealers, cora.contacts_this_week, cora.promises_this_week) == (1, 1, 0)
    assert cora.recovered_this_month.converted == Decimal("0")
    assert loads[idle.pk].dealers == 0
    assert loads[None].dealers == 2  # FRESH and STEADY have no collector
    page = response.content.decode()
    assert f'href="/worklist/?collector={collector.pk}"' in page
    assert f'href="/worklist/?collector={other_collector.pk}"' in page


def test_the_page_draws_a_chart_beside_each_table(manager: Any, book: dict[str, Dealer]) -> None:
    page = logged_in(manager).get(DESK).content.decode()

    for chart in [
        "chart-aging",
        "chart-dso",
        "chart-cei",
        "chart-late",
        "chart-broken",
        "chart-stage",
        "chart-risk",
        "chart-collectors",
        "chart-allowance",
        "chart-forecast",
    ]:
        assert f'id="{chart}" ' in page, chart
        assert f'aria-labelledby="{chart}-title {chart}-desc"' in page
    assert page.count('role="img"') == 10
    assert "in_collection" not in page.replace('data-class="in_collection"', "")


# --- Alerts and overrides, read live ----------------------------------------------------


def test_managers_see_the_open_danger_signs_and_limitation_warnings(
    manager: Any, book: dict[str, Dealer]
) -> None:
    late, older = book["late"], book["older"]
    Alert.objects.create(dealer=late, kind=Alert.Kind.DEALER_EVENT, message="Moved to Bremen")
    Alert.objects.create(dealer=older, kind=Alert.Kind.LIMITATION, message="Time-barred soon")
    Alert.objects.create(dealer=late, kind=Alert.Kind.ESCALATION, message="Not this kind")
    Alert.objects.create(
        dealer=older,
        kind=Alert.Kind.DEALER_EVENT,
        message="Already seen",
        acknowledged_at=NOW,
        acknowledged_by=manager,
    )
    for n in range(11):
        Alert.objects.create(dealer=older, kind=Alert.Kind.DEALER_EVENT, message=f"Event {n}")

    response = logged_in(manager).get(DESK)

    assert response.context["alert_count"] == 13
    shown = [alert.message for alert in response.context["alerts"]]
    assert shown == [f"Event {n}" for n in range(10, 0, -1)]
    page = response.content.decode()
    assert 'href="/alerts/"' in page
    assert 'href="/dealers/OLDER/collection/"' in page
    assert "Already seen" not in page and "Not this kind" not in page


def test_alerts_are_not_on_the_desk_of_finance(finance: Any, book: dict[str, Dealer]) -> None:
    Alert.objects.create(dealer=book["late"], kind=Alert.Kind.DEALER_EVENT, message="Moved")

    page = logged_in(finance).get(DESK).content.decode()

    assert "Moved" not in page
    assert 'href="/alerts/"' not in page
    assert "Refresh now" not in page


def test_active_credit_overrides_are_listed_with_who_and_why(
    manager: Any, book: dict[str, Dealer]
) -> None:
    CollectionAccount.objects.create(
        dealer=book["older"],
        stage=Stage.HARD,
        credit_hold_override_until=TODAY + dt.timedelta(days=10),
        credit_hold_override_by=manager,
        credit_hold_override_reason="Pays weekly by transfer",
    )
    CollectionAccount.objects.create(
        dealer=book["late"],
        credit_hold_override_until=TODAY - dt.timedelta(days=1),
        credit_hold_override_by=manager,
        credit_hold_override_reason="Ended yesterday",
    )

    response = logged_in(manager).get(DESK)

    assert [a.dealer.code for a in response.context["overrides"]["page"]] == ["OLDER"]
    page = response.content.decode()
    assert "Pays weekly by transfer" in page and "Ended yesterday" not in page
    assert "12 Mar 2026" in page
    assert 'href="/dealers/OLDER/collection/"' in page
    # A manager ends it from the team's override page, one click away.
    account = CollectionAccount.objects.get(dealer=book["older"])
    assert f'href="/team/credit-overrides/#end-{account.pk}">End it now</a>' in page
    assert 'href="/team/credit-overrides/">All overrides</a>' in page


def test_overrides_are_paginated(manager: Any) -> None:
    for n in range(12):
        CollectionAccount.objects.create(
            dealer=DealerFactory(code=f"OV{n:02d}"),
            credit_hold_override_until=TODAY + dt.timedelta(days=n),
        )
    client = logged_in(manager)

    first = client.get(DESK)
    second = client.get(DESK, {"overrides": 2})

    assert first.context["overrides"]["page"].paginator.count == 12
    assert len(first.context["overrides"]["page"]) == 10
    assert [a.dealer.code for a in second.context["overrides"]["page"]] == ["OV10", "OV11"]
    assert "?overrides=2#desk-overrides" in first.content.decode()


def test_collectors_are_paginated(manager: Any) -> None:
    for n in range(22):
        DealerFactory(collector=UserFactory(role="collector", username=f"col{n:02d}"))
    client = logged_in(manager)

    first = client.get(DESK)
    second = client.get(DESK, {"collectors": 2, "overrides": 1})

    assert first.context["collectors"]["page"].paginator.count == 22
    assert [load.name for load in second.context["collectors"]["page"]] == ["col20", "col21"]
    assert "?collectors=2#desk-collectors" in first.content.decode()
    assert "?collectors=1&amp;overrides=1#desk-collectors" in second.content.decode()


# --- Money across currencies -------------------------------------------------------------


def test_a_missing_rate_is_named_and_the_figures_shown_per_currency(
    manager: Any, collector: Any
) -> None:
    overdue_dealer(code="EUR1", days=40, amount="1000.00", collector=collector)
    overdue_dealer(code="CZK1", days=400, amount="10000.00", currency="CZK")
    promise(Dealer.objects.get(code="CZK1"), dt.date(2026, 3, 10), "700.00")

    response = logged_in(manager).get(DESK)

    assert response.status_code == 200
    figures = response.context["figures"]
    assert figures.missing_rates == ["CZK"]
    assert figures.aging is None and figures.allowance is None and figures.forecast is None
    assert {t.currency: t.amount for t in figures.aging_by_currency} == {
        "CZK": Decimal("10000.00"),
        "EUR": Decimal("1000.00"),
    }
    assert {t.currency: t.allowance for t in figures.allowance_by_currency} == {
        "CZK": Decimal("5000.00"),  # bad: 50 %
        "EUR": Decimal("50.00"),  # in collection: 5 %
    }
    assert {t.currency: t.promised for t in figures.forecast_by_currency} == {
        "CZK": Decimal("700.00"),
        "EUR": Decimal("0.00"),
    }
    assert figures.kpis[-1].converted is None
    assert {k.currency for k in figures.kpis[-1].by_currency} == {"CZK", "EUR"}
    risks = {row.key: row.balance for row in figures.by_risk}
    assert risks["bad"].converted is None
    assert risks["bad"].by_currency == (("CZK", Decimal("10000.00")),)
    assert risks["in_collection"].converted == Decimal("1000.00")
    page = response.content.decode()
    assert "No exchange rate to EUR for CZK" in page
    assert 'data-testid="aging-CZK"' in page and 'data-testid="allowance-CZK"' in page
    assert "10,000.00" in page


# --- The cache -------------------------------------------------------------------------------


@pytest.fixture
def computations(monkeypatch: Any) -> list[dt.date]:
    """The days the figures were computed for, each time they were."""
    done: list[dt.date] = []
    compute = desk.team_figures

    def counted(**kwargs: Any) -> desk.TeamFigures:
        done.append(kwargs["today"])
        return compute(**kwargs)

    monkeypatch.setattr(desk, "team_figures", counted)
    return done


def test_the_page_reads_the_figures_from_the_cache_for_five_minutes(
    manager: Any, book: dict[str, Dealer], computations: list[dt.date], time_machine: Any
) -> None:
    client = logged_in(manager)

    first = figures_of(client)
    OrderFactory(dealer=book["fresh"], ordered_on=TODAY, amount=Decimal("5000.00"))
    time_machine.move_to(NOW + dt.timedelta(seconds=desk.DESK_FIGURES_SECONDS - 10), tick=False)
    again = figures_of(client)
    time_machine.move_to(NOW + dt.timedelta(seconds=desk.DESK_FIGURES_SECONDS + 10), tick=False)
    later = figures_of(client)

    assert computations == [TODAY, TODAY]
    assert again.computed_at == first.computed_at == NOW
    assert again.aging is not None and again.aging.amount == Decimal("4600.00")
    assert later.aging is not None and later.aging.amount == Decimal("9600.00")
    assert cache.get(desk.cache_key(TODAY)) is not None
    assert desk.cache_key(TODAY).endswith("2026-03-02")


def test_the_page_says_when_the_figures_were_computed(manager: Any, db: Any) -> None:
    page = logged_in(manager).get(DESK).content.decode()

    assert "Figures as of 15:30." in page  # 14:30 UTC in Berlin


def test_a_manager_recomputes_the_figures_at_once(
    manager: Any, book: dict[str, Dealer], computations: list[dt.date], time_machine: Any
) -> None:
    client = logged_in(manager)
    figures_of(client)
    OrderFactory(dealer=book["fresh"], ordered_on=TODAY, amount=Decimal("5000.00"))
    time_machine.move_to(NOW + dt.timedelta(minutes=2), tick=False)

    response = client.post(REFRESH)

    assert response.status_code == 302
    assert response["Location"] == DESK
    page = client.get(DESK)
    figures = page.context["figures"]
    assert figures.aging is not None and figures.aging.amount == Decimal("9600.00")
    assert "Figures as of 15:32." in page.content.decode()
    assert "The figures have been recomputed." in page.content.decode()
    assert computations == [TODAY, TODAY]


@pytest.mark.parametrize("role", ["finance", "auditor", "collector"])
def test_only_managers_may_recompute(role: str, request: Any, computations: list[dt.date]) -> None:
    response = logged_in(request.getfixturevalue(role)).post(REFRESH)

    assert response.status_code == 403
    assert computations == []


def test_refresh_is_a_post(manager: Any, computations: list[dt.date]) -> None:
    assert logged_in(manager).get(REFRESH).status_code == 405
    assert computations == []


def test_the_celery_task_stores_the_figures_the_page_then_reads(
    manager: Any, book: dict[str, Dealer], computations: list[dt.date]
) -> None:
    computed_at = refresh_team_desk.apply(args=[TODAY.isoformat()]).get()

    figures = figures_of(logged_in(manager))

    assert computed_at == NOW.isoformat()
    assert computations == [TODAY]  # the task's; the page computed nothing
    assert figures.computed_at == NOW
    refresh_team_desk.apply().get()  # without a date: business today
    assert computations == [TODAY, TODAY]


def test_months_up_to_counts_back_across_the_new_year() -> None:
    months = desk.months_up_to(dt.date(2026, 2, 14), count=3)

    assert months == [
        (dt.date(2025, 12, 1), dt.date(2025, 12, 31)),
        (dt.date(2026, 1, 1), dt.date(2026, 1, 31)),
        (dt.date(2026, 2, 1), dt.date(2026, 2, 14)),
    ]


# --- Cost ------------------------------------------------------------------------------------


def test_the_desk_costs_the_same_queries_for_10_and_200_dealers(
    manager: Any, collector: Any
) -> None:
    czk_rate()
    client = logged_in(manager)

    def queries(*, warm: bool) -> int:
        client.get(DESK)  # the policy row, the session: what fills once
        if not warm:
            cache.clear()
        with CaptureQueriesContext(connection) as captured:
            response = client.get(DESK)
        assert response.status_code == 200
        return len(captured)

    grow_book(10, collector=collector, requester=collector)
    for n, alert in enumerate(Alert.objects.all()):
        alert.kind = Alert.Kind.DEALER_EVENT if n % 2 else Alert.Kind.LIMITATION
        alert.save()
    small = {"warm": queries(warm=True), "cold": queries(warm=False)}
    grow_book(200, collector=collector, requester=collector)
    Alert.objects.update(kind=Alert.Kind.DEALER_EVENT)
    large = {"warm": queries(warm=True), "cold": queries(warm=False)}

    assert Dealer.objects.count() == 200 and Order.objects.count() == 600
    assert large == small
    assert small["warm"] <= 8
