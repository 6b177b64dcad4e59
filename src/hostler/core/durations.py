"""Durations as people write them (``30s``, ``5m``, ``1h30m``) and as Hostler keeps them."""

from __future__ import annotations

import math
import re

_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d)")
_UNITS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse(value: object, *, zero: bool = False) -> float:
    """Return the number of seconds in ``value``: a number of seconds or a string like ``1h30m``.

    Raises ValueError with a readable message for anything else, including negative values and,
    unless ``zero`` allows it, zero.
    """
    if isinstance(value, bool):
        raise ValueError("a duration is a number of seconds or a string such as '30s' or '5m'")
    if isinstance(value, int | float):
        try:
            seconds = float(value)
        except OverflowError:
            raise ValueError("a duration must be a finite number of seconds") from None
    elif isinstance(value, str):
        text = value.strip().replace(" ", "")
        if re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        else:
            parts = _PART.findall(text)
            if not parts or "".join(n + u for n, u in parts) != text:
                raise ValueError(
                    f"'{value}' is not a duration; write it like '30s', '5m' or '1h30m'"
                )
            seconds = sum(float(n) * _UNITS[u] for n, u in parts)
    else:
        raise ValueError("a duration is a number of seconds or a string such as '30s' or '5m'")
    if not math.isfinite(seconds):
        raise ValueError("a duration must be a finite number of seconds")
    if seconds < 0 or (seconds == 0 and not zero):
        raise ValueError(f"a duration must be {'zero or more' if zero else 'greater than zero'}")
    return seconds


def parse_or_zero(value: object) -> float:
    """``parse``, with zero allowed (``0``, ``0s``): for waits that may be none at all."""
    return parse(value, zero=True)


def format(seconds: float) -> str:
    """Return ``seconds`` written compactly, e.g. ``90`` as ``1m30s``."""
    if seconds < 1:
        return f"{round(seconds * 1000)}ms"
    whole = int(seconds)
    out = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if whole >= size:
            out.append(f"{whole // size}{unit}")
            whole %= size
    rest = seconds - int(seconds) + whole
    if rest or not out:
        out.append(f"{rest:g}s")
    return "".join(out)
