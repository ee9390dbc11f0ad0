"""Money is an integer of minor units plus an ISO currency code; this formats it for a language."""

from __future__ import annotations

from django.utils import translation

# (symbol before the amount in English, symbol after the amount in Spanish)
_SYMBOLS = {"USD": ("$", "US$"), "EUR": ("€", "€"), "GBP": ("£", "GBP"), "MXN": ("MX$", "MXN")}


def format_money(
    amount: int | None, currency: str, language: str | None = None, *, whole: bool = False
) -> str:
    """``47500, "USD"`` → ``$475.00`` in English, ``475,00 US$`` in Spanish.

    ``whole``: without the minor units (``$475``), for a chart's axis of round amounts.
    """
    if amount is None:
        return ""
    language = (language or translation.get_language() or "en")[:2]
    sign = "-" if amount < 0 else ""
    units, cents = divmod(abs(int(amount)), 100)
    english_symbol, spanish_symbol = _SYMBOLS.get(currency, (currency + " ", currency))
    if language == "es":
        grouped = f"{units:,}".replace(",", ".")
        decimals = "" if whole else f",{cents:02d}"
        return f"{sign}{grouped}{decimals}\u00a0{spanish_symbol}"
    return f"{sign}{english_symbol}{units:,}" + ("" if whole else f".{cents:02d}")
