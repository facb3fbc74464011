"""Currencies and money text: the one place slactl asks Babel about money.

ISO 4217 knows which codes exist and how many minor-unit digits each has (USD 2,
JPY 0, BHD 3). The config uses it to refuse ``currency: euro`` and a fee of
``"12000.005"`` at load time, so a typo never reaches an invoice; the statements
use it to print an amount the way a reader in the statement's locale expects
("$12,000.00", "12.000,00 €", "¥1,235"), never "USD 12000.00".

Babel rounds what it formats half-even in the current decimal context (28
digits), so it is never asked to: amounts are rounded once, half-up, by
``slactl.sla.credits`` to the currency's minor unit, and :func:`format_money`
refuses an amount with a digit below it instead of rounding it a second time.
Fees are kept below :data:`MAX_AMOUNT`, so every amount fits that context.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal, localcontext
from functools import lru_cache

from babel import Locale, UnknownLocaleError
from babel.dates import format_date
from babel.numbers import format_currency, format_decimal, get_currency_precision, list_currencies

DEFAULT_LOCALE = "en_US"
# The largest fee a config may hold is below this (10^15, in any currency): with
# ISO 4217's at most 4 minor digits every amount has at most 19 digits.
MAX_AMOUNT = Decimal(10) ** 15
MAX_AMOUNT_TEXT = "1,000,000,000,000,000"


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
    """True when ``amount`` has digits below the currency's minor unit (``12000.005`` USD).

    Read from the digits as written (trailing zeros do not count), not through
    ``normalize()``, which would first round a long amount to the context's 28 digits.
    """
    _, digits, exponent = amount.as_tuple()
    if not isinstance(exponent, int) or not any(digits):
        return False
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return -(exponent + trailing) > minor_digits(code)


def quantum(code: str) -> Decimal:
    """The currency's minor unit as a Decimal quantum: ``0.01`` for USD, ``1`` for JPY."""
    return Decimal(1).scaleb(-minor_digits(code))


@contextmanager
def _room(amount: Decimal) -> Iterator[None]:
    """A decimal context wide enough that Babel's quantize of ``amount`` is exact, never an error."""
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, len(amount.as_tuple().digits) + abs(amount.adjusted()) + 8)
        yield


def format_money(amount: Decimal, code: str, locale: str = DEFAULT_LOCALE) -> str:
    """Locale-aware money text with grouping: ``Decimal("12000")``, USD → ``$12,000.00``.

    Exactly the currency's minor digits (``¥1,235``, ``KWD 100.013``), padded
    but never rounded: an amount with a digit below the minor unit is a
    ``ValueError``, since rounding it here would be a second, half-even rounding.
    """
    if not amount.is_finite() or finer_than_minor_unit(amount, code):
        raise ValueError(f"{amount} {code} is not in whole minor units of {code}: round it before formatting")
    with _room(amount):
        return format_currency(amount, code, locale=locale, currency_digits=True, decimal_quantization=False)


def format_exact(amount: Decimal, code: str, locale: str = DEFAULT_LOCALE) -> str:
    """Money text that keeps every digit of ``amount`` (a working figure before rounding)."""
    with _room(amount):
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
