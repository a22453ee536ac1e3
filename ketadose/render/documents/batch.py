"""A batch line (`check|plan REGIMEN --patients FILE --format jsonl`): one record as one line of
JSON, the machine contract of docs/output-format.md.

The contract is ``reference``: the record through the standard library's encoder (compact, not
ASCII-escaped, NaN refused) with C1 controls and bidi marks escaped (render.text.json_safe).
``encode`` writes the same text faster (issue 18): with orjson when it is installed (about 20
times the standard encoder's speed), the parts of a plan that come from the regimen alone
encoded once per regimen and spliced in. Where orjson would write something differently it is
not used for that record (see ``_small_float``); a property test compares the two over generated
records (tests/test_batch_fast.py).
"""

from __future__ import annotations

import json

from ketadose.render.documents.plan import REGIMEN_SECTIONS
from ketadose.render.text import json_safe


def reference(record) -> str:
    """The record's line (without the line break), by the standard library: the contract."""
    return json_safe(json.dumps(record, ensure_ascii=False, separators=(",", ":"),
                                allow_nan=False))


def reference_bytes(data) -> bytes:
    """``reference(data)`` as UTF-8: by orjson when it is installed and ``data`` holds no float
    (orjson and json differ only in floats under 1e-4 and in what orjson refuses), else by the
    standard library."""
    out = _orjson_bytes(data) if _no_float(data) else None
    return out if out is not None else reference(data).encode()


def _orjson_bytes(data) -> bytes | None:
    """``reference(data)`` as UTF-8 by orjson (escaped as json_safe escapes, at its exact size),
    or None when orjson is not installed or refuses ``data`` (a lone surrogate, a huge int ...).
    The caller has made sure that ``data`` holds no float orjson writes otherwise."""
    fast = _fast()
    if fast is None:
        return None
    try:
        out = fast.dumps(data)
    except (TypeError, ValueError, OverflowError):
        return None
    return json_safe(out.decode()).encode() if _to_escape(out) else _exact(out)


def _exact(out: bytes) -> bytes:
    """A copy the size of its text: orjson returns its whole working buffer (4 KiB or more for
    a short text), and these parts are kept (a 10^5-patient batch peaked at 110 MB)."""
    return bytes(memoryview(out))


def _no_float(data) -> bool:
    """Only text, ints, booleans and None, in dicts and lists (orjson refuses keys that are not
    text: the caller falls back then)."""
    cls = data.__class__
    if cls is dict:
        values = data.values()
    elif cls is list:
        values = data
    else:
        return cls in _PLAIN
    for v in values:
        c = v.__class__
        if c not in _PLAIN and not ((c is dict or c is list) and _no_float(v)):
            return False
    return True


_PLAIN = frozenset({str, int, bool, type(None)})


def plan_part_bytes(data) -> bytes:
    """``reference(data)`` as UTF-8 for a part of a plan document whose plan passed
    ``_small_float`` (its floats are rounded by render.numbers.machine, pump steps, vial
    strengths, or the guarded options): by orjson as ``encode`` writes the whole line, else by
    the standard library."""
    out = _orjson_bytes(data)
    return out if out is not None else reference(data).encode()


def write_line(record, stream) -> None:
    """The record as one line on ``stream``."""
    stream.write(encode(record) + "\n")


def encode(record) -> str:
    """The same text as ``reference(record)``."""
    fast = _fast()
    if fast is None or _small_float(record.get("plan")):
        return _spliced(record)
    try:
        data = fast.dumps(_with_fragments(record, fast))
    except (TypeError, ValueError, OverflowError):  # an int over 64 bits, a lone surrogate ...
        return _spliced(record)
    text = data.decode()
    return json_safe(text) if _to_escape(data) else text


# Where orjson writes differently, found without reading the line (searching 20 KB of text for
# a pattern costs more than encoding it):
# - A float under 1e-4: orjson writes 0.00001 or 1.5e-7, Python 1e-05 and 1.5e-07 (every other
#   float, int, string escape and the key order are the same: tests/test_batch_fast.py). Every
#   float of a record is rounded by render.numbers.machine (to 4 decimals or fewer: 0 or at
#   least 0.0001), is a pump rate in steps of 0.1 mL/h, a vial strength, or one of the batch's
#   options below; a test walks the records of generated patients and options to hold this.
# - NaN: orjson writes null where the contract refuses it. machine() makes NaN null before
#   either encoder sees it, and the safety gate refuses a plan whose concentration or volumes
#   are not finite.
def _small_float(plan) -> bool:
    if not plan:
        return False
    prep = plan["preparation"]
    return any(map(written_otherwise, (
        plan["concentration_mg_per_ml"], prep["concentration_mg_per_ml"], prep["priming_ml"])))


def written_otherwise(x) -> bool:
    """Whether orjson writes ``x`` otherwise than json does (or writes what json refuses): a
    float that is NaN or under 1e-4 in size (see above)."""
    return isinstance(x, float) and (x != x or 0 < abs(x) < 1e-4)


