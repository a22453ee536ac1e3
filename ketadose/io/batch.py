"""Streaming patient records from JSON Lines or CSV (a file or stdin), one at a time.

CSV columns (all optional; an empty cell means "not asked"):
  id, age, sex, weight, height, pregnant, breastfeeding, blood_pressure, heart_rate,
  conditions, medications, allergies   -- ';'-separated lists; the word "none" means asked, none;
                                         a medication is NAME or NAME:DOSE (e.g. morphine:60 mg/day)
  alt, alt_uln, ast, ast_uln, alp, alp_uln, ggt, ggt_uln, bilirubin   -- liver tests with units
  previous_courses  -- ';'-separated ENDED[|HOURS[|liver_injury]], e.g. 2026-09-01|100 h|false
Booleans are true/false. A weight needs its unit (72 kg, 160 lb), as on the command line.
"""

from __future__ import annotations

import csv
import io
import json
import re

from ketadose.io.yamlsrc import UNSAFE, unsafe_message
from ketadose.units import foreign_digit

# JSON Lines: one line is one patient record or one FHIR Bundle. A whole-record FHIR export of a
# single patient is commonly several MiB (every encounter, claim and observation), so the default
# allows 16 MiB and --max-line raises it up to 1 GiB. The line is held in memory once as bytes and
# once parsed (several times its size as Python objects); an over-long line is skipped in bounded
# chunks, never held, and gives an error record naming its line.
MAX_LINE = 16 << 20
MAX_LINE_LIMIT = 1 << 30
# CSV: a record is a flat row of a few hundred bytes; a larger one is an unclosed quote
MAX_CSV_RECORD = 64 << 10
_SKIP_CHUNK = 1 << 20

CSV_COLUMNS = ("id", "age", "sex", "weight", "height", "pregnant", "breastfeeding",
               "blood_pressure", "heart_rate", "conditions", "medications", "allergies",
               "alt", "alt_uln", "ast", "ast_uln", "alp", "alp_uln", "ggt", "ggt_uln", "bilirubin",
               "previous_courses")
_LIVER = ("alt", "alt_uln", "ast", "ast_uln", "alp", "alp_uln", "ggt", "ggt_uln", "bilirubin")


class RecordError(Exception):
    """A bad record: reported as an error record, and the batch goes on. ``id`` is the
    record's id when it could be read (a CSV record whose age cell is bad), so that the error
    record names the patient as every other record does."""

    def __init__(self, message: str, id: str | None = None):
        super().__init__(message)
        self.id = id

    def with_id(self, data) -> RecordError:
        """This error, carrying the id of ``data`` when it is a text that can be shown."""
        found = data.get("id") if isinstance(data, dict) else None
        if isinstance(found, str) and found.strip() and not UNSAFE.search(found):
            self.id = found
        return self


def open_records(path: str, kind: str | None):
    """(stream, kind) for a path or '-'; kind from --patients-format, the suffix, or a sniff."""
    if path == "-":
        from ketadose.io.writer import stdin_buffer

        stream = stdin_buffer()
    else:
        from ketadose.io.files import open_regular

        stream = open_regular(path)
    if kind is None:
        low = path.lower()
        if low.endswith(".csv"):
            kind = "csv"
        elif low.endswith((".jsonl", ".ndjson", ".json")):
            kind = "jsonl"
        else:
            # JSON Lines when the first character that is not a byte-order mark or white space
            # is '{' (a CSV header cannot begin with it): a BOM, a blank line or a space before
            # the first record made JSON Lines on stdin read as CSV, every line an error, where
            # the same bytes in a .jsonl file were read (review of issue 18)
            head = stream.peek(4096) if hasattr(stream, "peek") else b""
            head = head.removeprefix(b"\xef\xbb\xbf").lstrip(b" \t\r\n")[:1]
            kind = "jsonl" if head in (b"{", b"") else "csv"
    return stream, kind


