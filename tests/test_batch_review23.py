"""Review of issue 18's batch speed-ups (rev23): the JSON Lines reader's short cut and the views
that hold a remembered computation to its declared reads, attacked over generated inputs.

- The reader (io.batch._jsonl_records, and io.batch.expand for --jobs) must give, for any bytes,
  what the checking decoder gives line by line (_lines, then _jsonl_record): the same record with
  the same types, or the same error. The lines here are glued from the tokens that touch its
  short cuts: duplicate keys at any depth and in arrays of objects, keys equal only after
  their escapes are read, colons and quotes in keys and values, empty objects, top-level
  arrays, strings and numbers, white space of every kind, NUL and control characters, non-ASCII
  text, a byte-order mark, CR and CRLF, very deep nesting.
- plan.Declared and screen._View must never give a value for a name that was not declared:
  not through getattr with a default, hasattr, a copy, a pickle or dataclasses.replace (a
  default taken silently there would make a remembered dose depend on a field its key lacks).
"""

from __future__ import annotations

import copy
import dataclasses
import io
import pickle

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import budget
from ketadose.io.batch import RecordError, _jsonl_record, _lines, _too_long, expand, records

# Pieces of JSON (and of not quite JSON) that the reader's short cuts look at
_KEY_TEXTS = ['"a"', '"a"', '"b"', '"a:b"', '":"', '""', '"id"', '"\\u0061"', '"\\u0061:b"',
              '"\u00e9"', '"\\u00e9"', '"a\\"b"', '"weight"', '"we\\u0069ght"']
_SCALARS = ['1', '-0.0', '1.0', '1e400', '5e-324', 'true', 'false', 'null', '"x"', '":"',
            '"a:b:c"', '"::"', '""', '"\u00e9"', '"\\u202e"', '"\\ud800"', 'NaN', '-Infinity',
            '"70 kg"', '{}', '[]', '[{}]', '"\x01"', '"\x00"', '"\x7f"', '1' * 30]
_SPACES = ["", "", "", " ", "\t", "  ", "\r", "\x0b", "\x00", "\u00a0"]


def _object(values):
    member = st.tuples(st.sampled_from(_SPACES), st.sampled_from(_KEY_TEXTS),
                       st.sampled_from(_SPACES), st.sampled_from([":", ":", ":", "", "::"]),
                       st.sampled_from(_SPACES), values)
    return st.lists(member, max_size=5).map(
        lambda ms: "{" + ",".join(a + k + b + c + d + v for a, k, b, c, d, v in ms) + "}")


