"""The JSON Lines line bound (--max-line, issue 19): a whole-record FHIR Bundle of one patient
(MiBs) is read; an over-long line is an error record naming its line, the batch goes on, and
memory stays bounded however long the line. Through the real entry point (subprocess)."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import threading

from hypothesis import given, settings
from hypothesis import strategies as st

from cds_requests import example_record
from conftest import budget
from fhir_builder import bundle
from ketadose.io.batch import MAX_LINE, parse_size, records

REGIMEN = "crps-schwartzman-2009"
SMALL = {"id": "small", "age": 40, "sex": "female", "weight": "70 kg"}


def whole_record_bundle(target_bytes: int) -> dict:
    """The example patient as FHIR plus the rest of a whole-record export (encounters with
    their narrative), about target_bytes long as one JSON line."""
    b = bundle(example_record(), "2026-11-20")
    pid = b["entry"][0]["resource"]["id"]
    div = '<div xmlns="http://www.w3.org/1999/xhtml">' + "Routine follow-up visit. " * 80 + "</div>"
    n = max(0, (target_bytes - len(json.dumps(b))) // 2300)
    b["entry"] += [{"fullUrl": f"urn:uuid:10000000-0000-4000-8000-{i:012d}", "resource": {
        "resourceType": "Encounter", "id": f"enc-{i}", "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": f"Patient/{pid}"},
        "period": {"start": "2019-01-01T09:00:00Z", "end": "2019-01-01T09:30:00Z"},
        "text": {"status": "generated", "div": div}}} for i in range(n)]
    return b


def ketadose(*args, stdin=None):
    return subprocess.run([sys.executable, "-m", "ketadose", *args], input=stdin,
                          capture_output=True, timeout=120)


def test_a_whole_record_fhir_bundle_of_several_mib_is_one_batch_record(tmp_path):
    big = json.dumps(whole_record_bundle(3 << 20))
    assert len(big) > 3_000_000 and len(big) < MAX_LINE  # the old bound was 64 KiB
    path = tmp_path / "patients.jsonl"
    path.write_text("\n".join([json.dumps(SMALL), big, json.dumps(SMALL)]) + "\n")
    r = ketadose("check", REGIMEN, "--patients", str(path), "--format", "jsonl",
                 "--date", "2026-11-21")
    assert r.stderr == b""
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["line"] for x in lines] == [1, 2, 3]
    assert "error" not in lines[1] and lines[1]["id"] == "example-001"
    assert lines[1]["status"] in ("incomplete", "caution", "clear", "contraindicated")


def test_an_over_long_line_is_an_error_record_with_its_line_number(tmp_path):
    big = json.dumps(whole_record_bundle(1_500_000))
    path = tmp_path / "patients.jsonl"
    path.write_text("\n".join([json.dumps(SMALL), big, json.dumps(SMALL)]) + "\n")
    r = ketadose("check", REGIMEN, "--patients", str(path), "--format", "jsonl",
                 "--date", "2026-11-21", "--max-line", "1MiB")
    assert r.returncode == 2 and r.stderr == b""
    lines = [json.loads(x) for x in r.stdout.decode().splitlines()]
    assert [x["line"] for x in lines] == [1, 2, 3]
    mib = (len(big) + 1) / (1 << 20)  # the line with its line feed
    assert lines[1] == {"line": 2, "exit": 2, "error": f"line of {mib:.1f} MiB is longer than "
                        "the 1MiB limit (--max-line SIZE raises it, up to 1GiB)"}
    assert "error" not in lines[0] and "error" not in lines[2]


def test_memory_stays_bounded_for_a_line_far_over_the_limit():
    """A 256 MiB line on stdin with --max-line 1MiB: skipped in bounded chunks (the process
    never holds it), and the next line is still read with its own line number."""
    proc = subprocess.Popen([sys.executable, "-m", "ketadose", "check", REGIMEN, "--patients",
                             "-", "--format", "jsonl", "--date", "2026-11-21", "--max-line",
                             "1MiB"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)

    def feed():
        chunk = b"x" * (1 << 20)
        try:
            proc.stdin.write(b'{"id": "huge", "note": "')
            for _ in range(256):
                proc.stdin.write(chunk)
            proc.stdin.write(b'"}\n' + json.dumps(SMALL).encode() + b"\n")
        finally:
            proc.stdin.close()

    writer = threading.Thread(target=feed)
    writer.start()
    out = proc.stdout.read()
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    writer.join()
    lines = [json.loads(x) for x in out.decode().splitlines()]
    assert [x["line"] for x in lines] == [1, 2] and err == b""
    assert "256.0 MiB is longer than the 1MiB limit" in lines[0]["error"]
    assert lines[1]["id"] == "small" and "error" not in lines[1]
    assert usage.ru_maxrss < 200 * 1024, usage.ru_maxrss  # KiB: far below the line's 256 MiB


def test_max_line_values_are_checked_and_only_for_batches():
    r = ketadose("check", REGIMEN, "--patients", "-", "--format", "jsonl", "--max-line", "12MB",
                 stdin=b"")
    assert r.returncode == 2 and r.stderr.count(b"\n") == 1 and b"not a size" in r.stderr
    r = ketadose("check", REGIMEN, "--patients", "-", "--format", "jsonl", "--max-line", "2GiB",
                 stdin=b"")
    assert r.returncode == 2 and b"outside 1KiB..1GiB" in r.stderr
    r = ketadose("check", "--weight", "70kg", "--max-line", "1MiB")
    assert r.returncode == 2 and b"--max-line is for batches" in r.stderr


@settings(max_examples=budget(200), deadline=None)
@given(st.lists(st.tuples(st.integers(-3, 3), st.sampled_from(["\n", "\r\n", ""])),
                min_size=1, max_size=8), st.sampled_from([1024, 1500, 4096]))
def test_a_line_is_refused_exactly_when_longer_than_the_limit(shape, limit):
    """Lines of limit-3 .. limit+3 bytes (before the line feed), LF, CRLF or none (last line):
    every line gets its own number; one is an error exactly when its bytes before the line
    feed are more than the limit; the others are read whole."""
    lines, expect = [], []
    for i, (delta, end) in enumerate(shape):
        if end == "" and i != len(shape) - 1:
            end = "\n"  # only the last line may lack its line feed
        body_len = limit + delta - (1 if end == "\r\n" else 0)
        head = json.dumps({"id": f"p{i}", "pad": ""})[:-2]
        pad = max(0, body_len - len(head) - 2)
        text = head + "x" * pad + '"}'
        lines.append(text + end)
        expect.append(len((text + end).rstrip("\n").encode()) > limit)
    data = "".join(lines).encode()
    got = list(records(io.BytesIO(data), "jsonl", limit))
    assert [n for n, _, _ in got] == list(range(1, len(lines) + 1))
    for (n, rec, _), over, text in zip(got, expect, lines):
        if over:
            assert "longer than" in str(rec) and not isinstance(rec, dict)
        else:
            assert isinstance(rec, dict) and rec["id"] == f"p{n - 1}", (rec, text[:40])


def test_sizes():
    assert parse_size("16MiB") == MAX_LINE == 16 << 20
    assert parse_size(" 512 KiB ") == 512 << 10 and parse_size("1GiB") == 1 << 30
    assert parse_size("4096") == 4096
    for bad in ("", "1.5MiB", "12MB", "-1MiB", "2GiB", "1023", "1e6"):
        try:
            parse_size(bad)
        except ValueError:
            continue
        raise AssertionError(bad)


class _CountingFile(io.RawIOBase):
    """A raw output file that counts its write calls."""

    def __init__(self):
        self.writes, self.data = 0, bytearray()

    def writable(self):
        return True

    def write(self, b):
        self.writes += 1
        self.data += b
        return len(b)


def _writes(monkeypatch, source):
    """(write calls, output) of a 300-record check batch read from ``source`` ("file" or a
    pipe), in process."""
    import datetime as dt

    from ketadose.commands import batch
    from ketadose.io.writer import _Stream

    raw = _CountingFile()
    stream = _Stream(raw)
    monkeypatch.setattr(batch, "output", lambda: stream)
    monkeypatch.setattr(batch, "FLUSH_EVERY", 3600)  # the timer's flushes: none in this test
    lines = "".join(json.dumps({**SMALL, "id": f"p{i}"}) + "\n" for i in range(300)).encode()
    if source == "file":
        import tempfile

        with tempfile.NamedTemporaryFile(suffix=".jsonl") as fh:
            fh.write(lines)
            fh.flush()
            batch.run_batch("check", (), REGIMEN, fh.name, None, {}, dt.date(2026, 11, 20))
    else:
        r, w = os.pipe()
        threading.Thread(target=lambda: (os.write(w, lines), os.close(w)), daemon=True).start()
        with open(r, "rb") as pipe:
            monkeypatch.setattr("ketadose.io.writer.stdin_buffer", lambda: pipe)
            batch.run_batch("check", (), REGIMEN, "-", "jsonl", {}, dt.date(2026, 11, 20))
    stream.flush()
    return raw.writes, bytes(raw.data)


def test_lines_from_a_file_are_written_in_blocks_and_from_a_pipe_one_by_one(monkeypatch):
    """From a regular file the lines go out in 64 KiB blocks (a write per line cost about as
    much as reading the line); from a pipe each line at once (its record may just have been
    typed). The bytes are the same."""
    blocks, from_file = _writes(monkeypatch, "file")
    each, from_pipe = _writes(monkeypatch, "pipe")
    assert from_file == from_pipe and from_file.count(b"\n") == 300
    assert each >= 300
    assert blocks <= 1 + len(from_file) // (1 << 16)
