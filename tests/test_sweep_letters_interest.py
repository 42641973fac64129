"""Letters, interest and limitation warnings made by the daily sweep (issue 3, "Policy as data";
"Firm from the first word", docs/PRACTICE.md §1; "Interest after written notice", docs/PRACTICE.md
§13; "Limitation", docs/PRACTICE.md §16)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core import mail

from dunning.models import (
    Alert,
    CollectionAccount,
    InterestCharge,
    Letter,
    Stage,
    Task,
)
from dunning.sweep import run_sweep
from dunning.sweep.rules import interest_amount, interest_period
from receivables.dates import add_years
from receivables.models import Order
from tests.factories import OrderFactory, PaymentFactory, UserFactory
from tests.sweep_helpers import (
    DAY,
    D,
    account,
    interest_orders,
    overdue_dealer,
    pay,
    promise,
    stage_of,
    table_counts,
)

pytestmark = pytest.mark.django_db

ONE_BATCH = 10**9
TODAY = D(2026, 3, 10)  # a Tuesday


def sweep(today: dt.date = TODAY) -> None:
    run_sweep(today=today, batch_size=ONE_BATCH)


def letters_of(dealer) -> list[tuple[str, int, dt.date]]:
    return [
        (x.kind, x.level, x.issued_on) for x in Letter.objects.filter(dealer=dealer).order_by("id")
    ]


# Letters --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("days", "expected"),
    [
        (6, []),
        (7, [(Letter.Kind.REMINDER, 1)]),
        (20, [(Letter.Kind.REMINDER, 1)]),
        # However late the dealer is when first seen, the first letter is the first reminder.
        (21, [(Letter.Kind.REMINDER, 1)]),
        (45, [(Letter.Kind.REMINDER, 1)]),
        (120, [(Letter.Kind.REMINDER, 1)]),
    ],
)
def test_the_first_letter_of_an_episode_is_the_first_reminder(days, expected):
    dealer = overdue_dealer(today=TODAY, days=days, stage=Stage.SOFT, cycle_started_on=TODAY)

    sweep()

    assert [(kind, level) for kind, level, _ in letters_of(dealer)] == expected


def test_levels_go_up_one_at_a_time_at_least_the_spacing_apart():
    """Reminder 1 at 7 days late, reminder 2 once 21 days late and 14 days after the first,
    the final demand once 45 days late and 14 days after the second."""
    dealer = overdue_dealer(today=TODAY, days=7, stage=Stage.REMINDER, cycle_started_on=TODAY)

    for offset in range(0, 45):
        sweep(TODAY + offset * DAY)

    assert letters_of(dealer) == [
        (Letter.Kind.REMINDER, 1, TODAY),
        (Letter.Kind.REMINDER, 2, TODAY + 14 * DAY),
        (Letter.Kind.FINAL_DEMAND, 3, TODAY + 38 * DAY),
    ]


def test_a_late_dealer_waits_the_spacing_between_letters():
    dealer = overdue_dealer(today=TODAY, days=60, stage=Stage.SOFT, cycle_started_on=TODAY)

    for offset in range(0, 29):
        sweep(TODAY + offset * DAY)

    assert letters_of(dealer) == [
        (Letter.Kind.REMINDER, 1, TODAY),
        (Letter.Kind.REMINDER, 2, TODAY + 14 * DAY),
        (Letter.Kind.FINAL_DEMAND, 3, TODAY + 28 * DAY),
    ]


def reminded(dealer, *, today: dt.date, episode: dt.date) -> None:
    """Reminders 1 and 2 already sent in the episode, 28 and 14 days before `today`."""
    for level, days_before in ((1, 28), (2, 14)):
        Letter.objects.create(
            dealer=dealer,
            kind=Letter.Kind.REMINDER,
            level=level,
            issued_on=today - days_before * DAY,
            cycle_started_on=episode,
            amount=Decimal("1000.00"),
        )


def test_a_reminder_states_the_overdue_amount_for_the_episode():
    dealer = overdue_dealer(
        today=TODAY, days=7, amount="1234.50", stage=Stage.REMINDER, cycle_started_on=D(2026, 3, 4)
    )
    OrderFactory(dealer=dealer, ordered_on=TODAY - DAY, due_on=TODAY + 30 * DAY)

    sweep()

    letter = Letter.objects.get(dealer=dealer)
    assert (letter.amount, letter.cycle_started_on, letter.issued_on) == (
        Decimal("1234.50"),
        D(2026, 3, 4),
        TODAY,
    )
    assert (letter.deadline, letter.interest_rate_percent, letter.pdf.name) == (None, None, "")
    assert letter.history.get().history_change_reason == "issued by the daily sweep"


def test_the_final_demand_is_the_written_interest_notice_with_rate_and_deadline():
    dealer = overdue_dealer(
        today=TODAY, days=45, amount="8000.00", stage=Stage.SOFT, cycle_started_on=TODAY
    )
    reminded(dealer, today=TODAY, episode=TODAY)

    sweep()

    letter = Letter.objects.get(dealer=dealer, level=3)
    assert (letter.kind, letter.level) == (Letter.Kind.FINAL_DEMAND, 3)
    assert letter.amount == Decimal("8000.00")
    assert letter.interest_rate_percent == Decimal("12.00")
    assert letter.deadline == D(2026, 3, 24)


def test_a_notice_deadline_on_a_weekend_moves_to_the_next_business_day():
    saturday = D(2026, 3, 14)
    dealer = overdue_dealer(today=saturday, days=45, stage=Stage.SOFT, cycle_started_on=saturday)
    reminded(dealer, today=saturday, episode=saturday)

    sweep(saturday)

    # 14 days later is Saturday 28 March.
    assert Letter.objects.get(dealer=dealer, level=3).deadline == D(2026, 3, 30)


def test_each_letter_goes_once_per_episode():
    dealer = overdue_dealer(today=TODAY, days=7, stage=Stage.REMINDER, cycle_started_on=TODAY)

    for offset in range(5):
        sweep(TODAY + offset * DAY)

    assert letters_of(dealer) == [(Letter.Kind.REMINDER, 1, TODAY)]


def test_a_dealer_first_seen_50_days_late_gets_the_first_reminder_not_the_final_demand():
    dealer = overdue_dealer(today=TODAY, days=50)

    sweep()
    sweep(TODAY + DAY)

    assert letters_of(dealer) == [(Letter.Kind.REMINDER, 1, TODAY)]
    assert Letter.objects.get(dealer=dealer).cycle_started_on == TODAY


def test_a_new_overdue_episode_gets_its_letters_again():
    dealer = overdue_dealer(today=TODAY, days=7)
    sweep()
    pay(dealer, "1000.00", TODAY + DAY)
    sweep(TODAY + 2 * DAY)
    assert stage_of(dealer) == Stage.CURRENT
    second_due = TODAY + 10 * DAY
    OrderFactory(dealer=dealer, ordered_on=TODAY, due_on=second_due)

    sweep(second_due + DAY)
    sweep(second_due + 7 * DAY)

    assert letters_of(dealer) == [
        (Letter.Kind.REMINDER, 1, TODAY),
        (Letter.Kind.REMINDER, 1, second_due + 7 * DAY),
    ]
    cycles = list(
        Letter.objects.filter(dealer=dealer)
        .order_by("id")
        .values_list("cycle_started_on", flat=True)
    )
    assert cycles == [TODAY, second_due + DAY]


@pytest.mark.parametrize("stage", [Stage.LITIGATION, Stage.AGENCY, Stage.WRITTEN_OFF])
def test_no_letters_once_lawyers_or_an_agency_have_the_account(stage):
    dealer = overdue_dealer(today=TODAY, days=50, stage=stage, cycle_started_on=TODAY)

    sweep()

    assert letters_of(dealer) == []


def test_an_account_moved_by_hand_without_an_episode_date_gets_one():
    dealer = overdue_dealer(today=TODAY, days=25, stage=Stage.SOFT)

    sweep()
    sweep(TODAY + DAY)

    assert account(dealer).cycle_started_on == TODAY
    assert letters_of(dealer) == [(Letter.Kind.REMINDER, 1, TODAY)]


# Interest -------------------------------------------------------------------------------

DEADLINE = D(2026, 2, 2)


def noticed_dealer(amount: str = "10000.00", **fields: object):
    """A dealer in soft collection whose final demand's deadline was 2 February 2026."""
    dealer = overdue_dealer(
        today=DEADLINE,
        days=60,
        amount=amount,
        stage=Stage.SOFT,
        cycle_started_on=D(2025, 12, 5),
        **fields,
    )
    Letter.objects.create(
        dealer=dealer,
        kind=Letter.Kind.FINAL_DEMAND,
        level=3,
        issued_on=D(2026, 1, 19),
        cycle_started_on=D(2025, 12, 5),
        amount=Decimal(amount),
        interest_rate_percent=Decimal("12.00"),
        deadline=DEADLINE,
    )
    return dealer