_VALUES = st.recursive(st.sampled_from(_SCALARS), lambda inner: st.one_of(
    _object(inner), st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")),
    max_leaves=12)


@st.composite
def _line(draw) -> bytes:
    kind = draw(st.integers(0, 9))
    if kind == 0:  # a top-level value that is not an object
        text = draw(_VALUES)
    elif kind == 1:  # very deep nesting (the decoder's recursion limit)
        depth = draw(st.sampled_from([10, 900, 1100, 3000]))
        text = '{"a":' * depth + draw(st.sampled_from(['1', '{}', '{"a":1,"a":2}'])) + "}" * depth
    elif kind == 2:  # duplicate keys inside an array of objects
        inner = draw(st.sampled_from(['{"b":1}', '{"b":1,"b":2}', '{"b":{"c":1,"c":":"}}',
                                      '{"b":1,"\\u0062":2}', '{}']))
        text = '{"a":[' + ",".join([inner] * draw(st.integers(1, 3))) + '],"c":"x:y"}'
    else:
        text = draw(_object(_VALUES))
    if draw(st.integers(0, 5)) == 0:  # a stray character somewhere
        at = draw(st.integers(0, len(text)))
        text = text[:at] + draw(st.sampled_from(["\x00", "\x01", "\u00e9", "\ufeff", ":", '"',
                                                  "\\", "\r", " ", "\u2028"])) + text[at:]
    data = text.encode("utf-8", "surrogatepass")
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 19)) == 0:
        data = data[:draw(st.integers(0, len(data)))] + b"\xff" + data[len(data) // 2:]
    return data


def _reference(data: bytes, max_line: int) -> list:
    """The checking decoder line by line: _lines, blank lines skipped, _jsonl_record."""
    out = []
    for number, text, size in _lines(io.BytesIO(data), max_line):
        if text is None:
            out.append((number, _too_long(size, max_line)))
        elif isinstance(text, RecordError) or text.strip():
            out.append((number, text if isinstance(text, RecordError) else _jsonl_record(text)))
    return out


def _comparable(items) -> list:
    """Records by their repr (1, 1.0 and True differ; key order too), errors by message."""
    return [(n, f"error: {d}" if isinstance(d, RecordError) else repr(d)) for n, d in items]


@settings(max_examples=budget(600), deadline=None, database=None,
          suppress_health_check=list(HealthCheck))
@given(st.lists(st.tuples(_line(), st.sampled_from([b"\n", b"\r\n", b"\r\n", b"\r", b"\n\n"])),
                max_size=8), st.booleans(), st.sampled_from([1 << 24, 1 << 24, 1024]))
def test_the_reader_takes_what_the_checking_decoder_takes(lines, last_break, max_line):
    data = b"".join(line + brk for line, brk in lines)
    if lines and not last_break:
        data = data.rstrip(b"\r\n")
    want = _comparable(_reference(data, max_line))
    got = [(n, d) for n, d, _size in records(io.BytesIO(data), "jsonl", max_line)]
    assert _comparable(got) == want, data
    assert _comparable(expand(1, data, max_line)) == want, data  # a --jobs worker's block


# Lines that a reader counting keys against colons could take wrongly (fixed, every run)
_FIXED = [b'{"a":[{"b":1},{"b":2,"b":3}],"c":"x:y"}', b'{"a":{"b":{"c":1,"c":2}},"d":"::"}',
          b'{"a":1,"\\u0061":2}', b'{"a:b":1,"a:b":2,"c":"d"}', b'{"a":":","a":":"}',
          b'{"x":{},"x":{}}', b'{"a":[{}],"a":[{}]}', b'{"a":"b","c":{"a":"b"},"c":1}',
          b'{"a":1,"b":"::","a":2}', b'{"":1,"":2}', b'{"id":"p","weight":70,"weight":7}',
          b'\xef\xbb\xbf{"a":1,"a":2}', b'{"a":1,"a":2}\r', b'{"a":1}\x00', b'{"a":"\x00"}',
          b'[{"a":1}]', b'"{}"', b'7', b'{"a":1} {"b":2}', b'{"a":1}{"a":2}',
          b'{"a":[1,{"b":{"c":[{"d":1,"d":1}]}}]}', b'{"a":NaN}', b'{"a":1e400}']


def test_fixed_lines_against_the_checking_decoder():
    for line in _FIXED:
        for brk in (b"\n", b"\r\n", b""):
            data = line + brk
            want = _comparable(_reference(data, 1 << 24))
            assert _comparable((n, d) for n, d, _s in records(io.BytesIO(data), "jsonl")) \
                == want, line
            assert _comparable(expand(1, data)) == want, line
    # a duplicate key anywhere is refused, never silently taken with the last value
    for line in _FIXED[:11]:
        got = list(records(io.BytesIO(line + b"\n"), "jsonl"))
        if b"\\u" not in line:
            assert isinstance(got[0][1], RecordError) and "duplicate key" in str(got[0][1]), line


# ---- the views of a remembered computation ---------------------------------------------------

@dataclasses.dataclass(frozen=True)
class _Thing:
    kg: float = 70.0
    basis: str = "actual"
    age: int = 40  # never declared below


def _views():
    from ketadose import screen
    from ketadose.io.library import vocabulary
    from ketadose.patient import build
    from ketadose.plan import Declared
    from ketadose.plan import Undeclared as PlanUndeclared

    patient = build({"age": 40, "sex": "female", "weight": "70 kg"}, vocabulary(), None)[0]
    return [(Declared(_Thing(), ("kg", "basis")), "age", PlanUndeclared, {"kg": 70.0}),
            (screen._View(patient, frozenset({"sex"})), "age", screen.Undeclared,
             {"sex": "female"})]


def test_an_undeclared_name_is_never_defaulted():
    """getattr with a default and hasattr do not swallow the refusal (Undeclared is not an
    AttributeError), for a name the object has, a name it lacks, and a dunder it lacks."""
    for view, name, undeclared, declared in _views():
        assert not issubclass(undeclared, AttributeError)
        for attr in (name, "no_such_field", "__setstate__", "__dataclass_fields__"):
            with pytest.raises(undeclared):
                getattr(view, attr, None)
            with pytest.raises(undeclared):
                hasattr(view, attr)
        for attr, value in declared.items():
            assert getattr(view, attr) == value
        with pytest.raises((TypeError, undeclared)):
            dataclasses.replace(view, **declared)
        with pytest.raises((TypeError, undeclared)):
            dataclasses.fields(view)


def test_a_copied_or_pickled_view_still_refuses_undeclared_names():
    """A copy or a pickle of a view (none is made today; --jobs workers fork and are given
    bytes) either fails or is a view that still refuses: never the whole object."""
    for view, name, undeclared, declared in _views():
        for make in (copy.copy, copy.deepcopy, lambda v: pickle.loads(pickle.dumps(v))):
            try:
                other = make(view)
            except Exception:  # refused: nothing read
                continue
            assert other.__class__ is view.__class__
            with pytest.raises(undeclared):
                getattr(other, name)
            with pytest.raises(undeclared):
                getattr(other, name, None)
            for attr, value in declared.items():
                assert getattr(other, attr) == value
