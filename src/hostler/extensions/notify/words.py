"""Durations and percentages as notify's messages say them."""

from __future__ import annotations

import re

from hostler.core import durations


def spoken(seconds: float) -> str:
    """Return ``seconds`` as people read a duration: ``12m 5s``."""
    whole = round(seconds)
    return re.sub(r"(?<=[a-z])(?=\d)", " ", durations.format(whole)) if whole else "0s"


def percent(value: float) -> str:
    """Return ``value`` with at most one decimal: ``60``, ``66.7``."""
    return f"{value:.1f}".removesuffix(".0")
