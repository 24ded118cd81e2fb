"""Signed numbers as a reader reads them: a part too small to show is 0, never "-0.000"."""

from __future__ import annotations


def signed(value: float, digits: int = 3) -> str:
    """``value`` with its sign to ``digits`` places ("+0.125", "-1.50"); one that rounds to
    zero at that precision reads "0.000" (a share of a ten-thousandth is nothing to show, and
    a minus sign on it would call it a loss)."""
    text = f"{value:+.{digits}f}"
    return f"{0.0:.{digits}f}" if float(text) == 0.0 else text
