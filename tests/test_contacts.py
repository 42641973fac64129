"""The contact log: every contact is recorded, and a call or visit that breaks the caps or
quiet hours of the policy is flagged with the rule and alerted to the managers. Also the
follow-up tasks and acknowledging alerts."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from dunning.calendar import CallCounts, count_calls
from dunning.models import Alert, ContactLog, Excuse, Task
from dunning.services import (
    InvalidInput,
    PermissionDenied,
    TaskAlreadyDone,
    WorkflowConflict,
    acknowledge_alert,
    complete_task,
    log_contact,
)
from receivables.models import Agency
from tests.collection_helpers import NOW, TODAY
from tests.factories import ContactFactory, DealerFactory

BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def dealer(collector: Any) -> Any:
    return DealerFactory(country="DE", collector=collector)


def berlin(*args: int) -> dt.datetime:
    return dt.datetime(*args, tzinfo=BERLIN)


def call(dealer: Any, by: Any, at: dt.datetime, channel: str = "phone", **kw: Any) -> ContactLog:
    return log_contact(
        dealer=dealer,
        channel=channel,
        at=at,
        outcome=kw.pop("outcome", ContactLog.Outcome.REACHED),
        by=by,
        now=kw.pop("now", at + dt.timedelta(minutes=5)),
        **kw,
    )


# --- Within the rules -----------------------------------------------------------------------


def test_call_in_the_afternoon_is_recorded_without_a_flag(dealer: Any, collector: Any) -> None:
    contact = call(dealer, collector, berlin(2026, 3, 3, 15, 30))

    contact.refresh_from_db()
    assert contact.broken_rule == ""
    assert contact.logged_by == collector
    assert not Alert.objects.exists()


def test_contact_keeps_the_person_the_excuse_and_the_note(dealer: Any, collector: Any) -> None:
    owner = ContactFactory(dealer=dealer)
    excuse = Excuse.objects.get(text="Next month")

    contact = call(
        dealer,
        collector,
        berlin(2026, 3, 3, 15, 30),
        person=owner,
        excuse=excuse,
        note="Asked for a date this week",
        outcome=ContactLog.Outcome.REFUSED,
    )

    assert (contact.person, contact.excuse, contact.note) == (
        owner,
        excuse,
        "Asked for a date this week",
    )


# --- Quiet hours ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("at", "rule"),
    [
        pytest.param(berlin(2026, 3, 3, 7, 30), "no calls before 08:00", id="early"),
        pytest.param(berlin(2026, 3, 3, 20, 15), "no calls from 20:00", id="late"),
        pytest.param(berlin(2026, 3, 8, 15, 30), "no calls on Sundays", id="sunday"),
        pytest.param(berlin(2026, 5, 1, 15, 30), "no calls on public holidays", id="may day"),
    ],
)
def test_call_in_quiet_hours_is_saved_flagged_and_alerted(
    at: dt.datetime,
    rule: str,
    dealer: Any,
    collector: Any,
    manager: Any,
    mailoutbox: list,
    django_capture_on_commit_callbacks: Any,
) -> None:
    with django_capture_on_commit_callbacks(execute=True):
        contact = call(dealer, collector, at)

    contact.refresh_from_db()
    assert contact.broken_rule == rule
    alert = Alert.objects.get(kind=Alert.Kind.CONTACT_RULE)
    assert alert.dealer == dealer
    assert rule in alert.message
    assert alert.source_key == f"contact:{contact.pk}"
    assert [mail.to for mail in mailoutbox] == [[manager.email]]
    assert rule in mailoutbox[0].body


def test_a_visit_keeps_the_quiet_hours_too(dealer: Any, collector: Any) -> None:
    contact = call(dealer, collector, berlin(2026, 3, 3, 21, 0), channel="visit")

    assert contact.broken_rule == "no calls from 20:00"


@pytest.mark.parametrize("channel", ["email", "sms", "letter"])
def test_written_contacts_are_never_flagged(channel: str, dealer: Any, collector: Any) -> None:
    contact = call(dealer, collector, berlin(2026, 3, 8, 23, 0), channel=channel)

    assert contact.broken_rule == ""
    assert not Alert.objects.exists()


def test_quiet_hours_follow_the_clock_change(dealer: Any, collector: Any) -> None:
    # 06:30 UTC is 07:30 in Berlin before the clocks go forward on 29 March, 08:30 after.
    before = call(dealer, collector, dt.datetime(2026, 3, 27, 6, 30, tzinfo=dt.UTC))
    after = call(dealer, collector, dt.datetime(2026, 3, 30, 6, 30, tzinfo=dt.UTC))

    assert before.broken_rule == "no calls before 08:00"
    assert after.broken_rule == ""


def test_quiet_hours_are_the_dealers_local_time(collector: Any) -> None:
    chicago = DealerFactory(country="US", collector=collector)

    # 15:00 UTC is 16:00 in Berlin but 09:00 in Chicago; 13:00 UTC is 07:00 there.
    assert call(chicago, collector, dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC)).broken_rule == ""
    other = DealerFactory(country="US", collector=collector)
    early = call(other, collector, dt.datetime(2026, 3, 3, 13, 0, tzinfo=dt.UTC))
    assert early.broken_rule == "no calls before 08:00"


# --- Caps -----------------------------------------------------------------------------------


def test_second_call_the_same_day_is_flagged(dealer: Any, collector: Any) -> None:
    first = call(dealer, collector, berlin(2026, 3, 3, 9, 0))
    second = call(dealer, collector, berlin(2026, 3, 3, 16, 0))

    assert first.broken_rule == ""
    assert second.broken_rule == "at most 1 call a day"
    assert Alert.objects.filter(kind=Alert.Kind.CONTACT_RULE).count() == 1


def test_calls_by_different_collectors_count_together(
    dealer: Any, collector: Any, manager: Any
) -> None:
    call(dealer, collector, berlin(2026, 3, 3, 9, 0))

    assert call(dealer, manager, berlin(2026, 3, 3, 16, 0)).broken_rule == "at most 1 call a day"


def test_a_visit_after_a_call_counts_against_the_cap(dealer: Any, collector: Any) -> None:
    call(dealer, collector, berlin(2026, 3, 3, 9, 0))

    visit = call(dealer, collector, berlin(2026, 3, 3, 16, 0), channel="visit")

    assert visit.broken_rule == "at most 1 call a day"


def test_an_email_does_not_count_against_the_cap(dealer: Any, collector: Any) -> None:
    call(dealer, collector, berlin(2026, 3, 3, 9, 0), channel="email")

    assert call(dealer, collector, berlin(2026, 3, 3, 16, 0)).broken_rule == ""


def test_a_call_the_next_day_is_fine_again(dealer: Any, collector: Any) -> None:
    call(dealer, collector, berlin(2026, 3, 3, 19, 30))

    assert call(dealer, collector, berlin(2026, 3, 4, 8, 30)).broken_rule == ""


def test_the_day_is_the_dealers_local_day(collector: Any) -> None:
    chicago = DealerFactory(country="US", collector=collector)
    # 15:00 and 19:00 in Chicago on 3 March: the second is already 4 March in UTC.
    call(chicago, collector, dt.datetime(2026, 3, 3, 21, 0, tzinfo=dt.UTC))
    second = call(chicago, collector, dt.datetime(2026, 3, 4, 1, 0, tzinfo=dt.UTC))

    assert second.broken_rule == "at most 1 call a day"


def test_fourth_call_in_a_week_is_flagged(dealer: Any, collector: Any) -> None:
    for day in (2, 3, 4):  # Monday to Wednesday
        assert call(dealer, collector, berlin(2026, 3, day, 15, 0)).broken_rule == ""

    thursday = call(dealer, collector, berlin(2026, 3, 5, 15, 0))
    next_monday = call(dealer, collector, berlin(2026, 3, 9, 15, 0))

    assert thursday.broken_rule == "at most 3 calls a week"
    assert next_monday.broken_rule == ""


def test_the_week_spans_the_clock_change(dealer: Any, collector: Any) -> None:
    # The ISO week of Monday 23 to Sunday 29 March 2026 ends with the spring change.
    for day in (23, 24, 25):
        call(dealer, collector, berlin(2026, 3, day, 15, 0))

    assert call(dealer, collector, berlin(2026, 3, 27, 15, 0)).broken_rule == (
        "at most 3 calls a week"
    )
    assert call(dealer, collector, berlin(2026, 3, 30, 8, 5)).broken_rule == ""


def test_a_call_logged_late_counts_only_the_calls_before_it(dealer: Any, collector: Any) -> None:
    call(dealer, collector, berlin(2026, 3, 3, 16, 0))

    earlier = call(dealer, collector, berlin(2026, 3, 3, 9, 0), now=berlin(2026, 3, 3, 17, 0))

    assert earlier.broken_rule == ""


def test_the_first_call_of_a_week_seven_days_back_still_counts(dealer: Any, collector: Any) -> None:
    # Monday 19 October 2026 00:30 to Sunday 25 October 23:30, across the autumn change:
    # seven days apart, still one ISO week in Berlin.
    for at in (berlin(2026, 10, 19, 0, 30), berlin(2026, 10, 20, 15, 0), berlin(2026, 10, 21, 15)):
        call(dealer, collector, at)

    assert call(dealer, collector, berlin(2026, 10, 25, 23, 30)).broken_rule == (
        "at most 3 calls a week"
    )


# --- Counting calls on the dealer's calendar (pure) -----------------------------------------


def test_calls_are_counted_on_the_local_day_and_iso_week_up_to_the_moment() -> None:
    chicago = ZoneInfo("America/Chicago")
    at = dt.datetime(2026, 3, 4, 1, 0, tzinfo=dt.UTC)  # 19:00 on Tuesday 3 March in Chicago
    calls = [
        dt.datetime(2026, 3, 1, 23, 0, tzinfo=dt.UTC),  # Sunday 17:00: the week before
        dt.datetime(2026, 3, 2, 15, 0, tzinfo=dt.UTC),  # Monday
        dt.datetime(2026, 3, 3, 15, 0, tzinfo=dt.UTC),  # Tuesday 09:00
        dt.datetime(2026, 3, 4, 0, 30, tzinfo=dt.UTC),  # Tuesday 18:30, 4 March in UTC
        dt.datetime(2026, 3, 4, 2, 0, tzinfo=dt.UTC),  # after the moment asked about
    ]

    assert count_calls(calls, zone=chicago, at=at) == CallCounts(today=2, this_week=3)
    # In Berlin the moment is 02:00 on Wednesday, and Sunday 23:00 UTC is Monday already.
    assert count_calls(calls, zone=BERLIN, at=at) == CallCounts(today=1, this_week=4)


def test_the_iso_week_runs_across_new_year() -> None:
    calls = [berlin(2025, 12, 29, 10, 0), berlin(2025, 12, 31, 10, 0), berlin(2026, 1, 5, 9, 0)]

    counts = count_calls(calls, zone=BERLIN, at=berlin(2026, 1, 2, 10, 0))

    assert counts == CallCounts(today=0, this_week=2)


# --- Refusals and roles ---------------------------------------------------------------------


def test_contact_in_the_future_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput, match="before it happens") as error:
        call(dealer, collector, NOW + dt.timedelta(hours=1), now=NOW)

    assert error.value.field == "at"
    assert not ContactLog.objects.exists()


def test_naive_time_is_refused(dealer: Any, collector: Any) -> None:
    with pytest.raises(InvalidInput, match="time zone"):
        call(dealer, collector, dt.datetime(2026, 3, 3, 15, 0), now=NOW)


def test_person_of_another_dealer_is_refused(dealer: Any, collector: Any) -> None:
    stranger = ContactFactory()

    with pytest.raises(InvalidInput) as error:
        call(dealer, collector, berlin(2026, 3, 3, 15, 0), person=stranger)

    assert error.value.field == "person"


@pytest.mark.parametrize(("field", "value"), [("channel", "pigeon"), ("outcome", "maybe")])
def test_unknown_channel_or_outcome_is_refused(
    field: str, value: str, dealer: Any, collector: Any
) -> None:
    values = {"channel": "phone", "outcome": "reached", field: value}
    with pytest.raises(InvalidInput) as error:
        log_contact(dealer=dealer, at=NOW, by=collector, now=NOW, **values)

    assert error.value.field == field


@pytest.mark.parametrize("role", ["finance", "auditor"])
def test_read_only_roles_cannot_log_contacts(role: str, dealer: Any, request: Any) -> None:
    with pytest.raises(PermissionDenied):
        call(dealer, request.getfixturevalue(role), berlin(2026, 3, 3, 15, 0))


def test_agency_logs_contacts_on_placed_dealers(agency_user: Any) -> None:
    placed = DealerFactory(agency=Agency.objects.get(users=agency_user))

    contact = call(placed, agency_user, berlin(2026, 3, 3, 15, 0))

    assert contact.logged_by == agency_user


# --- Tasks and alerts -----------------------------------------------------------------------


@pytest.fixture
def task(dealer: Any, collector: Any) -> Task:
    return Task.objects.create(
        dealer=dealer, assignee=collector, kind=Task.Kind.CALL, due_on=TODAY, reason="Follow up"
    )


def test_completing_a_task_records_the_outcome(task: Task, collector: Any) -> None:
    done = complete_task(task=task, outcome="Promised 500 by Friday", by=collector, now=NOW)

    assert (done.done_at, done.outcome) == (NOW, "Promised 500 by Friday")
    assert task.is_done


def test_completing_a_task_twice_is_a_conflict(task: Task, collector: Any) -> None:
    complete_task(task=task, outcome="Reached", by=collector, now=NOW)

    with pytest.raises(TaskAlreadyDone):
        complete_task(task=Task.objects.get(pk=task.pk), outcome="Again", by=collector, now=NOW)


def test_a_task_needs_an_outcome(task: Task, collector: Any) -> None:
    with pytest.raises(InvalidInput) as error:
        complete_task(task=task, outcome=" ", by=collector, now=NOW)

    assert error.value.field == "outcome"


@pytest.mark.parametrize("role", ["finance", "auditor", "agency_user"])
def test_other_roles_cannot_complete_tasks(role: str, task: Task, request: Any) -> None:
    with pytest.raises(PermissionDenied):
        complete_task(task=task, outcome="Done", by=request.getfixturevalue(role), now=NOW)


def test_manager_acknowledges_an_alert_once(dealer: Any, collector: Any, manager: Any) -> None:
    call(dealer, collector, berlin(2026, 3, 3, 7, 0))
    alert = Alert.objects.get()

    acknowledge_alert(alert=alert, by=manager, now=NOW)

    assert (alert.acknowledged_by, alert.acknowledged_at) == (manager, NOW)
    with pytest.raises(WorkflowConflict, match="already acknowledged by mona"):
        acknowledge_alert(alert=Alert.objects.get(), by=manager, now=NOW)


def test_collector_cannot_acknowledge_alerts(dealer: Any, collector: Any) -> None:
    call(dealer, collector, berlin(2026, 3, 3, 7, 0))

    with pytest.raises(PermissionDenied):
        acknowledge_alert(alert=Alert.objects.get(), by=collector, now=NOW)