def test_no_interest_until_a_full_day_after_the_deadline_has_run():
    dealer = noticed_dealer()

    sweep(DEADLINE)
    sweep(DEADLINE + DAY)

    assert interest_orders(dealer) == []


def test_interest_runs_from_the_day_after_the_deadline_to_yesterday_on_the_named_orders():
    dealer = noticed_dealer()
    today = DEADLINE + 31 * DAY  # 5 March

    sweep(today)

    (order,) = interest_orders(dealer)
    assert (order.number, order.ordered_on, order.due_on) == (
        f"INT-{dealer.code}-20260305",
        today,
        today,
    )
    # 10,000.00 at 12% a year for 30 days: 98.6301... rounded half up.
    assert order.amount == Decimal("98.63")
    charge = InterestCharge.objects.get()
    assert (charge.order, charge.notice) == (order, Letter.objects.get(dealer=dealer))
    assert (charge.period_from, charge.period_to) == (D(2026, 2, 3), D(2026, 3, 4))
    assert (charge.principal, charge.rate_percent) == (Decimal("10000.00"), Decimal("12.00"))
    assert order.history.get().history_change_reason == "interest posted by the daily sweep"


def test_interest_is_posted_at_most_every_30_days_and_continues_where_it_stopped():
    dealer = noticed_dealer()

    day = DEADLINE
    while day <= DEADLINE + 40 * DAY:
        sweep(day)
        day += DAY

    charges = list(InterestCharge.objects.order_by("period_to"))
    assert [(c.period_from, c.period_to) for c in charges] == [
        (D(2026, 2, 3), D(2026, 2, 3)),
        (D(2026, 2, 4), D(2026, 3, 5)),
    ]
    assert [o.ordered_on for o in interest_orders(dealer)] == [D(2026, 2, 4), D(2026, 3, 6)]
    assert [o.amount for o in interest_orders(dealer)] == [Decimal("3.29"), Decimal("98.63")]


