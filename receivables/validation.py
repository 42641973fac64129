"""The checks that the API, the importer, the forms and the services share: what a
country, a currency, an amount of money and a text may be. Each returns what is wrong
("" when nothing is), and every caller words its refusal around it.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import Decimal
from typing import Final

from django.conf import settings

CENT: Final = Decimal("0.01")
# The largest amount a DecimalField(max_digits=14, decimal_places=2) holds.
MAX_MONEY: Final = Decimal("999999999999.99")

_ISO_3166_ALPHA_2 = """
    AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO
    BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ
    DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP
    GQ GR GS GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG
    KH KI KM KN KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML
    MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE
    PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL
    SM SN SO SR SS ST SV SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM
    US UY UZ VA VC VE VG VI VN VU WF WS YE YT ZA ZM ZW
"""
COUNTRY_CODES: Final = frozenset(_ISO_3166_ALPHA_2.split())
CURRENCY_CODE: Final = re.compile(r"[A-Z]{3}")


def country_problem(code: str) -> str:
    """An officially assigned ISO 3166 alpha-2 code, in capitals (DE, not de or XX)."""
    if code in COUNTRY_CODES:
        return ""
    return f"{code!r} is not an ISO 3166 alpha-2 code such as DE"


def as_sentence(problem: str) -> str:
    """A problem these checks return, as a message of its own ("'XX' is not ...")."""
    return problem[0].upper() + problem[1:] + "."


def currency_problem(code: str) -> str:
    """Three capital letters, as ISO 4217 writes currency codes."""
    if CURRENCY_CODE.fullmatch(code):
        return ""
    return f"{code!r} is not a currency code such as EUR"


def money_problem(amount: Decimal, *, zero_allowed: bool = False) -> str:
    """A finite amount with at most two decimals that the ledger can hold, more than
    zero (or zero or more)."""
    if not amount.is_finite():
        return "is not a finite number"
    if abs(amount) > MAX_MONEY:
        return f"is too large (at most {MAX_MONEY})"
    if amount != amount.quantize(CENT):
        return "has more than 2 decimals"
    if amount < 0 or (amount == 0 and not zero_allowed):
        return "must be 0 or more" if zero_allowed else "must be more than 0"
    return ""


def received_on_problem(day: dt.date, *, today: dt.date) -> str:
    """Money counts from the day it arrived, so a payment cannot be dated after business
    `today`: allocated "early", it would settle orders and stop reminders for money that
    is not there yet."""
    if day > today:
        return f"is after today ({today.isoformat()})"
    return ""


def text_problem(value: str) -> str:
    """PostgreSQL cannot store NUL characters: refuse them as bad input, not fail later."""
    return "must not contain NUL characters" if "\x00" in value else ""


# ExchangeRate.rate is a DecimalField(max_digits=18, decimal_places=8).
RATE_PLACES: Final = Decimal("1E-8")
MAX_RATE: Final = Decimal("9999999999.99999999")


def rate_currency_problem(code: str) -> str:
    """A currency that takes an exchange rate: a currency code, but not the reporting
    currency, whose rate is always 1."""
    problem = currency_problem(code)
    if not problem and code == settings.REPORTING_CURRENCY:
        problem = f"{code} is the reporting currency; its rate is always 1"
    return problem


def rate_problem(rate: Decimal) -> str:
    """An exchange rate the ledger can hold: finite, more than zero, at most 8 decimals
    and at most 10 digits before the point."""
    if not rate.is_finite():
        return "is not a finite number"
    if rate <= 0:
        return "must be more than 0"
    # Size before decimals: quantizing a huge number would overflow the decimal context.
    if rate > MAX_RATE:
        return "is too large (at most 10 digits before the decimal point)"
    if rate != rate.quantize(RATE_PLACES):
        return "has more than 8 decimals"
    return ""
