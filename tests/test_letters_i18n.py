"""Letters in the dealer's language (English, Spanish, Simplified Chinese): every kind is
rendered to PDF and read back, with its amounts and dates written as that language
writes them (Babel), the page numbers translated, Chinese as real characters, the
address in the envelope's window, and a long statement over several pages."""

from __future__ import annotations

import datetime as dt
import gettext
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from babel.dates import format_date
from babel.messages.pofile import read_po
from babel.numbers import format_currency, format_decimal
from django.conf import settings
from django.template import Context, Template
from pypdf import PdfReader

from dunning import printing
from dunning.models import Escalation, Letter, Stage
from dunning.services.reconciliation import issue_reconciliation_letter
from dunning.templatetags import letter_format
from receivables.allocation import reallocate_dealers
from receivables.models import Dealer
from tests.collection_helpers import TODAY
from tests.factories import AgencyFactory, DealerFactory, OrderFactory, PaymentFactory

LANGUAGES = ["en", "es", "zh-hans"]
LOCALE = {"en": "en_GB", "es": "es_ES", "zh-hans": "zh_Hans_CN"}
NAMES = {
    "en": "Hof Meyer Futtermittel",
    "es": "Piensos Hermanos García S.L.",
    "zh-hans": "山东绿野饲料贸易有限公司",
}
TOTAL = Decimal("12345.67")  # 10,000.00 overdue and 3,345.67 of which 1,000.00 is paid
DEADLINE = dt.date(2026, 3, 16)
AGENCY = "Inkasso Nord GmbH"

# A phrase of each kind in each language: the letter is written in the dealer's language.
PHRASES = {
    "reminder-1": {
        "en": "Payment reminder",
        "es": "Recordatorio de pago",
        "zh-hans": "付款提醒",
    },
    "reminder-2": {
        "en": "Second payment reminder",
        "es": "Segundo recordatorio de pago",
        "zh-hans": "第二次付款提醒",
    },
    "final_demand": {
        "en": "This is our final demand",
        "es": "Este es nuestro último requerimiento de pago",
        "zh-hans": "最后催款通知",
    },
    "interest_notice": {
        "en": "We hereby give you notice",
        "es": "Por la presente le notificamos",
        "zh-hans": "特此通知",
    },
    "reconciliation": {
        "en": "Statement of account as of",
        "es": "Extracto de cuenta a",
        "zh-hans": "对账单",
    },
    "pre_litigation": {
        "en": "we will start legal proceedings",
        "es": "iniciaremos acciones judiciales",
        "zh-hans": "提起诉讼",
    },
    "placement": {
        "en": f"the collection agency {AGENCY}",
        "es": f"la agencia de recobro {AGENCY}",
        "zh-hans": f"催收机构 {AGENCY}",
    },
}
PAGE_LABEL = {"en": "Page {} of {}", "es": "Página {} de {}", "zh-hans": "第 {} 页\uff0c共 {} 页"}
RATE = {"en": "9.00% a year", "es": "9,00 % anual", "zh-hans": "年利率 9.00%"}
# The reconciliation letter's deemed-confirmed clause and its reply slip.
CLAUSE = {
    "en": "If we have not received your reply by {reply_by}, the balance of {total} shown in "
    "this statement is deemed confirmed.",
    "es": "Si a más tardar el {reply_by} no hemos recibido su respuesta, el saldo de {total} "
    "que figura en este extracto se considerará confirmado.",
    "zh-hans": "如我方最迟于{reply_by}仍未收到贵方回复\uff0c"
    "本对账单所列余额 {total} 即视为已确认。",
}
SLIP = {
    "en": ["Reply slip", "Confirmed", "Disputed", "The correct balance is", "Signature"],
    "es": ["Talón de respuesta", "Conforme", "No conforme", "El saldo correcto es", "Firma"],
    "zh-hans": ["回执", "确认无误", "存在异议", "正确余额为", "签字"],
}

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings: Any, tmp_path: Any) -> None:
    settings.MEDIA_ROOT = tmp_path / "media"


def pages_of(pdf: bytes) -> list[str]:
    return [page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages]


def squash(text: str) -> str:
    """Text without any whitespace: PDF extraction puts spaces and line breaks where the
    line was broken, and a no-break space where Babel wrote one."""
    return re.sub(r"\s+", "", text)


def dealer_speaking(language: str, **fields: Any) -> Dealer:
    """A dealer of that language with 12,345.67 overdue on TODAY and a payment received
    within the last 90 days."""
    dealer = DealerFactory(
        name=NAMES[language],
        language={"en": "en", "es": "es-ES", "zh-hans": "zh-CN"}[language],
        country={"en": "DE", "es": "ES", "zh-hans": "CN"}[language],
        address="Calle Mayor 12",
        postal_code="28013",
        city="Madrid",
        **fields,
    )
    OrderFactory(
        dealer=dealer,
        number="A-1001",
        ordered_on=dt.date(2025, 12, 1),
        due_on=dt.date(2025, 12, 31),
        amount=Decimal("10000.00"),
    )
    second = OrderFactory(
        dealer=dealer,
        number="A-1002",
        ordered_on=dt.date(2026, 1, 2),
        due_on=dt.date(2026, 2, 1),
        amount=Decimal("3345.67"),
    )
    PaymentFactory(
        dealer=dealer,
        reference="PAY-77",
        received_on=dt.date(2026, 2, 10),
        amount=Decimal("1000"),
        order=second,  # named by the dealer: it pays A-1002, and A-1001 stays fully open
    )
    reallocate_dealers([dealer.pk])
    return dealer


