"""ISO 8601 dates and times read alike on every Python that setup.cfg allows.

From Python 3.11 on, `date.fromisoformat` and `datetime.fromisoformat` read most of ISO 8601
(20261201, 2026-W49-2, 09:00:00.5, 0900, a trailing Z); on 3.10 they read only what
`isoformat()` writes, so `--start 2026-12-01T09:00Z` made a plan on 3.11 and was refused on
3.10, and `--start 20261201` was "no time of day" on one and "not a date and time" on the other.
On 3.10 the backport of 3.11's functions (backports-datetime-fromisoformat, a dependency there
only) reads them, with its time zones made `datetime.timezone`s as 3.11's are (its own class
would be a different object in a plan's start). tests/test_isotime.py runs on every version.
"""

from __future__ import annotations

import datetime as dt
import sys

__all__ = ["parse_date", "parse_datetime"]

if sys.version_info >= (3, 11):
    parse_date = dt.date.fromisoformat
    parse_datetime = dt.datetime.fromisoformat
else:  # pragma: no cover - Python 3.10
    from backports.datetime_fromisoformat import date_fromisoformat as parse_date
    from backports.datetime_fromisoformat import datetime_fromisoformat as _backport

    def parse_datetime(text: str) -> dt.datetime:
        moment = _backport(text)
        offset = moment.utcoffset()
        if offset is None:
            return moment
        sign = max(text.rfind("+"), text.rfind("-"))
        if sign > 10 and ("." in text[sign:] or "," in text[sign:]):
            # 3.11 keeps a fraction of a second in an offset (+05:30:15.5); the backport
            # drops it: refused rather than read as another time
            raise ValueError(f"a time zone offset with a fraction of a second: {text!r}")
        return moment.replace(tzinfo=dt.timezone(offset))
