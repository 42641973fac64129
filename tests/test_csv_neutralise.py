"""The one helper that keeps a CSV cell from being read as a formula by a spreadsheet
(CSV injection): a value starting with =, +, -, @, a tab or a carriage return gets a
leading single quote; anything else is left exactly as it was."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dunning.views.history import FORMULA_STARTS, neutralise


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+2", "'=1+2"),
        ('=HYPERLINK("http://evil")', '\'=HYPERLINK("http://evil")'),
        ("+49 30 123", "'+49 30 123"),
        ("-5 bags short", "'-5 bags short"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("Bag count 5", "Bag count 5"),
        ("1000.00", "1000.00"),
        ("'quoted", "'quoted"),
        ("", ""),
        ("a=b", "a=b"),
    ],
)
def test_examples(value: str, expected: str) -> None:
    assert neutralise(value) == expected


@given(st.text())
def test_no_cell_starts_like_a_formula(value: str) -> None:
    assert not neutralise(value).startswith(FORMULA_STARTS)


@given(st.text())
def test_only_a_quote_is_ever_added(value: str) -> None:
    result = neutralise(value)
    assert result in (value, "'" + value)
    assert (result != value) == value.startswith(FORMULA_STARTS)