def test_the_principal_is_what_is_open_on_feed_orders_due_before_the_deadline():
    dealer = noticed_dealer()
    pay(dealer, "4000.00", D(2026, 2, 10))
    # Due after the deadline: not named by the notice.
    OrderFactory(
        dealer=dealer, ordered_on=D(2026, 1, 10), due_on=D(2026, 2, 9), amount=Decimal("500.00")
    )
    # Interest lines do not bear interest.
    OrderFactory(
        dealer=dealer,
        kind=Order.Kind.INTEREST,
        ordered_on=D(2026, 1, 20),
        due_on=D(2026, 1, 20),
        amount=Decimal("20.00"),
    )

    sweep(DEADLINE + 31 * DAY)

    charge = InterestCharge.objects.get()
    assert charge.principal == Decimal("6000.00")
    assert charge.order.amount == Decimal("59.18")


def test_no_interest_without_a_written_notice():
    overdue_dealer(today=TODAY, days=100, stage=Stage.SOFT, cycle_started_on=TODAY - 99 * DAY)

    sweep()

    assert not InterestCharge.objects.exists()


def test_no_interest_on_a_notice_of_an_earlier_episode():
    dealer = noticed_dealer()
    CollectionAccount.objects.filter(dealer=dealer).update(cycle_started_on=D(2026, 3, 1))

    sweep(DEADLINE + 31 * DAY)

    assert interest_orders(dealer) == []


