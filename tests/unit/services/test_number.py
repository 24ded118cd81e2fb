"""Signed numbers as the explanations print them."""

from __future__ import annotations

import math

import pytest

from app.services.number import signed


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [
        (0.125, 3, "+0.125"),
        (-1.5, 2, "-1.50"),
        (-0.00004, 3, "0.000"),
        (0.00004, 3, "0.000"),
        (-0.0, 3, "0.000"),
        (-0.0006, 3, "-0.001"),
        (-0.004, 2, "0.00"),
        (math.inf, 3, "+inf"),
    ],
)
def test_signed(value: float, digits: int, text: str) -> None:
    assert signed(value, digits) == text
