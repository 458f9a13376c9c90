"""French dates and amounts: formatting, words, parsing (tables of real cases)."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from documents.formatting import (
    amount_in_words,
    format_amount,
    format_date,
    parse_amount,
    parse_date,
)

NNBSP = "\u202f"  # Babel's thousands separator in fr_FR
NBSP = "\u00a0"  # before the euro sign


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2009, 10, 26), "26 octobre 2009"),
        (dt.date(2010, 1, 1), "1er janvier 2010"),
        (dt.date(2024, 2, 29), "29 février 2024"),
        (dt.date(2026, 8, 15), "15 août 2026"),
        (dt.date(2026, 12, 1), "1er décembre 2026"),
        (dt.date(2026, 3, 2), "2 mars 2026"),
        (dt.datetime(2026, 5, 1, 14, 30), "1er mai 2026"),
    ],
)
def test_format_date(day: dt.date, expected: str) -> None:
    assert format_date(day) == expected


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        (Decimal("12500"), f"12{NNBSP}500,00{NBSP}€"),
        (Decimal("0.5"), f"0,50{NBSP}€"),
        (Decimal("1000000"), f"1{NNBSP}000{NNBSP}000,00{NBSP}€"),
        (Decimal("999.99"), f"999,99{NBSP}€"),
        (1234, f"1{NNBSP}234,00{NBSP}€"),
    ],
)
def test_format_amount_uses_babel_no_break_spaces(amount: Decimal, expected: str) -> None:
    assert format_amount(amount) == expected


def test_format_amount_plain_spaces() -> None:
    assert format_amount(Decimal("1000000"), plain_spaces=True) == "1 000 000,00 €"


def test_format_amount_refuses_float() -> None:
    with pytest.raises(TypeError):
        format_amount(0.1)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("amount", "expected"),
    [
        ("12500", "douze mille cinq cents euros"),
        ("12500.50", "douze mille cinq cents euros et cinquante centimes"),
        ("0.50", "cinquante centimes"),
        ("0.01", "un centime"),
        ("0", "zéro euro"),
        ("1", "un euro"),
        ("1.01", "un euro et un centime"),
        ("80", "quatre-vingts euros"),
        ("81", "quatre-vingt-un euros"),
        ("200", "deux cents euros"),
        ("21", "vingt et un euros"),
        ("1000000", "un million d'euros"),
        ("2000000", "deux millions d'euros"),
        ("1000100", "un million cent euros"),
        ("34750.50", "trente-quatre mille sept cent cinquante euros et cinquante centimes"),
    ],
)
def test_amount_in_words(amount: str, expected: str) -> None:
    assert amount_in_words(Decimal(amount)) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("12 500,50", "12500.50"),
        ("12500.50", "12500.50"),
        ("12 500 €", "12500.00"),
        ("12 500,00 €", "12500.00"),
        (f"12{NNBSP}500,00{NBSP}€", "12500.00"),  # our own output, pasted back
        ("12.500,50", "12500.50"),
        ("12,500.50", "12500.50"),
        ("1.000.000", "1000000.00"),
        ("0,5", "0.50"),
        ("  300 euros ", "300.00"),
        ("7", "7.00"),
    ],
)
def test_parse_amount_accepts(text: str, expected: str) -> None:
    assert parse_amount(text) == Decimal(expected)


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("", "Montant manquant"),
        ("abc", "Montant invalide"),
        ("12,345", "deux chiffres"),
        ("1.2.3", "séparateurs"),
        ("12,5,0", "séparateurs"),
        ("1 000 000 000 000", "trop grand"),
        ("12,", "chiffres manquants"),
    ],
)
def test_parse_amount_refuses_with_french_message(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_amount(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-01-31", dt.date(2026, 1, 31)),
        ("31/01/2026", dt.date(2026, 1, 31)),
        ("1/3/2010", dt.date(2010, 3, 1)),
        ("29/02/2024", dt.date(2024, 2, 29)),
        (" 26.10.2009 ", dt.date(2009, 10, 26)),
    ],
)
def test_parse_date_accepts(text: str, expected: dt.date) -> None:
    assert parse_date(text) == expected


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("29/02/2023", "n'existe pas"),
        ("31/04/2026", "n'existe pas"),
        ("2026/01/31", "JJ/MM/AAAA"),
        ("demain", "JJ/MM/AAAA"),
        ("01/01/1066", "hors limites"),
    ],
)
def test_parse_date_refuses_with_french_message(text: str, fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment):
        parse_date(text)


def test_round_trip_amount_through_text() -> None:
    for amount in (Decimal("0.01"), Decimal("12500.50"), Decimal("999999999.99")):
        assert parse_amount(format_amount(amount)) == amount
