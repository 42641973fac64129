"""The `money` template filter: two decimals and thousands separators, without floats."""

from decimal import Decimal

import pytest
from django.template import Context, Template

from receivables.templatetags.money import money


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        (Decimal("1234567.5"), "1,234,567.50"),
        (Decimal("0"), "0.00"),
        (Decimal("0.005"), "0.01"),
        (Decimal("-1234.555"), "-1,234.56"),
        (Decimal("999.995"), "1,000.00"),
        (Decimal("12345678901234.99"), "12,345,678,901,234.99"),
        (12, "12.00"),
        (None, ""),
        ("not a number", ""),
    ],
)
def test_money_formats_amounts(value, shown):
    assert money(value) == shown


def test_money_is_usable_in_templates():
    template = Template("{% load money %}{{ amount|money }}")
    assert template.render(Context({"amount": Decimal("2500")})) == "2,500.00"