def _raw_lines(stream, limit, first=1):
    """(line number, its bytes or None when longer than limit bytes, bytes read); never reads a
    whole file, never holds more than limit + 1 bytes of a line."""
    for number, raw in enumerate(iter(lambda: stream.readline(limit + 1), b""), start=first):
        if len(raw) > limit and not raw.endswith(b"\n"):
            yield number, None, _skip_rest(stream, len(raw))
            continue
        yield number, raw, len(raw)


def _skip_rest(stream, size):
    """The size of an over-long line of which ``size`` bytes were read: the rest is skipped a
    bounded chunk at a time, never held."""
    while True:
        chunk = stream.readline(_SKIP_CHUNK)
        size += len(chunk)
        if not chunk or chunk.endswith(b"\n"):
            return size


def _text(raw):
    """The text of a line's bytes (its line break removed), or RecordError."""
    try:
        # only the line break itself: a CR before it may belong to a quoted CSV field
        # one byte-order mark at the start of a line is dropped, as utf-8-sig does (its
        # incremental decoder in Python cost more than the rest of reading the line)
        text = (raw[3:] if raw.startswith(b"\xef\xbb\xbf") else raw).decode()
    except UnicodeDecodeError:
        return RecordError("not valid UTF-8")
    return text[:-2] if text.endswith("\r\n") else text[:-1] if text.endswith("\n") else text


def _lines(stream, limit, first=1):
    """(line number, text or RecordError, or None when longer than limit bytes, bytes read),
    as _raw_lines."""
    for number, raw, size in _raw_lines(stream, limit, first):
        yield number, None if raw is None else _text(raw), size


def size_text(n: int) -> str:
    """A byte count as the --max-line option writes it (16MiB, 512KiB, 1000)."""
    for unit, shift in (("GiB", 30), ("MiB", 20), ("KiB", 10)):
        if n >= 1 << shift and n % (1 << shift) == 0:
            return f"{n >> shift}{unit}"
    return str(n)


def _approx(n: int) -> str:
    return f"{n / (1 << 20):.1f} MiB" if n >= 1 << 20 else f"{-(-n // 1024)} KiB"


def parse_size(text: str) -> int:
    """--max-line: bytes, or a whole number of KiB, MiB or GiB (binary units: 1MiB = 1048576)."""
    import re

    m = re.fullmatch(r"\s*(\d{1,10})\s*(KiB|MiB|GiB)?\s*", text or "")
    if not m:
        raise ValueError(f"{text!r} is not a size: write e.g. 32MiB, 512KiB or a number of "
                         "bytes (binary units KiB, MiB, GiB)")
    n = int(m.group(1)) << {"KiB": 10, "MiB": 20, "GiB": 30, None: 0}[m.group(2)]
    if not 1024 <= n <= MAX_LINE_LIMIT:
        raise ValueError(f"{text.strip()} is outside 1KiB..{size_text(MAX_LINE_LIMIT)}")
    return n


def records(stream, kind, max_line: int = MAX_LINE):
    """Yield (line number, data dict or RecordError, bytes read) for every record."""
    if kind == "jsonl":
        return _jsonl_records(stream, max_line)
    return ((number, decode(item), size) for number, item, size in _csv_items(stream))


def blocks(stream, kind, max_line: int = MAX_LINE, lines: int = 256):
    """The input for `--jobs`, split here and decoded by ``expand`` in the workers:
    (first line number, item, bytes read), where a JSON Lines item is the bytes of up to
    ``lines`` whole lines as read (the parent does nothing per line but find it), or the
    RecordError of an over-long line (found here: such a line is never held), and a CSV item
    is one record as (header, text) (finding a record needs its quotes counted)."""
    if kind != "jsonl":
        yield from _csv_items(stream)
        return
    block: list = []
    first = size = 0
    for number, raw, n in _raw_lines(stream, max_line):
        if raw is None:
            if block:
                yield first, b"".join(block), size
                block = []
            yield number, _too_long(n, max_line), n
            continue
        if not block:
            first, size = number, 0
        block.append(raw)
        size += n
        if len(block) >= lines:
            yield first, b"".join(block), size
            block = []
    if block:
        yield first, b"".join(block), size


