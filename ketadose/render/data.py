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


def to_json(data) -> str:
    """Strict JSON (NaN and infinities are a bug: they would be invalid JSON) with C1 controls
    and bidi marks escaped, so that a terminal showing the file shows them literally."""
    from ketadose.render.text import json_safe

    return json_safe(json.dumps(data, indent=2, ensure_ascii=False, sort_keys=False,
                                allow_nan=False)) + "\n"


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
