"""A small public Python API (issue 18): load a regimen once, then plan or screen one record at
a time and get the same JSON document the command line writes for it in a batch
(`ketadose plan|check REGIMEN --patients FILE --format jsonl`), line for line.

    from ketadose import api

    batch = api.Batch("plan", api.load_regimen("crps-schwartzman-2009"),
                      start="2026-12-01T09:00")
    doc = batch.document({"id": "p1", "age": 40, "weight": "72 kg"})     # a dict
    for line in batch.lines(open("patients.jsonl", "rb")):                # the CLI's lines
        ...

Nothing here is faster or laxer than the command line: the same loader, screen, planner,
safety gate and encoder run (ketadose.commands.batch), with the same options, checked the same
way (a bad value raises ketadose.errors.KetadoseError with the command line's message). The
regimen and options are made once per Batch, so a distributed run (docs/scale.md) makes one
Batch per worker or partition and streams records through it.
"""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Iterable, Iterator
from typing import IO

from ketadose.errors import KetadoseError

__all__ = ["Batch", "Regimen", "load_regimen", "KetadoseError"]


class Regimen:
    """A validated regimen template (shipped id, a clinic folder's id, or a file path)."""

    def __init__(self, loaded: tuple):
        self._loaded = loaded  # (source, regimen, regimen findings)

    @property
    def id(self) -> str:
        return self._loaded[1].id

    @property
    def sha256(self) -> str:
        return self._loaded[0].sha256


def load_regimen(ref: str, folders: Iterable[str] = ()) -> Regimen:
    """Find, read and validate a regimen once; raises KetadoseError when it is not valid."""
    from ketadose.io.regimens import load_regimen as _load

    return Regimen(_load(ref, tuple(folders)))


class Batch:
    """Plan (mode "plan") or screen (mode "check") records with one regimen and one set of
    options, exactly as `ketadose MODE REGIMEN --patients FILE --format jsonl ...` does.

    Options (text, as on the command line): date (YYYY-MM-DD, screening date; check only),
    start (YYYY-MM-DDTHH:MM; plan: the first session, and the screening date is its day),
    override, concentration, weight_basis (actual|ideal|adjusted), priming (mL),
    reproducible (no time of computation in the output)."""

    def __init__(self, mode: str, regimen: Regimen | None = None, *, date: str | None = None,
                 start: str | None = None, override: str | None = None,
                 concentration: str | None = None, weight_basis: str | None = None,
                 priming: float | None = None, reproducible: bool = False):
        from ketadose.commands import options
        from ketadose.commands.batch import make_job

        if mode not in ("plan", "check"):
            raise KetadoseError(f"mode must be 'plan' or 'check', not {mode!r}")
        if weight_basis not in (None, "actual", "ideal", "adjusted"):
            raise KetadoseError("weight_basis must be actual, ideal or adjusted")
        if mode == "check" and any(v is not None for v in (start, concentration, weight_basis,
                                                            priming)):
            raise KetadoseError("start, concentration, weight_basis and priming are plan options")
        if mode == "plan" and date is not None:
            raise KetadoseError("a plan's screening date is the day of `start` (or today)")
        if mode == "plan":
            opts = {"concentration": options.concentration(concentration),
                    "weight_basis": weight_basis, "start": options.start(start),
                    "priming": options.priming(priming), "override": override,
                    "reproducible": reproducible, "explain": False}
            today = opts["start"].date() if opts["start"] else dt.date.today()
        else:
            opts, today = {"override": override}, options.date(date)
        loaded = regimen._loaded if regimen is not None else None
        self._job = make_job(mode, (), None, opts, today, loaded=loaded)

    def document(self, record: dict, line: int = 1) -> dict:
        """The output record for one patient record (a dict as read from a JSON line): what
        the command line writes on that line, as plain data. An invalid record gives an error
        record (exit 2), as in a batch; it does not raise. Values are JSON data; numpy's (or
        any) integers and floats are numbers and numpy's bool is true/false (a pandas row's
        values); other types (Decimal, dates, arrays) give an error record (_plain)."""
        import json

        from ketadose.io.batch import RecordError, _jsonl_record

        if not isinstance(record, dict):
            data = RecordError("a record must be a JSON object")
        else:
            try:
                data = _jsonl_record(json.dumps(record, default=_plain))
            except RecordError as exc:  # _plain: a value that is not JSON data
                data = exc
            except (TypeError, ValueError, RecursionError) as exc:
                # json.dumps: a key that is not text (a tuple), a list that contains itself
                data = RecordError(f"not JSON data: {exc}")
            if isinstance(data, RecordError):  # NaN, a bidirectional mark: the id is at hand
                data.with_id(record)
        return self._job.record(line, data)

    def lines(self, stream: IO[bytes] | bytes, kind: str = "jsonl") -> Iterator[str]:
        """The command line's output lines (JSON text ending in a newline), in order, for a
        JSON Lines or CSV byte stream (lines numbered from 1, as in a file)."""
        from ketadose.io.batch import MAX_LINE, RecordError, records

        if kind not in ("jsonl", "csv"):
            raise KetadoseError("kind must be 'jsonl' or 'csv'")
        if isinstance(stream, (bytes, bytearray)):
            stream = io.BufferedReader(io.BytesIO(stream))
        try:
            for number, data, _size in records(stream, kind, MAX_LINE):
                yield self._job.line(number, data)[1]
        except RecordError as exc:  # a bad CSV header: as the command line's exit 2
            raise KetadoseError(str(exc)) from None


def _plain(value):
    """A value json.dumps does not know, as JSON data: a numpy (or other) integer or float, as
    a pandas row gives (numpy.int64 age) is that number; numpy's bool is true or false, not
    the number 1 or 0 (it is not an integer to Python's numbers either); anything else (a
    Decimal, a date, an array) is refused with the record's error, as on a JSON line."""
    import numbers

    from ketadose.io.batch import RecordError
    from ketadose.render.text import quote_token

    cls = type(value)
    if cls.__module__ == "numpy" and cls.__name__ in ("bool_", "bool"):
        return bool(value)
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        return float(value)  # NaN and infinity are refused as in a JSON line
    raise RecordError(f"{quote_token(repr(value))} ({cls.__name__}) is not JSON data: give "
                      "text, a number, true/false, null, a list or an object")