def expand(first: int, item, max_line: int = MAX_LINE):
    """(line number, record or RecordError) of each record of an item ``blocks`` gave: the
    same as ``records`` gives for the same lines."""
    if item.__class__ is bytes:
        for number, data, _size in _jsonl_records(io.BytesIO(item), max_line, first):
            yield number, data
    else:
        yield first, decode(item)


def _jsonl_records(stream, limit, first=1):
    """``records`` of JSON Lines: each line read with the bounded readline (as _raw_lines),
    its text (_text), blank lines skipped, the rest decoded (_jsonl_record), in one loop: one
    generator a line instead of four, and a line that is ASCII without a backslash decoded
    without the decoder's Python wrapper and without its duplicate-key hook (see below)."""
    readline = stream.readline
    keys = 0

    def counted(obj):  # every JSON object of the line, as the scanner made it
        nonlocal keys
        keys += len(obj)
        return obj

    # The checking decoder's options but object_hook for object_pairs_hook: the scanner makes
    # each object as a dict itself (the pairs hook's list of pairs, then dict(pairs), cost
    # about a fifth of reading a line) and the hook only adds up the keys the line's objects
    # kept. A line is taken when that sum is its number of key separators (the colons outside
    # strings): no key was written twice. Else (a duplicate key, or any doubt) the line is
    # decoded again by _jsonl_record, which says what is wrong.
    scan = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite,
                            object_hook=counted).scan_once
    number = first - 1
    while raw := readline(limit + 1):
        number += 1
        size = len(raw)
        if size > limit and not raw.endswith(b"\n"):
            size = _skip_rest(stream, size)
            yield number, _too_long(size, limit), size
            continue
        if raw.isascii():  # no byte-order mark, valid UTF-8
            text = raw[:-2 if raw.endswith(b"\r\n") else -1 if raw.endswith(b"\n") else None
                       ].decode()
            if text.startswith("{") and "\\" not in text:
                # JSONDecoder.decode(text) for a text that starts with "{": the scanner from
                # 0, and nothing after what it read. Anything else (an error too) is decoded
                # again by _jsonl_record, which says what is wrong. Without a backslash there
                # is no escape: no lone surrogate, and (ASCII) no bidirectional control.
                keys = 0
                try:
                    data, end = scan(text, 0)
                except Exception:
                    end = -1
                if end == len(text) and (keys == text.count(":") or keys == _separators(text)):
                    yield number, data, size
                    continue
        else:
            text = _text(raw)
            if text.__class__ is not str:
                yield number, text, size
                continue
        if text.strip():
            yield number, _jsonl_record(text), size


def _separators(text: str) -> int:
    """The key separators of a JSON text that holds no backslash: its colons outside strings.
    Without a backslash there is no escaped quote, so every '"' opens or closes a string and
    the pieces between them are, in turn, outside and inside strings. Each member of an
    object has one separator, so a text whose objects kept as many keys as it has separators
    wrote no key twice (a key written twice is kept once)."""
    return "".join(text.split('"')[::2]).count(":")


def _too_long(size, max_line):
    return RecordError(f"line of {_approx(size)} is longer than the {size_text(max_line)} "
                       f"limit (--max-line SIZE raises it, up to {size_text(MAX_LINE_LIMIT)})")


def decode(item):
    """The record (a dict) or RecordError of an undecoded item: a RecordError, a JSON line
    (str), or a CSV record as (header, text) (``blocks`` gives the latter)."""
    cls = item.__class__
    if cls is str:
        return _jsonl_record(item)
    if cls is tuple:
        return _csv_row(*item)
    return item


