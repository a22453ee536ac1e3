"""Reading JSON Lines for a batch (io.batch.records, issue 18): the one-loop reader gives, for
any input bytes, what the reader it replaced gave: each line read with the bounded readline
(_lines: an over-long line skipped, a byte-order mark dropped, the line break removed, invalid
UTF-8 an error), blank lines skipped, every other line decoded by _jsonl_record (the checking
decoder: duplicate keys, NaN, surrogates, bidirectional controls). The reader decodes an ASCII
line without a backslash with a scanner without the duplicate-key hook, which counts the keys its
objects kept against the line's colons outside strings; these properties hold it to the general
function over generated lines, the odd ones included, and over lines written member by member
with keys repeated and colons in strings."""

from __future__ import annotations

import io
import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from test_screen_batch import records as varied_records

from conftest import budget
from ketadose.io.batch import (
    RecordError,
    _jsonl_record,
    _lines,
    _separators,
    _too_long,
    expand,
    records,
)

ODD_LINES = [
    b"", b"   ", b"\t", b"{}", b"[]", b"[1, 2]", b"1", b'"x"', b"null", b'{"broken', b"{", b"}",
    b'{"a": 1, "a": 2}', b'{"liver": {"alt": "1 U/L", "alt": "2 U/L"}}',
    b'{"medications": [{"name": "morphine", "name": "oxycodone"}]}', b'{"age": 40}x',
    b'{"age": 40} ', b' {"age": 40}', b'{"age": 40}\r', b'{"age": 40}\x0c', b'{"age" : 40}',
    b'{"age":40,"sex":"male"}', b'{"age": NaN}', b'{"age": Infinity}', b'{"age": -Infinity}',
    b'{"age": 1e400}', b'{"age": 1' + b"0" * 40 + b"}", b'{"age": 1' + b"0" * 5000 + b"}",
    b'{"age": 01}', b'{"age": -0}', b'{"age": -0.0}', b'{"age": 4.}', b'{"age": .4}',
    b'{"id": "a\x01b"}', b'{"id": "a\tb"}', b'{"id": "a\x7fb"}', b'{"id": "\\u202e"}',
    b'{"id": "\\ud800"}', b'{"id": "\\ud83d\\ude00"}', b'{"id": "a\\"b"}', b'{"id": "a\\\\b"}',
    b'{"id": "x\xe2\x80\xaey"}', b"\xef\xbb\xbf{}", b"\xef\xbb\xbf\xef\xbb\xbf{}", b"\xff{}",
    b'{"id": "\xc3\xa9"}', b'{"a": [1, 2}', b'{"a": {"b": [}}', b"[" * 3000 + b"]" * 3000,
    b'{"a": ' * 3000 + b"1" + b"}" * 3000, b'{"notes": "' + b"y" * 2100 + b'"}',
    b'{"a": true, "b": false, "c": null, "d": [true, 1, 1.0, "1"]}', b'{"": 1}',
    b'{"id": "p1", "id": "p2"}', b'{"resourceType": "Patient", "id": "x"}', b"\x00",
    # colons in strings and duplicate keys together (the reader counts key separators)
    b'{"a": "x:y"}', b'{"a": "x:y", "a": 1}', b'{"a:b": 1, "a:b": 2}', b'{"a" :1,"a":2}',
    b'{"a": ":", "b": {"c": 1, "c": ":"}}', b'{"a": [{"b": 1}, {"b": 2, "b": 3}], "c": "::"}',
    b'{"conditions": ["hepatic-impairment:moderate"], "age": 40}', b'{"a": {}, "a": {}}',
    b'{"a": [], "b": [{}], "c": [{"d": ":"}]}', b'{"a": "\\":", "a": 1}',
]


@st.composite
def jsonl_bytes(draw):
    """The bytes of a JSON Lines input: generated records (ASCII or not), odd lines, byte-order
    marks, LF or CRLF, with or without a final line break."""
    lines = []
    for _ in range(draw(st.integers(0, 12))):
        if draw(st.integers(0, 2)) == 0:
            line = draw(st.sampled_from(ODD_LINES))
        else:
            line = json.dumps(draw(varied_records()), ensure_ascii=draw(st.booleans()),
                              separators=draw(st.sampled_from([None, (",", ":")]))).encode()
        if draw(st.integers(0, 14)) == 0:
            line = b"\xef\xbb\xbf" + line
        lines.append(line + draw(st.sampled_from([b"\n", b"\r\n", b"\r\n", b"\n"])))
    if lines and draw(st.booleans()):
        lines[-1] = lines[-1].rstrip(b"\r\n")
    return b"".join(lines)


