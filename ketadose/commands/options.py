"""Command-line values that carry numbers, checked before any calculation.

NaN, infinities, zero, negative zero, negative and subnormal values (``1e-320`` divides to
infinity) make no sense for a strength, a rate constant or a volume: they are refused here with
the option's name (exit 2), so that no calculation ever sees them. Whether a sensible value is
clinically acceptable is the limit library's business, not this module's.
"""

from __future__ import annotations

import datetime as dt
import math
import sys

from ketadose.errors import KetadoseError
from ketadose.isotime import parse_date, parse_datetime
from ketadose.render.text import quote_token

_TINY = sys.float_info.min  # smallest normal float; below it 1/x overflows


def positive(value: float, option: str, what: str = "a positive number") -> float:
    """``value`` if it is a finite, normal, positive float; else an input error naming ``option``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise KetadoseError(f"{option} must be {what}")
    if not math.isfinite(value):
        raise KetadoseError(f"{option} must be {what}, not {value!r}")
    if value <= 0 or value < _TINY:
        raise KetadoseError(f"{option} must be {what} greater than zero, not {value!r}")
    return float(value)


def number(text: str, option: str) -> float:
    """A plain decimal number from an option's text (no nan/inf spellings)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise KetadoseError(f"{option} {quote_token(text)} is not a number") from None
    if not math.isfinite(value):
        raise KetadoseError(f"{option} must be a finite number, not {quote_token(text)}")
    return value


def concentration(text: str | None):
    if text is None:
        return None
    from ketadose.units import parse_quantity

    try:
        q = parse_quantity(text, ("concentration",))
    except KetadoseError as exc:
        raise KetadoseError(f"--concentration: {exc.message}") from None
    positive(q.value, "--concentration", "a strength")
    positive(q.magnitude("mg/mL"), "--concentration", "a strength")
    return q


def ka(value) -> float | None:
    return None if value is None else positive(value, "--ka", "an absorption rate constant (1/min)")


def bioavailability(value) -> float | None:
    if value is None:
        return None
    positive(value, "--f", "a fraction between 0 and 1")
    if value > 1:
        raise KetadoseError("--f must be a fraction between 0 and 1")
    return value


def priming(value) -> float | None:
    """The priming volume in mL as a float. ketadose.api passes what its caller gave: a numpy
    number is the number it is (a numpy float32 reached the safety gate as itself and failed
    its invariant, exit 3), true/false and text are not volumes (True was 1 mL, '5' a bare
    TypeError)."""
    import numbers

    if value is None:
        return None
    if isinstance(value, bool) or type(value).__name__ in ("bool_", "bool") \
            or not isinstance(value, numbers.Real):
        raise KetadoseError(f"--priming must be a volume in mL (0 to 500), not "
                            f"{quote_token(repr(value))}")
    value = float(value) + 0.0  # -0.0 is 0 mL (no output prints a negative zero)
    if not math.isfinite(value) or not 0 <= value <= 500:
        raise KetadoseError(f"--priming must be a volume in mL (0 to 500), not {value!r}")
    return value


def start(value: str | None):
    if value is None:
        return None
    try:  # a date alone would silently mean midnight: the sessions are at clock times
        day = parse_date(value.strip())
    except ValueError:
        day = None
    if day is not None:
        raise KetadoseError(f"--start {quote_token(value)} has no time of day: the sessions are "
                            f"at clock times; write the date and time, e.g. {day.isoformat()}T09:00")
    try:
        moment = parse_datetime(value)
    except ValueError:
        raise KetadoseError(f"--start {quote_token(value)} is not a date and time "
                            "(e.g. 2026-12-01T09:00)") from None
    # A course lasts at most weeks; every date it reaches must be a real calendar date.
    if moment.year > 9000 or moment.year < 1900:
        raise KetadoseError(f"--start {quote_token(value)}: the year must be between 1900 and 9000")
    return moment


def date(value: str | None) -> dt.date:
    """The day of --start/--date (check, import): a date, or a date and time (its day)."""
    if value is None:
        return dt.date.today()
    try:
        day = parse_date(value)
    except ValueError:
        try:
            day = parse_datetime(value).date()
        except ValueError:
            raise KetadoseError(f"--start {quote_token(value)} is not a date (YYYY-MM-DD, or "
                                "YYYY-MM-DDTHH:MM)") from None
    if day.year > 9000 or day.year < 1900:
        raise KetadoseError(f"--start {quote_token(value)}: the year must be between 1900 and 9000")
    return day