def _jsonl_record(text):
    """The record of one JSON line, or the RecordError saying why it is not one."""
    try:
        data = _DECODER.decode(text)
    except (DuplicateKey, NotFinite) as exc:
        return RecordError(str(exc)).with_id(_lenient_id(text, exc))
    except (ValueError, RecursionError) as exc:
        return RecordError(f"invalid JSON: {str(exc).splitlines()[0]}")
    if not isinstance(data, dict):
        return RecordError("a record must be a JSON object")
    if "\\u" not in text:
        if text.isascii():  # no bidirectional control character can be in it (fast)
            return data
    else:
        found = _has_surrogate(data)  # only an escape makes one
        if found:
            return RecordError(unsafe_message(found)).with_id(data)
    refused = _bidi_error(text, lambda: json.dumps(data, ensure_ascii=False))
    return data if refused is None else refused.with_id(data)


def _lenient_id(text, exc) -> dict:
    """{"id": ...} of a JSON line refused for a number too large (1e400) or a key given twice,
    read without those checks, so that its error record names the patient; {} when the id
    itself is what was given twice."""
    if isinstance(exc, DuplicateKey) and exc.key == "id":
        return {}
    try:
        data = json.loads(text)
    except (ValueError, RecursionError):
        return {}
    return data if isinstance(data, dict) else {}


def _bidi_error(text, decoded=None):
    """The RecordError for a bidirectional control character in a record, as `--patient FILE`
    refuses it (io.yamlsrc.decode): the batch screened such records where one patient's file
    was refused (review of issue 18). ``decoded`` gives the text with JSON escapes resolved,
    asked for only when the line has an escape."""
    found = UNSAFE.search(text)
    if found is None and decoded is not None and "\\u" in text:
        found = UNSAFE.search(decoded())
    if found is None:
        return None
    return RecordError(unsafe_message(found))


def _csv_items(stream):
    """The CSV records as items: up to the header (which must be read to split the rest) each
    is decoded here; after it, each is (header, text) for ``decode``."""
    header = None
    for number, text, size in _csv_records(stream):
        if text is None or isinstance(text, RecordError):
            yield number, text or RecordError(
                f"line longer than {size_text(MAX_CSV_RECORD)} (a CSV record)"), size
            continue
        if not text.strip():
            continue
        if header is not None:
            yield number, (header, text), size
            continue
        row = _csv_cells(text)
        if isinstance(row, RecordError):
            yield number, row, size
            continue
        header = tuple(_csv_header(row, number))


def _csv_cells(text):
    """The cells of one CSV record, or its RecordError."""
    bidi = _bidi_error(text)
    if bidi is not None:
        return bidi
    try:
        return next(csv.reader(io.StringIO(text), strict=True))
    except csv.Error as exc:
        return RecordError(f"invalid CSV: {exc}")


def _csv_row(header, text):
    """The record of one CSV record after the header, or its RecordError."""
    row = _csv_cells(text)
    if isinstance(row, RecordError):  # a bidirectional mark: the id, if its own cell is clean
        try:
            cells = next(csv.reader(io.StringIO(text), strict=True))
        except (csv.Error, StopIteration):
            return row
        if len(cells) == len(header):
            row.with_id({"id": dict(zip(header, cells)).get("id", "").strip()})
        return row
    if len(row) != len(header):
        return RecordError(f"{len(row)} cells for {len(header)} columns")
    cells = dict(zip(header, row))
    try:
        return csv_record(cells)
    except RecordError as exc:
        return exc.with_id({"id": (cells.get("id") or "").strip()})


def _csv_header(row, number) -> list:
    header = [h.strip() for h in row]
    unknown = [h for h in header if h not in CSV_COLUMNS]
    if unknown:
        raise RecordError(f"line {number}: unknown CSV column(s) {', '.join(unknown)}; "
                          f"documented columns: {', '.join(CSV_COLUMNS)}")
    twice = sorted({h for h in header if header.count(h) > 1})
    if twice:
        raise RecordError(f"line {number}: CSV column(s) {', '.join(twice)} given twice; "
                          "a second column would silently replace the first")
    return header


def _has_surrogate(data):
    """The match of the first lone surrogate in a record's keys and texts, or None."""
    if isinstance(data, str):
        return _SURROGATE.search(data)
    if isinstance(data, dict):
        for key, value in data.items():
            found = _has_surrogate(key) or _has_surrogate(value)
            if found:
                return found
    elif isinstance(data, list):
        for value in data:
            found = _has_surrogate(value)
            if found:
                return found
    return None


