"""Currencies and money text: the one place slactl asks Babel about money.

ISO 4217 knows which codes exist and how many minor-unit digits each has (USD 2,
JPY 0, BHD 3). The config uses it to refuse ``currency: euro`` and a fee of
``"12000.005"`` at load time, so a typo never reaches an invoice; the statements
use it to print an amount the way a reader in the statement's locale expects
("$12,000.00", "12.000,00 €"), never "USD 12000.00".
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_currency_precision, list_currencies

DEFAULT_LOCALE = "en_US"


@lru_cache(maxsize=1)
def _codes() -> frozenset[str]:
    return frozenset(list_currencies())


def is_currency(code: str) -> bool:
    """True for an ISO 4217 code in its canonical upper-case form (``USD``, not ``usd``)."""
    return code in _codes()


def minor_digits(code: str) -> int:
    """Digits after the decimal point of the currency's minor unit (USD 2, JPY 0, KWD 3)."""
    return get_currency_precision(code)


def finer_than_minor_unit(amount: Decimal, code: str) -> bool:
    """True when ``amount`` has digits below the currency's minor unit (``12000.005`` USD)."""
    exponent = amount.normalize().as_tuple().exponent
    return isinstance(exponent, int) and -exponent > minor_digits(code)


def quantum(code: str) -> Decimal:
    """The currency's minor unit as a Decimal quantum: ``0.01`` for USD, ``1`` for JPY."""
    return Decimal(1).scaleb(-minor_digits(code))


def format_money(amount: Decimal, code: str, locale: str = DEFAULT_LOCALE) -> str:
    """Locale-aware money text with grouping: ``Decimal("12000")``, USD → ``$12,000.00``.

    ``currency_digits`` keeps the ISO minor unit; amounts are already rounded by the
    credit arithmetic, so Babel never rounds here.
    """
    return format_currency(amount, code, locale=locale, currency_digits=True)


def format_exact(amount: Decimal, code: str, locale: str = DEFAULT_LOCALE) -> str:
    """Money text that keeps every digit of ``amount`` (a working figure before rounding)."""
    return format_currency(amount, code, locale=locale, currency_digits=True, decimal_quantization=False)


def format_number(value: Decimal | int, locale: str = DEFAULT_LOCALE) -> str:
    """A plain number with the locale's grouping and decimal sign, every digit kept."""
    return format_decimal(value, locale=locale, decimal_quantization=False)


def format_day(day: date, locale: str = DEFAULT_LOCALE) -> str:
    """A calendar date spelt out for the locale (``January 5, 2026``), never ambiguous."""
    return format_date(day, format="long", locale=locale)


def is_locale(name: str) -> bool:
    """True when Babel knows the locale (``en_US``, ``de_DE``)."""
    try:
        Locale.parse(name)
    except (UnknownLocaleError, ValueError, TypeError):
        return False
    return True
