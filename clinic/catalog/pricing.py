"""Prices as admins type them ("650", "650,00", "1.250,50") and as the database keeps them (øre).

Pure: no Flask, no database.
"""

from __future__ import annotations

import re

from clinic.text import N_

# The most a single session may cost, in whole kroner: a typo guard (6500 meant 650).
MAX_PRICE = 20_000

_PRICE_RE = re.compile(
    r"""^(?P<whole>\d{1,3}(?:[.\s]\d{3})+|\d+)   # 650, 1250, 1.250 or 1 250
        (?:,(?P<decimals>\d{1,2})|\.(?P<dot>\d{1,2}))?$  # ,50 (Danish) or .50""",
    re.VERBOSE,
)


class PriceError(ValueError):
    """A price that cannot be read; the message is fit to show beside the field.

    `message` is English with %(name)s holes for `values` (numbers), to be translated where it
    is shown; str() is the English text."""

    def __init__(self, message: str, **values: int) -> None:
        super().__init__(message % {k: f"{v:,}" for k, v in values.items()})
        self.message = message
        self.values = values


def parse_price(text: str) -> int:
    """The price in øre of a price typed in kroner: '650' -> 65000, '650,5' -> 65050.

    A comma is the decimal mark, as in Danish; a dot followed by one or two digits is read as
    one too ('650.50'), a dot before three digits separates thousands ('1.250'). 'kr' and 'DKK'
    around the number are allowed. Raises PriceError for anything else, negative numbers and
    prices above MAX_PRICE.
    """
    cleaned = text.strip()
    cleaned = re.sub(r"^(?:dkk|kr\.?)\s*|\s*(?:dkk|kr\.?)$", "", cleaned, flags=re.IGNORECASE)
    match = _PRICE_RE.match(cleaned.strip())
    if not match:
        raise PriceError(N_("Enter the price in kroner, for example 650 or 650,00."))
    whole = int(re.sub(r"[.\s]", "", match["whole"]))
    decimals = match["decimals"] or match["dot"] or "0"
    minor = whole * 100 + int(decimals.ljust(2, "0"))
    if minor > MAX_PRICE * 100:
        raise PriceError(
            N_("A session costs at most DKK %(max)s; check the number."), max=MAX_PRICE
        )
    return minor


def price_input(minor: int) -> str:
    """How a stored price is put back into the form: 65000 -> '650', 65050 -> '650,50'."""
    whole, cents = divmod(minor, 100)
    return f"{whole}" if not cents else f"{whole},{cents:02d}"