_SURROGATE = re.compile("[\ud800-\udfff]")


def _csv_records(stream):
    """(first line number, record text, bytes) per CSV record, RFC 4180: a quoted field may hold
    line breaks, so a record continues while a quote is open (an odd number of '"' so far:
    escaped quotes come in pairs). Bounded like a line."""
    pending, first, size = None, 0, 0
    for number, text, n in _lines(stream, MAX_CSV_RECORD):
        if text is None or isinstance(text, RecordError):
            if pending is not None:
                yield first, RecordError("a quoted field is not closed"), size
                pending = None
            yield number, text, n
            continue
        if pending is None:
            pending, first, size = text, number, n
        else:
            pending, size = pending + "\n" + text, size + n
        if size > MAX_CSV_RECORD:
            yield first, RecordError(f"record longer than {size_text(MAX_CSV_RECORD)} "
                                     "(a quoted field not closed?)"), size
            pending = None
            continue
        if pending.count('"') % 2 == 0:
            yield first, pending, size
            pending = None
    if pending is not None:
        yield first, RecordError("a quoted field is not closed at the end of the input"), size


class DuplicateKey(ValueError):
    def __init__(self, message: str, key=None):
        super().__init__(message)
        self.key = key


def _no_duplicates(pairs):
    out = dict(pairs)
    if len(out) == len(pairs):
        return out
    out = {}  # name the first key given twice
    for key, value in pairs:
        if key in out:
            raise DuplicateKey(f"duplicate key {key!r}: a second value would silently replace "
                               "the first", key)
        out[key] = value
    return out


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


class NotFinite(ValueError):
    pass


def _finite(text):
    """A JSON number as a float, refused when it is too large to be one (1e400 would become
    inf): worded as `--patient FILE` words it (io.yamlsrc._scalar), with the number as written."""
    value = float(text)
    if value - value != 0:
        raise NotFinite(f"{text!r} is not a finite number")
    return value


# one decoder for every line (json.loads with options makes a new one per call)
_DECODER = json.JSONDecoder(parse_constant=_no_constant, parse_float=_finite,
                            object_pairs_hook=_no_duplicates)


def _bool(text, key):
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    raise RecordError(f"{key}: expected true or false, got {text!r}")


def _list(text):
    if text.strip().lower() == "none":
        return []
    return [x.strip() for x in text.split(";") if x.strip()]


def csv_record(row: dict) -> dict:
    """One CSV row as the same dict a JSON Lines record would be."""
    data: dict = {}
    for key, value in row.items():
        if value is None or value.strip() == "":
            continue
        value = value.strip()
        if key in ("age", "heart_rate"):
            foreign = foreign_digit(value)
            if foreign:
                raise RecordError(f"{key}: {foreign}")
            try:
                data[key] = int(value)
            except ValueError:
                raise RecordError(f"{key}: expected a whole number, got {value!r}") from None
        elif key in ("pregnant", "breastfeeding"):
            data[key] = _bool(value, key)
        elif key in ("conditions", "allergies"):
            data[key] = _list(value)
        elif key == "medications":
            meds = []
            for item in _list(value):
                name, _, dose = item.partition(":")
                meds.append({"name": name.strip(), **({"dose": dose.strip()} if dose.strip() else {})})
            data[key] = meds
        elif key in _LIVER:
            data.setdefault("liver", {})[key] = value
        elif key == "previous_courses":
            courses = []
            for item in _list(value):
                parts = [p.strip() for p in item.split("|")]
                course = {"ended": parts[0]}
                if len(parts) > 1 and parts[1]:
                    course["hours"] = parts[1]
                if len(parts) > 2 and parts[2]:
                    course["liver_injury"] = _bool(parts[2], "previous_courses liver_injury")
                courses.append(course)
            data[key] = courses
        else:
            data[key] = value
    return data
