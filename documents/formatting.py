"""French formatting and parsing of dates and amounts for generated documents.

What this module outputs, exactly (it matters when a test or a caller compares text):

- ``format_amount(Decimal("12500"))`` returns Babel's fr_FR currency format,
  ``"12\\u202f500,00\\u00a0€"``: thousands are grouped with U+202F NARROW NO-BREAK SPACE
  and the euro sign is preceded by U+00A0 NO-BREAK SPACE, so an amount never wraps
  across two lines in Word. Pass ``plain_spaces=True`` to get ordinary spaces
  (``"12 500,00 €"``), e.g. for a text input or a CSV export.
- ``format_date`` returns ``"26 octobre 2009"``, and ``"1er octobre 2009"`` for the first
  day of a month, as French usage requires.
- ``amount_in_words`` returns ``"douze mille cinq cents euros et cinquante centimes"``,
  with ``"un million d'euros"`` (million and milliard are nouns) and singular ``euro`` /
  ``centime`` for one.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from babel.dates import format_date as _babel_format_date
from babel.numbers import format_currency as _babel_format_currency

LOCALE = "fr_FR"
CURRENCY = "EUR"

#: Amounts above this are refused on input: no convention of the programme comes near it,
#: and it keeps typing mistakes (an extra group of zeros) from going through.
MAX_AMOUNT = Decimal("1000000000000")

_CENT = Decimal("0.01")
# Every kind of space a user may paste from Word, a PDF or our own output.
_SPACES = re.compile(r"[\s\u00a0\u202f\u2009\u2007\u2008\u200a\u200b']+")
_CURRENCY_WORDS = re.compile(r"(€|eur(?:os?)?\b)", re.IGNORECASE)
_ISO_DATE = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_FR_DATE = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")


def format_date(value: dt.date) -> str:
    """Format a date in French administrative style: "26 octobre 2009", "1er mars 2010"."""
    if isinstance(value, dt.datetime):
        value = value.date()
    month_year = _babel_format_date(value, "MMMM y", locale=LOCALE)
    day = "1er" if value.day == 1 else str(value.day)
    return f"{day} {month_year}"


def format_amount(value: Decimal | int, *, plain_spaces: bool = False) -> str:
    """Format an amount in euros as Babel fr_FR does: "12 500,00 €" (no-break spaces)."""
    amount = _to_decimal(value)
    text = _babel_format_currency(amount, CURRENCY, locale=LOCALE)
    if plain_spaces:
        text = text.replace("\u202f", " ").replace("\u00a0", " ")
    return text


def amount_in_words(value: Decimal | int) -> str:
    """Write an amount in euros in French words: "douze mille cinq cents euros et cinquante centimes"."""
    # Imported here: num2words loads every language it knows, and the render worker
    # process only needs it when a template actually asks for an amount in words.
    from num2words import num2words

    amount = _to_decimal(value).quantize(_CENT, rounding=ROUND_HALF_UP)
    sign = "moins " if amount < 0 else ""
    amount = abs(amount)
    euros = int(amount)
    cents = int((amount - euros) * 100)

    parts: list[str] = []
    if euros or not cents:
        words = num2words(euros, lang="fr")
        if euros >= 2:
            # "un million d'euros", "deux milliards d'euros", but "un million cent euros".
            unit = "d'euros" if re.search(r"(million|milliard)s?$", words) else "euros"
        else:
            unit = "euro"
        parts.append(f"{words} {unit}")
    if cents:
        parts.append(f"{num2words(cents, lang='fr')} {'centimes' if cents >= 2 else 'centime'}")
    return sign + " et ".join(parts)


def parse_amount(text: str) -> Decimal:
    """Read an amount typed by a user: "12 500,50", "12500.50", "12 500 €" -> Decimal("12500.50")."""
    original = text
    cleaned = _CURRENCY_WORDS.sub("", str(text))
    cleaned = _SPACES.sub("", cleaned)
    if not cleaned:
        raise ValueError("Montant manquant : saisissez un nombre, par exemple 12 500,50.")
    sign = ""
    if cleaned[0] in "+-":
        sign, cleaned = ("-" if cleaned[0] == "-" else ""), cleaned[1:]
    if not re.fullmatch(r"[\d.,]+", cleaned) or not cleaned[0].isdigit():
        raise ValueError(
            f"Montant invalide : « {original} ». Saisissez un nombre en euros, "
            "par exemple 12 500,50 ou 12500.50."
        )
    number = _normalise_separators(cleaned, original)
    try:
        amount = Decimal(sign + number)
    except InvalidOperation:  # pragma: no cover - the regexes above leave only digits and one dot
        raise ValueError(f"Montant invalide : « {original} ».") from None
    if amount.as_tuple().exponent < -2:  # type: ignore[operator]  # a finite Decimal's exponent is an int (checked above)
        raise ValueError(
            f"Montant invalide : « {original} » a plus de deux chiffres après la virgule "
            "(les centimes s'écrivent avec deux chiffres au plus)."
        )
    if abs(amount) >= MAX_AMOUNT:
        raise ValueError(f"Montant invalide : « {original} » est trop grand.")
    return amount.quantize(_CENT)


def parse_date(text: str) -> dt.date:
    """Read a date typed by a user: "2026-01-31" (ISO, as sent by HTML forms) or "31/01/2026"."""
    cleaned = str(text).strip()
    match = _ISO_DATE.match(cleaned)
    if match:
        year, month, day = (int(g) for g in match.groups())
    else:
        match = _FR_DATE.match(cleaned)
        if not match:
            raise ValueError(
                f"Date invalide : « {text} ». Saisissez une date au format JJ/MM/AAAA, "
                "par exemple 31/01/2026."
            )
        day, month, year = (int(g) for g in match.groups())
    if not 1900 <= year <= 2200:
        raise ValueError(f"Date invalide : « {text} » : l'année {year} est hors limites.")
    try:
        return dt.date(year, month, day)
    except ValueError:
        raise ValueError(
            f"Date invalide : « {text} » n'existe pas dans le calendrier "
            "(vérifiez le jour et le mois)."
        ) from None


def _normalise_separators(digits: str, original: str) -> str:
    """Turn "12.500,50", "12,500.50", "12500,5" or "1.000.000" into "12500.50"-style text."""
    commas, dots = digits.count(","), digits.count(".")
    if commas and dots:
        # Both used: the rightmost one is the decimal mark, the other groups thousands.
        decimal_mark = "," if digits.rfind(",") > digits.rfind(".") else "."
        group_mark = "." if decimal_mark == "," else ","
        whole, _, fraction = digits.rpartition(decimal_mark)
        if decimal_mark in whole or not _is_grouped(whole, group_mark):
            raise ValueError(f"Montant invalide : « {original} » (séparateurs incohérents).")
        return whole.replace(group_mark, "") + "." + fraction
    mark = "," if commas else "." if dots else ""
    if not mark:
        return digits
    if digits.count(mark) > 1:
        # "1.000.000": the mark can only be a thousands separator.
        if not _is_grouped(digits, mark):
            raise ValueError(f"Montant invalide : « {original} » (séparateurs incohérents).")
        return digits.replace(mark, "")
    whole, _, fraction = digits.partition(mark)
    if not fraction:
        raise ValueError(f"Montant invalide : « {original} » (chiffres manquants après la virgule).")
    return whole + "." + fraction


def _is_grouped(text: str, mark: str) -> bool:
    """True when ``text`` is digits grouped by three with ``mark`` ("1.000.000")."""
    groups = text.split(mark)
    return 1 <= len(groups[0]) <= 3 and all(len(g) == 3 and g.isdigit() for g in groups[1:])


def _to_decimal(value: Decimal | int) -> Decimal:
    """Accept Decimal and int; refuse float, whose binary rounding has no place in money."""
    if isinstance(value, bool) or not isinstance(value, (Decimal, int)):
        raise TypeError(f"montant attendu en Decimal ou int, pas {type(value).__name__}")
    return Decimal(value)