def test_no_interest_once_the_debt_is_paid():
    dealer = noticed_dealer()
    pay(dealer, "10000.00", DEADLINE + 5 * DAY)

    sweep(DEADLINE + 31 * DAY)

    assert interest_orders(dealer) == []
    assert stage_of(dealer) == Stage.CURRENT


def test_interest_under_a_cent_is_not_posted():
    dealer = noticed_dealer(amount="0.50")

    sweep(DEADLINE + 2 * DAY)

    assert interest_orders(dealer) == []


def test_interest_is_a_ledger_line_that_a_payment_settles():
    dealer = noticed_dealer()
    today = DEADLINE + 31 * DAY
    sweep(today)

    pay(dealer, "10098.63", today + DAY)
    sweep(today + 2 * DAY)

    (order,) = interest_orders(dealer)
    assert sum(a.amount for a in order.allocations.all()) == Decimal("98.63")
    assert stage_of(dealer) == Stage.CURRENT


def test_money_received_but_not_yet_allocated_goes_to_the_new_interest_line():
    dealer = noticed_dealer()
    today = DEADLINE + 31 * DAY
    # Recorded by the import, not yet spread over the orders.
    PaymentFactory(dealer=dealer, amount=Decimal("10098.63"), received_on=today)

    sweep(today)

    (order,) = interest_orders(dealer)
    assert sum(a.amount for a in order.allocations.all()) == Decimal("98.63")


def test_interest_is_posted_once_for_a_date():
    noticed_dealer()
    sweep(DEADLINE + 31 * DAY)
    before = table_counts()

    sweep(DEADLINE + 31 * DAY)

    assert table_counts() == before


def test_an_overlong_dealer_code_still_gives_a_valid_interest_order_number():
    dealer = noticed_dealer(code="X" * 40)

    sweep(DEADLINE + 31 * DAY)

    assert interest_orders(dealer)[0].number == f"INT-{dealer.pk}-20260305"


@pytest.mark.parametrize(
    ("principal", "days", "amount"),
    [
        ("10000.00", 30, "98.63"),
        ("10000.00", 365, "1200.00"),
        ("1.00", 1, "0.00"),
        ("1520.83", 31, "15.50"),  # 15.4999... rounds down
        ("152.09", 31, "1.55"),  # 1.55007... rounds half up
    ],
)
def test_interest_is_simple_interest_on_an_actual_365_basis_rounded_half_up(
    principal, days, amount
):
    assert interest_amount(Decimal(principal), Decimal("12.00"), days) == Decimal(amount)


def test_interest_periods_never_overlap():
    assert (
        interest_period(
            today=D(2026, 2, 3), deadline=DEADLINE, last_period_to=None, posting_days=30
        )
        is None
    )
    assert interest_period(
        today=D(2026, 2, 4), deadline=DEADLINE, last_period_to=None, posting_days=30
    ) == (
        D(2026, 2, 3),
        D(2026, 2, 3),
    )
    last = D(2026, 2, 3)
    assert (
        interest_period(
            today=D(2026, 3, 5), deadline=DEADLINE, last_period_to=last, posting_days=30
        )
        is None
    )
    assert interest_period(
        today=D(2026, 3, 6), deadline=DEADLINE, last_period_to=last, posting_days=30
    ) == (
        D(2026, 2, 4),
        D(2026, 3, 5),
    )


# Limitation -----------------------------------------------------------------------------


