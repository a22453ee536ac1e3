"""Machine formats: plain data from core values, then JSON / YAML / CSV text."""

from __future__ import annotations

import csv
import dataclasses
import io
import itertools
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


class Rows:
    """A long list of flat records with the same keys (a time series), kept as columns of
    plain Python scalars. to_json writes it exactly as json.dumps(indent=2) writes the list of
    dicts, without the pure-Python encoder that indent forces (issue 18: 57 ms of 59 for a
    10-day series at 1-minute resolution); as_list() is that list of dicts."""

    def __init__(self, columns: dict):
        self.columns = {str(k): list(v) for k, v in columns.items()}
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
        template = (pad + "{\n" + ",\n".join(
            inner + json_safe(json.dumps(name, ensure_ascii=False)).replace("%", "%%") + ": %s"
            for name in self.columns) + "\n" + pad + "}")
        cells = [_json_scalars(v) for v in self.columns.values()]
        # one format for all rows: the cells in row order, without a Python loop per row
        body = ",\n".join([template] * len(self)) % tuple(itertools.chain.from_iterable(
            zip(*cells)))
        return "[\n" + body + "\n" + " " * (indent - 2) + "]"


def _json_scalars(values: list) -> list:
    """Each value's JSON text as json.dumps writes it (floats by repr; NaN and infinities
    refused as allow_nan=False refuses them)."""
    import math

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