def _to_escape(data: bytes) -> bool:
    """Whether the UTF-8 line holds a character json_safe escapes: DEL and C1 controls
    (U+007F-U+009F), U+061C, U+200E/F, U+2028/9, U+202A-E, U+2066-9. Each lead byte is found
    with a plain byte search (fast: non-ASCII is rare in a record) and its sequence looked at."""
    if b"\x7f" in data:
        return True
    i = data.find(b"\xc2")
    while i >= 0:
        if data[i + 1] <= 0x9f:
            return True
        i = data.find(b"\xc2", i + 2)
    i = data.find(b"\xd8")
    while i >= 0:
        if data[i + 1] == 0x9c:
            return True
        i = data.find(b"\xd8", i + 2)
    i = data.find(b"\xe2")
    while i >= 0:
        b1, b2 = data[i + 1], data[i + 2]
        if (b1 == 0x80 and (b2 in (0x8e, 0x8f) or 0xa8 <= b2 <= 0xae)) or \
                (b1 == 0x81 and 0xa6 <= b2 <= 0xa9):
            return True
        i = data.find(b"\xe2", i + 3)
    return False


_UNSET = object()
_orjson = _UNSET


def _fast():
    """orjson (imported on the batch path only, once), or None when it is not installed or
    older than 3.11.7 (setup.cfg's floor; an older one can still be there when installed
    without pip's dependency check): before 3.11.7 orjson wrote 1e16 where json writes 1e+16,
    and it could not splice encoded fragments before 3.9."""
    global _orjson
    if _orjson is _UNSET:
        try:
            import orjson

            _orjson = orjson if orjson_is_exact(orjson.__version__) else None
        except ImportError:
            _orjson = None
        if _orjson is not None and allocations_may_fail():
            _orjson = None
    return _orjson


def allocations_may_fail() -> bool:
    """Whether an allocation can be refused here rather than the process killed: an address
    space or data limit (`ulimit -v`, `ulimit -d`), or strict overcommit accounting
    (vm.overcommit_memory = 2). orjson 3.13.0 dies of SIGSEGV when an allocation fails inside
    dumps() (reproduced without ketadose: `ulimit -v 60000`, dumps() in a loop), where the
    standard encoder raises MemoryError (one line, exit 2); so there the batch lines are
    written by the standard encoder, the same bytes (tests/test_batch_fast.py), slower.
    docs/shell-boundary.md."""
    try:
        import resource

        if any(resource.getrlimit(limit)[0] != resource.RLIM_INFINITY
               for limit in (resource.RLIMIT_AS, resource.RLIMIT_DATA)):
            return True
    except (ImportError, OSError, ValueError, AttributeError):  # not a POSIX system
        pass
    try:
        with open("/proc/sys/vm/overcommit_memory", "rb") as fh:
            return fh.read().strip() == b"2"
    except OSError:
        return False


def orjson_is_exact(version: str) -> bool:
    """Whether this orjson release writes every float of 1e-4 and above as json does."""
    try:
        return tuple(int(part) for part in version.split(".")[:3]) >= (3, 11, 7)
    except ValueError:  # a development version ("3.12.0.dev1" parses; "3.12.0rc1" does not)
        return False


# The parts of a plan that come from the regimen alone are the same for every patient: encoded
# once (by the reference encoder) and spliced in.
CONSTANT = REGIMEN_SECTIONS + ("unverified",)
_constant_cache: dict = {}


def _constants(plan, fast=None) -> dict:
    """{key: the reference encoding of plan[key]} for the regimen's own sections (as orjson
    fragments when ``fast`` is orjson), once per regimen file: keyed by its sha256 and name,
    which the sections contain."""
    key = (plan["regimen"]["sha256"], plan["regimen"]["file"], fast is None)
    found = _constant_cache.get(key)
    if found is None:
        if len(_constant_cache) >= 8:  # one regimen per batch: a long-lived process stays bounded
            _constant_cache.clear()
        found = {k: reference(plan[k]) for k in CONSTANT if k in plan}
        if fast is not None:
            found = {k: fast.Fragment(v.encode()) for k, v in found.items()}
        _constant_cache[key] = found
    return found


def _with_fragments(record, fast):
    plan = record.get("plan")
    if not plan:
        return record
    return {**record, "plan": {**plan, **_constants(plan, fast)}}


def _spliced(record) -> str:
    """The standard library's encoder, with the regimen's sections encoded once: the text is
    ``reference(record)``, each part being the reference encoding of its value."""
    plan = record.get("plan")
    if not plan:
        return reference(record)
    encoded = _constants(plan)
    body = _object(plan, lambda k, v: encoded[k] if k in encoded else reference(v))
    return _object(record, lambda k, v: body if k == "plan" else reference(v))


def _object(data: dict, value) -> str:
    return "{" + ",".join(f"{reference(k)}:{value(k, v)}" for k, v in data.items()) + "}"
