"""Reconciliation letters and their replies (docs/API.md "Letters"): issued through the
API, answered by finance or on the reply page without a login, one reply per letter; a
confirmed reply restarts the limitation clock, a disputed one opens a dispute for the
difference. Approved escalations send their notices."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client

from dunning.models import Letter, Stage
from dunning.services.escalations import approve_escalation, request_escalation
from dunning.services.reconciliation import issue_reconciliation_letter, record_reply
from receivables.models import ApiToken, Order
from tests.collection_helpers import NOW, TODAY, account_in, overdue_dealer
from tests.factories import AgencyFactory, OrderFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _frozen_time(time_machine: Any, settings: Any, tmp_path: Any) -> None:
    time_machine.move_to(NOW, tick=False)  # Monday 2 March 2026, 15:30 in Berlin
    settings.MEDIA_ROOT = tmp_path / "media"


def api_as(user: Any) -> Client:
    _token, raw = ApiToken.issue(user)
    return Client(headers={"authorization": f"Bearer {raw}"})


@pytest.fixture
def dealer(collector: Any) -> Any:
    dealer = overdue_dealer(
        code="RC1", name="Agro Vechta", days=400, amount="1000.00", collector=collector
    )
    OrderFactory(
        dealer=dealer,
        number="RC1-2",
        ordered_on=TODAY - dt.timedelta(days=40),
        due_on=TODAY - dt.timedelta(days=10),
        amount=Decimal("500.00"),
    )
    return dealer


def issue(dealer: Any, as_of: dt.date = TODAY) -> Letter:
    return issue_reconciliation_letter(dealer=dealer, as_of=as_of, today=TODAY, by=None)


# --- Issuing --------------------------------------------------------------------------------


def test_finance_issues_a_reconciliation_letter_through_the_api(finance: Any, dealer: Any) -> None:
    answer = api_as(finance).post(
        f"/api/v1/dealers/{dealer.code}/reconciliation-letters?as_of=2026-02-27"
    )

    assert answer.status_code == 201, answer.content
    body = answer.json()
    assert body["kind"] == "reconciliation"
    assert body["dealer"] == "RC1"
    assert body["as_of"] == "2026-02-27"
    assert body["amount"] == "1500.00"
    assert body["reply"] is None
    assert body["reply_by"] == "2026-03-16"  # 14 days, the policy's default
    assert body["status"] == "rendering"
    letter = Letter.objects.get(pk=body["id"])
    assert len(letter.reply_token) >= 20


def test_a_statement_cannot_be_as_of_a_future_day(finance: Any, dealer: Any) -> None:
    answer = api_as(finance).post(
        f"/api/v1/dealers/{dealer.code}/reconciliation-letters?as_of=2026-03-03"
    )

    assert answer.status_code == 400
    assert "future" in answer.content.decode()
    assert not Letter.objects.exists()


def test_collectors_and_auditors_cannot_issue_or_record(
    collector: Any, auditor: Any, dealer: Any
) -> None:
    letter = issue(dealer)
    for user in (collector, auditor):
        client = api_as(user)
        assert (
            client.post(f"/api/v1/dealers/{dealer.code}/reconciliation-letters").status_code == 403
        )
        reply = client.post(
            f"/api/v1/letters/{letter.pk}/reply",
            {"answer": "confirmed", "replied_on": "2026-03-02"},
            content_type="application/json",
        )
        assert reply.status_code == 403
    letter.refresh_from_db()
    assert letter.reply == ""


# --- Replies entered by finance ------------------------------------------------------------


def test_a_confirmed_reply_restarts_the_limitation_clock(finance: Any, dealer: Any) -> None:
    client = api_as(finance)
    before = client.get(f"/api/v1/dealers/{dealer.code}").json()
    letter = issue(dealer)

    answer = client.post(
        f"/api/v1/letters/{letter.pk}/reply",
        {"answer": "confirmed", "replied_on": "2026-03-02"},
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["reply"] == "confirmed"
    assert answer.json()["replied_on"] == "2026-03-02"
    after = client.get(f"/api/v1/dealers/{dealer.code}").json()
    assert before["last_acknowledged_on"] is None
    assert after["last_acknowledged_on"] == "2026-03-02"
    assert after["limitation_on"] > before["limitation_on"]
    assert after["limitation_on"] == "2029-03-02"  # three years, the policy's default


def test_a_second_reply_is_refused_with_409(finance: Any, dealer: Any) -> None:
    letter = issue(dealer)
    client = api_as(finance)
    first = client.post(
        f"/api/v1/letters/{letter.pk}/reply",
        {"answer": "confirmed", "replied_on": "2026-03-02"},
        content_type="application/json",
    )
    second = client.post(
        f"/api/v1/letters/{letter.pk}/reply",
        {"answer": "disputed", "replied_on": "2026-03-02", "disputed_balance": "10.00"},
        content_type="application/json",
    )

    assert first.status_code == 200
    assert second.status_code == 409
    letter.refresh_from_db()
    assert letter.reply == "confirmed"
    assert letter.disputed_balance is None


def test_a_disputed_reply_opens_a_dispute_for_the_difference(finance: Any, dealer: Any) -> None:
    letter = issue(dealer)

    answer = api_as(finance).post(
        f"/api/v1/letters/{letter.pk}/reply",
        {
            "answer": "disputed",
            "replied_on": "2026-03-02",
            "disputed_balance": "1200.00",
            "note": "Two bags returned",
        },
        content_type="application/json",
    )

    assert answer.status_code == 200, answer.content
    assert answer.json()["disputed_balance"] == "1200.00"
    newest = Order.objects.get(number="RC1-2")
    assert newest.disputed
    assert newest.disputed_amount == Decimal("300.00")
    assert "1200.00" in newest.dispute_reason and "Two bags returned" in newest.dispute_reason
    older = Order.objects.filter(dealer=dealer).exclude(number="RC1-2").get()
    assert not older.disputed


def test_a_difference_larger_than_the_newest_order_spreads_to_older_ones(dealer: Any) -> None:
    letter = issue(dealer)

    record_reply(
        letter_id=letter.pk,
        answer="disputed",
        replied_on=TODAY,
        disputed_balance=Decimal("100.00"),
        by=None,
        channel=Letter.ReplyChannel.REPLY_PAGE,
        today=TODAY,
        now=NOW,
    )

    disputed = dict(Order.objects.filter(dealer=dealer).values_list("number", "disputed_amount"))
    assert disputed["RC1-2"] == Decimal("500.00")
    assert sum(disputed.values()) == Decimal("1400.00")


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"answer": "disputed", "replied_on": "2026-03-02"}, "disputed_balance"),
        (
            {"answer": "disputed", "replied_on": "2026-03-02", "disputed_balance": "1500.00"},
            "disputed_balance",
        ),
        (
            {"answer": "confirmed", "replied_on": "2026-03-02", "disputed_balance": "5.00"},
            "disputed_balance",
        ),
        ({"answer": "confirmed", "replied_on": "2026-03-01"}, "replied_on"),
        ({"answer": "confirmed", "replied_on": "2026-03-09"}, "replied_on"),
        ({"answer": "maybe", "replied_on": "2026-03-02"}, "answer"),
    ],
)
def test_bad_replies_are_refused_and_change_nothing(
    finance: Any, dealer: Any, body: dict, field: str
) -> None:
    letter = issue(dealer)

    answer = api_as(finance).post(
        f"/api/v1/letters/{letter.pk}/reply", body, content_type="application/json"
    )

    assert answer.status_code in (400, 422), answer.content
    assert field in answer.content.decode()
    letter.refresh_from_db()
    assert letter.reply == ""
    assert not Order.objects.filter(disputed=True).exists()


def test_only_reconciliation_letters_take_a_reply(finance: Any, dealer: Any) -> None:
    reminder = Letter.objects.create(
        dealer=dealer, kind=Letter.Kind.REMINDER, issued_on=TODAY, cycle_started_on=TODAY
    )

    answer = api_as(finance).post(
        f"/api/v1/letters/{reminder.pk}/reply",
        {"answer": "confirmed", "replied_on": "2026-03-02"},
        content_type="application/json",
    )

    assert answer.status_code == 400


def test_the_letters_list_carries_the_reply(finance: Any, dealer: Any) -> None:
    letter = issue(dealer)
    record_reply(
        letter_id=letter.pk, answer="confirmed", replied_on=TODAY, by=finance, today=TODAY, now=NOW
    )

    rows = api_as(finance).get("/api/v1/letters?kind=reconciliation").json()

    assert [(r["id"], r["reply"], r["replied_on"]) for r in rows] == [
        (letter.pk, "confirmed", "2026-03-02")
    ]


# --- The reply page -------------------------------------------------------------------------


def test_the_reply_page_shows_the_statement_and_takes_one_reply(dealer: Any) -> None:
    letter = issue(dealer)
    other = overdue_dealer(code="OTHER9", name="Mühle Fremd", days=30)
    client = Client(REMOTE_ADDR="203.0.113.7")

    page = client.get(f"/reply/{letter.reply_token}")

    assert page.status_code == 200
    html = page.content.decode()
    assert "Agro Vechta" in html and "RC1-2" in html and "1,500.00" in html
    assert "Mühle Fremd" not in html and other.orders.get().number not in html
    assert page["Referrer-Policy"] == "same-origin"

    done = client.post(f"/reply/{letter.reply_token}", {"answer": "confirmed"})

    assert done.status_code == 200
    assert "recorded" in done.content.decode()
    letter.refresh_from_db()
    assert letter.reply == "confirmed"
    assert letter.replied_on == TODAY
    assert letter.reply_channel == Letter.ReplyChannel.REPLY_PAGE
    assert letter.reply_address == "203.0.113.7"
    assert letter.reply_recorded_at == NOW

    again = client.post(
        f"/reply/{letter.reply_token}", {"answer": "disputed", "disputed_balance": "1"}
    )

    assert again.status_code == 409
    letter.refresh_from_db()
    assert letter.reply == "confirmed"


def test_the_reply_page_explains_a_missing_disputed_balance(dealer: Any) -> None:
    letter = issue(dealer)

    page = Client().post(
        f"/reply/{letter.reply_token}", {"answer": "disputed", "disputed_balance": "abc"}
    )

    assert page.status_code == 400
    assert "Enter an amount" in page.content.decode()
    letter.refresh_from_db()
    assert letter.reply == ""


def test_a_made_up_token_shows_nothing(dealer: Any) -> None:
    issue(dealer)

    page = Client().get("/reply/not-a-real-token-at-all")

    assert page.status_code == 404
    assert "Agro Vechta" not in page.content.decode()


def test_an_expired_token_takes_no_reply(dealer: Any, time_machine: Any) -> None:
    letter = issue(dealer)
    time_machine.move_to(NOW + dt.timedelta(days=91), tick=False)

    page = Client().post(f"/reply/{letter.reply_token}", {"answer": "confirmed"})

    assert page.status_code == 410
    assert "Agro Vechta" not in page.content.decode()
    letter.refresh_from_db()
    assert letter.reply == ""


def test_the_reply_page_is_in_the_dealers_language(collector: Any) -> None:
    dealer = overdue_dealer(
        code="ES1", name="Piensos Soria", days=30, collector=collector, language="es"
    )
    letter = issue(dealer)

    page = Client().get(f"/reply/{letter.reply_token}")

    assert page.status_code == 200
    assert 'lang="es"' in page.content.decode()


# --- Notices of approved escalations ---------------------------------------------------------


@pytest.mark.parametrize(
    ("to_stage", "kind"), [(Stage.LITIGATION, "pre_litigation"), (Stage.AGENCY, "placement")]
)
def test_an_approved_escalation_sends_its_notice(
    collector: Any, manager: Any, to_stage: str, kind: str
) -> None:
    dealer = overdue_dealer(code="ESC1", days=200, collector=collector)
    account_in(dealer, Stage.HARD)
    extra = (
        {"agency": AgencyFactory(name="Northern Recovery Ltd")} if to_stage == Stage.AGENCY else {}
    )
    escalation = request_escalation(
        dealer=dealer,
        to_stage=to_stage,
        reason="No answer to the final demand",
        by=collector,
        today=TODAY,
        **extra,
    )

    approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    notice = Letter.objects.get(dealer=dealer, kind=kind)
    assert notice.escalation_id == escalation.pk
    assert notice.amount == Decimal("1000.00")
    assert notice.deadline == TODAY + dt.timedelta(days=14)


def test_a_move_to_hard_collection_sends_no_notice(collector: Any, manager: Any) -> None:
    dealer = overdue_dealer(code="ESC2", days=70, collector=collector)
    account_in(dealer, Stage.SOFT)
    escalation = request_escalation(
        dealer=dealer, to_stage=Stage.HARD, reason="65 days past due", by=collector, today=TODAY
    )

    approve_escalation(escalation_id=escalation.pk, by=manager, today=TODAY, now=NOW)

    assert not Letter.objects.filter(dealer=dealer).exclude(kind="reminder").exists()


@pytest.mark.parametrize(
    ("raw", "locale", "expected"),
    [
        ("1.234,50", "es_ES", Decimal("1234.50")),
        ("1234,50", "es_ES", Decimal("1234.50")),
        ("1234.50", "es_ES", Decimal("1234.50")),
        ("1,234.50", "en_GB", Decimal("1234.50")),
        ("1234.50", "zh_Hans_CN", Decimal("1234.50")),
        ("  ", "en_GB", None),
    ],
)
def test_a_balance_is_read_as_the_dealer_writes_it(raw: str, locale: str, expected: Any) -> None:
    from dunning.services.reconciliation import parse_balance

    assert parse_balance(raw, locale=locale) == expected


@pytest.mark.parametrize("raw", ["1234,50", "12,34", "abc", "1e3x", "NaN", "-5", "1.234"])
def test_an_english_balance_never_drops_a_comma(raw: str) -> None:
    from dunning.services import InvalidInput
    from dunning.services.reconciliation import parse_balance

    with pytest.raises(InvalidInput):
        parse_balance(raw, locale="en_GB")


def test_a_spanish_dealer_disputes_with_a_decimal_comma(collector: Any) -> None:
    dealer = overdue_dealer(
        code="ES2", days=30, amount="1500.00", collector=collector, language="es"
    )
    letter = issue(dealer)

    page = Client().post(
        f"/reply/{letter.reply_token}", {"answer": "disputed", "disputed_balance": "1.200,00"}
    )

    assert page.status_code == 200, page.content.decode()[:2000]
    letter.refresh_from_db()
    assert letter.disputed_balance == Decimal("1200.00")
    assert Order.objects.get(dealer=dealer).disputed_amount == Decimal("300.00")
