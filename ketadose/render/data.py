"""Machine formats: plain data from core values, then JSON / YAML / CSV text."""

from __future__ import annotations

import csv
import dataclasses
import io
import json

from ketadose.render.text import csv_cell
from ketadose.units import OverTime, Quantity, format_quantity


def plain(obj):
    """Core values -> JSON-ready data; quantities become their exact text form."""
    if isinstance(obj, (Quantity, OverTime)):
        return format_quantity(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        return {f.name: plain(getattr(obj, f.name)) for f in dataclasses.fields(obj)}
    if isinstance(obj, dict):
        return {str(k): plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [plain(v) for v in obj]
    return obj


class Rounded:
    """A column of floats, each written as round(value, digits) (series_columns' rounding),
    kept as the numpy array it came from. Iterating gives the rounded Python floats (the long
    way, the reference); json_texts() writes the same JSON texts at C speed where that is
    exact, which for a 10-day series at 1-minute resolution (47,500 values) was most of
    `simulate --format json`'s own time (issue 18)."""

    def __init__(self, values, digits: int):
        if not 1 <= digits <= 15:
            raise ValueError("Rounded: digits must be 1 to 15")
        self.values, self.digits = values, digits

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self):
        digits = self.digits
        return (round(v, digits) + 0 for v in self.values.tolist())  # + 0: no negative zero

    def json_texts(self) -> list | None:
        """repr(round(v, digits)) for each value, or None where this short cut may differ
        (then the caller takes the long way, which also refuses NaN and infinities).

        Why it is exact: round(v, d) is the double nearest to the decimal '%.{d}f' % v (both
        are CPython's correctly rounded dtoa in mode 3, so they give the same decimal digits);
        that decimal, trailing zeros dropped but one kept after the point, has at most 15
        significant digits when |v| < 10**(15 - d), and a decimal of at most 15 significant
        digits is the shortest text that reads back as its double, which is what repr()
        writes, in positional form for magnitudes from 1e-4 to 1e16. So values must be
        finite, below 10**(15 - d), and (when d > 4, where a rounded value may fall below
        1e-4 and be written as 1e-05) either 0 or at least 1e-4."""
        import numpy as np

        values, digits = self.values, self.digits
        if getattr(values, "dtype", None) != np.float64 or values.ndim != 1:
            return None  # round() of an int is an int: written without ".0"
        if not len(values):
            return []
        magnitude = np.abs(values)
        if not (magnitude < 10.0 ** (15 - digits)).all():  # also False for NaN
            return None
        if digits > 4 and not ((magnitude >= 1e-4) | (magnitude == 0)).all():
            return None
        text = ((f"%.{digits}f\n") * len(values)) % tuple(values.tolist())
        for _ in range(digits - 1):  # drop the trailing zeros, one a pass, keeping one digit
            text = text.replace("0\n", "\n")
        texts = text.split("\n")[:-1]
        # a value that rounds to 0 from below is written 0.0, as __iter__ gives it (no -0.0)
        return ["0.0" if t == "-0.0" else t for t in texts] if "-0.0" in texts else texts


class Rows:
    """A long list of flat records with the same keys (a time series), kept as columns of
    plain Python scalars. to_json writes it exactly as json.dumps(indent=2) writes the list of
    dicts, without the pure-Python encoder that indent forces (issue 18: 57 ms of 59 for a
    10-day series at 1-minute resolution); as_list() is that list of dicts."""

    def __init__(self, columns: dict):
        self.columns = {str(k): v if isinstance(v, Rounded) else list(v)
                        for k, v in columns.items()}
        lengths = {len(v) for v in self.columns.values()}
        if len(lengths) > 1:
            raise ValueError("Rows: columns of different lengths")

    def __len__(self) -> int:
        return len(next(iter(self.columns.values()), []))

    def as_list(self) -> list:
        names = list(self.columns)
        return [dict(zip(names, values)) for values in zip(*self.columns.values())]

    def json_lines(self, indent: int) -> str:
        """The list's JSON text with its entries at `indent` spaces (the key's own level + 2)."""
        from ketadose.render.text import json_safe

        if not len(self):
            return "[]"
        pad, inner = " " * indent, " " * (indent + 2)
        keys = [inner + json_safe(json.dumps(name, ensure_ascii=False)) + ": "
                for name in self.columns]
        # the text is the rows' pieces in order: before each cell, the text that precedes it
        # (the row's opening or the previous cell's comma, then the key), interleaved by
        # slices: no Python loop per row and no %-template to escape
        k, n = len(keys), len(self)
        pieces: list = [",\n" + key for key in keys] * n
        pieces[0::k] = ["\n" + pad + "},\n" + pad + "{\n" + keys[0]] * n
        pieces[0] = pad + "{\n" + keys[0]
        whole: list = [None] * (2 * k * n)
        whole[0::2] = pieces
        for j, values in enumerate(self.columns.values()):
            whole[2 * j + 1::2 * k] = _json_scalars(values)
        return "[\n" + "".join(whole) + "\n" + pad + "}\n" + " " * (indent - 2) + "]"


def _json_scalars(values: list | Rounded) -> list:
    """Each value's JSON text as json.dumps writes it (floats by repr; NaN and infinities
    refused as allow_nan=False refuses them)."""
    import math

    if isinstance(values, Rounded):
        texts = values.json_texts()
        if texts is not None:
            return texts
        values = list(values)
    if all(type(v) is float for v in values):
        if not all(map(math.isfinite, values)):
            raise ValueError("Out of range float values are not JSON compliant")
        return list(map(float.__repr__, values))
    if all(v is None for v in values):
        return ["null"] * len(values)
    from ketadose.render.text import json_safe  # text may carry marks to escape

    return [json_safe(json.dumps(v, ensure_ascii=False, allow_nan=False)) for v in values]


def to_json(data) -> str:
    """Strict JSON (NaN and infinities are a bug: they would be invalid JSON) with C1 controls
    and bidi marks escaped, so that a terminal showing the file shows them literally. A Rows
    value at the top level of a dict is written column-wise (same text, much faster)."""
    from ketadose.render.text import json_safe

    rows = {k: v for k, v in data.items() if isinstance(v, Rows)} if isinstance(data, dict) else {}
    if rows:
        marks = {k: f"\x00rows {i}\x00" for i, k in enumerate(rows)}
        data = {k: marks.get(k, v) if isinstance(v, Rows) else v for k, v in data.items()}
    text = json_safe(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False,
                                allow_nan=False))
    for key, mark in (marks.items() if rows else ()):
        # the rows' text is escaped column by column (_json_scalars): numbers need nothing
        text = text.replace(json.dumps(mark), rows[key].json_lines(4), 1)
    return text + "\n"


def to_yaml(data) -> str:
    import yaml

    from ketadose.render.text import has_unsafe

    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True, width=100)
    if has_unsafe(text):
        # PyYAML writes bidi overrides raw (they are printable to it): escape every non-ASCII
        # character instead, which keeps the same data and shows it literally.
        text = yaml.safe_dump(data, sort_keys=False, allow_unicode=False, width=100)
    return text


def to_csv(rows, columns) -> str:
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({k: csv_cell(v) for k, v in row.items()})
    return buf.getvalue()


def write_document(document, stream, fmt: str) -> None:
    """A machine document as JSON or YAML to ``stream``."""
    stream.write(to_json(document) if fmt == "json" else to_yaml(document))