def letter_of(kind: str, dealer: Dealer) -> Letter:
    if kind == Letter.Kind.RECONCILIATION:
        return issue_reconciliation_letter(dealer=dealer, as_of=TODAY, today=TODAY, by=None)
    base_kind, _, level = kind.partition("-")
    escalation = None
    if base_kind in (Letter.Kind.PRE_LITIGATION, Letter.Kind.PLACEMENT):
        escalation = Escalation.objects.create(
            dealer=dealer,
            to_stage=Stage.LITIGATION if base_kind == Letter.Kind.PRE_LITIGATION else Stage.AGENCY,
            reason="Approved after the final demand went unanswered",
            status=Escalation.Status.APPROVED,
            requested_on=TODAY,
            agency=AgencyFactory(name=AGENCY) if base_kind == Letter.Kind.PLACEMENT else None,
        )
    charges_interest = base_kind in (Letter.Kind.FINAL_DEMAND, Letter.Kind.INTEREST_NOTICE)
    return Letter.objects.create(
        dealer=dealer,
        kind=base_kind,
        level=int(level or (3 if base_kind == Letter.Kind.FINAL_DEMAND else 1)),
        issued_on=TODAY,
        cycle_started_on=TODAY,
        amount=TOTAL,
        escalation=escalation,
        deadline=None if base_kind == Letter.Kind.REMINDER else DEADLINE,
        interest_rate_percent=Decimal("9.00") if charges_interest else None,
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", list(PHRASES))
def test_every_letter_is_written_in_the_dealers_language(kind: str, language: str) -> None:
    dealer = dealer_speaking(language)
    letter = letter_of(kind, dealer)
    locale = LOCALE[language]

    pages = pages_of(printing.render_pdf(letter))
    text = squash("\n".join(pages))

    total = format_currency(TOTAL, "EUR", locale=locale, currency_digits=False)
    assert squash(dealer.name) in text
    assert squash(PHRASES[kind][language]) in text
    assert squash(total) in text  # €12,345.67 / 12.345,67 € / €12,345.67
    assert squash(format_decimal(Decimal("10000"), "#,##0.00", locale=locale)) in text
    assert squash(format_date(TODAY, "long", locale=locale)) in text  # the letter's date
    assert squash(format_date(dt.date(2025, 12, 31), "medium", locale=locale)) in text
    for number, page in enumerate(pages, start=1):
        assert squash(PAGE_LABEL[language].format(number, len(pages))) in squash(page)
    if language != "en":
        assert "Dear" not in text and "overdue" not in text
    if kind in ("final_demand", "interest_notice"):
        assert squash(RATE[language]) in text
    if kind in ("final_demand", "interest_notice", "pre_litigation", "placement"):
        assert squash(format_date(DEADLINE, "long", locale=locale)) in text
    if kind == "reconciliation":
        assert letter.reply_by is not None
        reply_by = format_date(letter.reply_by, "long", locale=locale)
        assert squash(CLAUSE[language].format(reply_by=reply_by, total=total)) in text
        for words in SLIP[language]:
            assert squash(words) in text
        assert squash(printing.reply_url(letter)) in text
        assert "PAY-77" in text  # the payment since the last 90 days
    if language == "zh-hans":
        # Real characters, extractable: not boxes, not glyphs without a Unicode mapping.
        assert "尊敬的" + dealer.name in text
        assert len(re.findall(r"[\u4e00-\u9fff]", text)) > 60
        assert "\ufffd" not in text


def test_page_numbers_are_translated_in_the_languages_word_order() -> None:
    template = Template(
        "{% load i18n letter_format %}"
        '{% blocktranslate with page="[[page]]" pages="[[pages]]" asvar label %}'
        "Page {{ page }} of {{ pages }}{% endblocktranslate %}{{ label|css_page_counters }}"
    )
    from django.utils import translation

    written = {}
    for language in LANGUAGES:
        with translation.override(language):
            written[language] = template.render(Context({}))

    assert written["en"] == '"Page " counter(page) " of " counter(pages)'
    assert written["es"] == '"Página " counter(page) " de " counter(pages)'
    assert written["zh-hans"] == '"第 " counter(page) " 页\uff0c共 " counter(pages) " 页"'


def test_amounts_dates_and_rates_are_written_by_the_letters_locale() -> None:
    amount = Decimal("1234.5")
    day = dt.date(2026, 3, 16)
    context = Context({"dealer": Dealer(currency="EUR"), "language": "es"})

    assert letter_format.currency_amount(context, amount) == "1.234,50\xa0€"
    assert letter_format.currency_amount(context, amount, "EUR", "en") == "€1,234.50"
    assert letter_format.currency_amount(context, amount, "EUR", "zh-hans") == "€1,234.50"
    assert letter_format.currency_amount(context, Decimal("12"), "JPY", "en") == "JP¥12.00"
    assert letter_format.amount(Decimal("1234567.005"), "es") == "1.234.567,01"  # half up
    assert letter_format.amount(None, "es") == ""
    assert letter_format.long_date(day, "es") == "16 de marzo de 2026"
    assert letter_format.long_date(day, "zh-hans") == "2026年3月16日"
    assert letter_format.long_date(day, "en") == "16 March 2026"
    assert letter_format.medium_date(day, "en") == "16 Mar 2026"
    assert letter_format.percent(Decimal("9.00"), "es") == "9,00\xa0%"
    assert letter_format.percent(Decimal("9.5"), "en") == "9.50%"
    assert letter_format.country_name("es") == "SPAIN"
    escaped = '"Hof \\22 A\\22  \\26  \\3c B\\3e \\a C"'
    assert letter_format.css_string('Hof "A" & <B>\nC') == escaped


def test_the_letter_catalogs_are_complete_and_compiled() -> None:
    """Every string of a letter has a real translation (none fuzzy, none empty), and the
    compiled catalogs are in the tree: a clean clone works without gettext."""
    root = Path(settings.BASE_DIR) / "locale"
    for folder in ("es", "zh_Hans"):
        messages = root / folder / "LC_MESSAGES"
        with (messages / "django.po").open("rb") as po:
            catalog = read_po(po)
        with (messages / "django.mo").open("rb") as mo:
            compiled = gettext.GNUTranslations(mo)
        letter_strings = [
            message
            for message in catalog
            if message.id
            and any(
                "templates/letters/" in path or "letter_format" in path
                for path, _line in message.locations
            )
        ]
        assert len(letter_strings) > 80
        for message in letter_strings:
            assert message.string, f"{folder}: no translation for {message.id!r}"
            assert not message.fuzzy, f"{folder}: fuzzy translation for {message.id!r}"
            assert compiled.gettext(message.id) == message.string, f"{folder}: compile again"


@pytest.mark.parametrize("paper", ["A4", "letter"])
def test_the_address_sits_in_the_envelopes_window(settings: Any, paper: str) -> None:
    """DIN 5008 form B: the window of a DL or C5 envelope is 20 mm from the left edge and
    45 mm from the top, 85 x 45 mm."""
    settings.LETTER_PAPER = paper
    dealer = dealer_speaking("es")
    reader = PdfReader(io.BytesIO(printing.render_pdf(letter_of("reminder-1", dealer))))
    page = reader.pages[0]
    height = float(page.mediabox.height)
    seen: dict[str, tuple[float, float]] = {}

    def visit(text: str, cm: list[float], tm: list[float], *_: Any) -> None:
        x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
        y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
        seen.setdefault(text.strip(), (x, y))

    page.extract_text(visitor_text=visit)
    mm = 72 / 25.4
    for line in (dealer.name, "28013 Madrid", "SPAIN"):
        x, baseline = seen[line]
        assert 20 * mm < x < 105 * mm, line
        assert 45 * mm < height - baseline < 90 * mm, line


def test_a_long_statement_runs_over_pages_with_its_header_on_each(settings: Any) -> None:
    settings.LETTER_PAPER = "A4"
    dealer = DealerFactory(name="Piensos del Norte S.A.", language="es", country="ES")
    for n in range(60):
        ordered_on = dt.date(2025, 9, 1) + dt.timedelta(days=2 * n)
        OrderFactory(
            dealer=dealer,
            number=f"L-{n:04d}",
            ordered_on=ordered_on,
            due_on=ordered_on + dt.timedelta(days=30),
            amount=Decimal("1000.00") + n,
        )
    letter = issue_reconciliation_letter(dealer=dealer, as_of=TODAY, today=TODAY, by=None)

    pages = pages_of(printing.render_pdf(letter))

    assert 2 <= len(pages) <= 3
    text = "\n".join(pages)
    for n in range(60):
        assert text.count(f"L-{n:04d}") == 1  # every order once: no row cut in two
    for page in pages:
        if re.search(r"L-\d{4}", page):
            assert "Fecha del pedido" in page  # the table's header repeats on each page
    total = format_currency(sum(Decimal("1000.00") + n for n in range(60)), "EUR", locale="es_ES")
    last = squash(pages[-1])
    assert squash(total) in last
    assert squash(f"Página {len(pages)} de {len(pages)}") in last
    assert squash("Talón de respuesta") in last  # the reply slip is kept whole, at the end
    assert squash(printing.reply_url(letter)) in last
