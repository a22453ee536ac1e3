"""A phase's words shared by the terminal table and the HTML plan (no rich: the HTML path
does not import it), so the two show the same start time and dose per intake."""

from __future__ import annotations

import datetime as dt
import math

from ketadose.describe import hours_text
from ketadose.render.numbers import number


def clock(start, hours) -> str | None:
    """The wall-clock time ``hours`` after ``start`` (--start), None without a start."""
    if start is None or hours is None or math.isnan(hours):
        return None
    return (start + dt.timedelta(hours=hours)).strftime("%a %d %b %H:%M")


def starts_text(p, start) -> str:
    """When a phase starts: the clock time with --start, else hours from the session's start
    ('' for a phase given per day, which has no start within a session)."""
    return clock(start, p.start_h) or (f"+{hours_text(p.start_h)}" if p.duration_h else "")


def per_intake_text(i) -> str | None:
    """An intake's dose with the per-intake maximum at the top of a titration ("35-70 mg");
    None when the regimen gives no amount in mg (topical)."""
    if i.per_dose_mg is None:
        return None
    if i.per_dose_mg_max is not None and abs(i.per_dose_mg_max - i.per_dose_mg) > 1e-9:
        return f"{number(i.per_dose_mg, 1)}-{number(i.per_dose_mg_max, 1, 'mg')}"
    return number(i.per_dose_mg, 1, "mg")