def reference(data: bytes, max_line: int) -> list:
    """What the reader before the one-loop reader gave: _lines, blank lines skipped,
    _jsonl_record."""
    out = []
    for number, text, size in _lines(io.BytesIO(data), max_line):
        if text is None:
            out.append((number, _too_long(size, max_line), size))
        elif isinstance(text, RecordError) or text.strip():
            out.append((number, text if isinstance(text, RecordError) else _jsonl_record(text),
                        size))
    return out


def comparable(items) -> list:
    """Records as their repr (types too: 1, 1.0 and True differ), errors as their message."""
    return [(n, f"error: {d}" if isinstance(d, RecordError) else repr(d), *rest)
            for n, d, *rest in items]


# JSON texts written member by member, so that keys repeat (few names), with colons and quotes
# in keys and values, white space around the separators, nested objects and arrays
_PLAIN = st.text(st.sampled_from(list("ab::: {}[],")), max_size=5)  # no escape once written
_STRINGS = st.one_of(_PLAIN, _PLAIN, _PLAIN,
                     st.text(st.sampled_from(list("a:") + ['"', "\\", "\u00e9"]), max_size=3))
_KEYS = st.one_of(st.sampled_from(["a", "b", "a:b", ":", "id", "age"]), _STRINGS)
_SCALARS = st.one_of(st.sampled_from(["1", "-2", "1.5", "true", "false", "null", "[]", "NaN"]),
                     _STRINGS.map(json.dumps))


def _members(values):
    member = st.tuples(_KEYS.map(json.dumps), st.sampled_from([":", ": ", " :", " : "]), values)
    return st.lists(member, max_size=4).map(
        lambda ms: "{" + ", ".join(k + sep + v for k, sep, v in ms) + "}")


_OBJECTS = _members(st.recursive(
    _SCALARS, lambda inner: st.one_of(_members(inner), st.lists(inner, max_size=3).map(
        lambda xs: "[" + ",".join(xs) + "]")), max_leaves=10))


@settings(max_examples=budget(500), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(_OBJECTS, max_size=6))
def test_duplicate_keys_and_colons_in_strings(texts):
    """A line is taken without the duplicate-key hook only when its objects kept as many keys
    as it has colons outside strings: the same records and the same errors as the checking
    decoder, whatever the colons and the repeated keys."""
    data = "".join(t + "\n" for t in texts).encode()
    assert comparable(records(io.BytesIO(data), "jsonl")) == comparable(reference(data, 1 << 24))


@settings(max_examples=budget(300), deadline=None, database=None)
@given(_OBJECTS)
def test_the_separators_of_a_text_without_backslash_are_its_members(text):
    """_separators (the colons outside strings) counts the members the text writes (what a
    pairs hook is given), repeated keys included."""
    members = 0

    def pairs(given):
        nonlocal members
        members += len(given)
        return dict(given)

    try:
        json.JSONDecoder(object_pairs_hook=pairs).decode(text)
    except ValueError:
        return
    if "\\" not in text:
        assert _separators(text) == members, text


@settings(max_examples=budget(500), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(jsonl_bytes(), st.sampled_from([1 << 24, 1024, 60]))
def test_the_reader_gives_what_the_general_functions_give(data, max_line):
    got = list(records(io.BytesIO(data), "jsonl", max_line))
    assert comparable(got) == comparable(reference(data, max_line))
    # --jobs: a worker reading a block of the same lines (expand) gives the same records
    assert comparable(expand(1, data, max_line)) == comparable(
        (n, d) for n, d, _size in reference(data, max_line))


def test_the_odd_lines_one_by_one():
    for line in ODD_LINES:
        for end in (b"\n", b"\r\n", b""):
            data = line + end
            assert comparable(records(io.BytesIO(data), "jsonl", 1 << 24)) == \
                comparable(reference(data, 1 << 24)), data
