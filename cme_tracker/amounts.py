"""How the society writes a credit amount: a decimal string such as ``0``, ``1`` or ``1.5``, never a float.

Pages, PDFs, exports and every JSON answer write amounts the same way; credits are Decimals throughout.
"""

from __future__ import annotations

from decimal import Decimal


def format_amount(amount: Decimal) -> str:
    """An amount as the decimal string the JSON contract shows: ``0``, ``1``, ``1.5``, never an exponent."""
    return f"{amount.normalize():f}" if amount else "0"