def limitation_dealer(**fields: object):
    """The oldest overdue order fell due on 1 June 2023: with 3 years the claim lapses on
    1 June 2026, and the 90-day warning starts on 3 March 2026."""
    return overdue_dealer(
        today=D(2023, 6, 1), days=0, stage=Stage.SOFT, cycle_started_on=D(2023, 6, 2), **fields
    )


def test_a_nearing_limitation_alerts_the_manager_and_opens_a_review_once(manager):
    dealer = limitation_dealer()

    sweep(D(2026, 3, 2))
    assert not Alert.objects.filter(kind=Alert.Kind.LIMITATION).exists()

    sweep(D(2026, 3, 3))
    sweep(D(2026, 3, 4))

    alert = Alert.objects.get(kind=Alert.Kind.LIMITATION)
    assert alert.source_key == f"limitation:{dealer.pk}:2023-06-01"
    assert "ends on 2026-06-01" in alert.message
    task = Task.objects.get(kind=Task.Kind.REVIEW)
    assert (task.dealer, task.assignee, task.due_on) == (dealer, None, D(2026, 3, 3))
    assert task.source_key == f"limitation-review:{dealer.pk}:2023-06-01"


def test_the_managers_hear_of_new_alerts_by_email_after_the_batch_commits(
    manager, django_capture_on_commit_callbacks
):
    manager.email = "mona@example.com"
    manager.save()
    limitation_dealer()

    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        sweep(D(2026, 3, 3))
    assert mail.outbox == []
    for callback in callbacks:
        callback()

    (message,) = mail.outbox
    assert message.to == ["mona@example.com"]
    assert "Limitation period nearing" in message.body


def test_a_payment_restarts_the_limitation_clock():
    dealer = limitation_dealer()
    pay(dealer, "100.00", D(2024, 1, 10))

    sweep(D(2026, 3, 3))

    assert not Alert.objects.filter(kind=Alert.Kind.LIMITATION).exists()


def test_a_promise_restarts_the_limitation_clock():
    dealer = limitation_dealer()
    promise(dealer, amount="100.00", due_on=D(2024, 5, 10), made_on=D(2024, 5, 2), status="broken")

    sweep(D(2026, 3, 3))

    assert not Alert.objects.filter(kind=Alert.Kind.LIMITATION).exists()


def test_an_old_acknowledgment_warns_from_its_own_date():
    dealer = limitation_dealer()
    pay(dealer, "100.00", D(2023, 7, 15))

    sweep(D(2026, 4, 15))
    assert not Alert.objects.filter(kind=Alert.Kind.LIMITATION).exists()
    sweep(D(2026, 4, 16))

    assert (
        Alert.objects.get(kind=Alert.Kind.LIMITATION).source_key
        == f"limitation:{dealer.pk}:2023-07-15"
    )


def test_no_limitation_warning_in_litigation():
    dealer = limitation_dealer()
    CollectionAccount.objects.filter(dealer=dealer).update(stage=Stage.LITIGATION)

    sweep(D(2026, 3, 3))

    assert not Alert.objects.filter(kind=Alert.Kind.LIMITATION).exists()


def test_the_review_task_falls_on_a_business_day_of_the_dealers_country():
    limitation_dealer(collector=UserFactory(role="collector"))

    sweep(D(2026, 3, 7))  # a Saturday

    assert Task.objects.get(kind=Task.Kind.REVIEW).due_on == D(2026, 3, 9)


def test_29_february_plus_years_is_28_february():
    assert add_years(D(2024, 2, 29), 3) == D(2027, 2, 28)
    assert add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)


def test_29_february_minus_years_is_28_february():
    # The twelve months of promise reliability look back with the same arithmetic.
    assert add_years(D(2024, 2, 29), -1) == D(2023, 2, 28)
    assert add_years(D(2024, 2, 29), -4) == D(2020, 2, 29)
    assert add_years(D(2026, 3, 10), -1) == D(2025, 3, 10)
