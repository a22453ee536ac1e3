"""The printable plan in a real browser (issue 16, item 7).

Every shipped template is planned for the example patient through the real entry point, its
HTML page printed to PDF by headless Chromium (the page asks for A4), and the PDF read back with
poppler (pdfinfo, pdftotext). What is checked is what a printer gets:

- at most two A4 pages, and no word outside a page or shrunk below legibility (Chromium shrinks a
  page that is too wide instead of cutting it);
- every rate, pump rate and dose of the session table, formatted from the plan's JSON document as
  the page formats it, stands whole on one line of the PDF's session table (a number or unit split
  across lines fails);
- every text of the embedded chart (axis labels, ticks, legend) is in the PDF (Chromium drops text
  that a cropped chart hides);
- every UNVERIFIED number of the plan has its mark.

A PNG of each printed page is written for review: to the directory named by
$KETADOSE_REVIEW_DIR when it is set, else under pytest's temporary directory
(``<basetemp>/print-review0``). docs/testing.md says more.

Chromium and poppler-utils come from Debian (.ci/run installs them). Without them the tests skip,
unless KETADOSE_REQUIRE_BROWSER=1 (set by .ci/run), where their absence fails.
"""

from __future__ import annotations

import base64
import dataclasses
import html
import json
import os
import re
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from conftest import TEMPLATE_NAMES, template_data
from ketadose.cli import cli

EXAMPLE = str(Path(__file__).parent.parent / "examples" / "patient.yaml")
A4 = (595.28, 841.89)          # points
MAX_PAGES = 2
# The smallest word allowed, as the height of its box in points (about 1.1 x the font size):
# the page's smallest text is 7.5 pt; the chart's labels must not shrink far below it.
MIN_WORD_HEIGHT = 6.0
# Headless Chromium on a closed network (docs/testing.md): no sandbox as root, no background
# connections, and a new empty profile.
CHROMIUM_FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update",
                  "--disable-sync")
TIMEOUT = 120


def _tools() -> dict:
    """The browser and poppler's tools; skip without them, or fail where CI requires them."""
    found = {"chromium": next(filter(None, map(shutil.which, ("chromium", "chromium-browser",
                                                                  "google-chrome"))), None)}
    found.update((tool, shutil.which(tool)) for tool in ("pdfinfo", "pdftotext", "pdftoppm"))
    missing = [name for name, path in found.items() if not path]
    if missing:
        why = f"{', '.join(missing)} not installed (Debian: apt-get install chromium poppler-utils)"
        if os.environ.get("KETADOSE_REQUIRE_BROWSER") == "1":
            pytest.fail(why + "; KETADOSE_REQUIRE_BROWSER=1 requires them")
        pytest.skip(why)
    return found


def _run(cmd, timeout=TIMEOUT) -> subprocess.CompletedProcess:
    """``cmd`` in its own process group, killed whole if it hangs."""
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


class Browser:
    """One headless Chromium for every page, driven over the DevTools protocol on a pipe
    (``--remote-debugging-pipe``: it reads commands on fd 3 and answers on fd 4, each message
    JSON ended by a NUL). One start instead of one per page: a start costs about 1.5 s, a print
    about 0.4 s. ``Page.printToPDF`` with ``preferCSSPageSize`` prints as ``--print-to-pdf``
    does: the page's own @page size, Letter when it names none."""

    def __init__(self, exe: str):
        self.profile = tempfile.mkdtemp(prefix="chromium-profile-")
        commands, self._out = os.pipe()
        self._in, answers = os.pipe()
        # bash puts the two pipe ends on the descriptors Chromium expects, then becomes it (dash
        # takes only one-digit descriptors in a redirection)
        self.proc = subprocess.Popen(
            ["bash", "-c", f'exec "$0" "$@" 3<&{commands} 4>&{answers}', exe, *CHROMIUM_FLAGS,
             f"--user-data-dir={self.profile}", "--remote-debugging-pipe", "about:blank"],
            pass_fds=(commands, answers), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, start_new_session=True)
        os.close(commands)
        os.close(answers)
        self._buffer, self._id = b"", 0

    def _message(self, deadline: float) -> dict:
        while b"\0" not in self._buffer:
            ready, _, _ = select.select([self._in], [], [], max(0.0, deadline - time.monotonic()))
            chunk = os.read(self._in, 1 << 20) if ready else None
            if not chunk:
                raise RuntimeError("Chromium " + ("stopped answering" if chunk is None
                                                  else "closed its pipe"))
            self._buffer += chunk
        message, self._buffer = self._buffer.split(b"\0", 1)
        return json.loads(message)

    def send(self, method: str, params=None, session=None, until=None) -> dict:
        """The result of ``method``; with ``until``, also wait for that event of the session."""
        self._id += 1
        command = {"id": self._id, "method": method, "params": params or {}}
        if session:
            command["sessionId"] = session
        os.write(self._out, json.dumps(command).encode() + b"\0")
        deadline, result, seen = time.monotonic() + TIMEOUT, None, until is None
        while result is None or not seen:
            message = self._message(deadline)
            if message.get("id") == self._id:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                result = message["result"]
            elif message.get("method") == until and message.get("sessionId") == session:
                seen = True
        return result

    def print_pdf(self, page: Path, pdf: Path) -> None:
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})[
            "sessionId"]
        self.send("Page.enable", session=session)
        self.send("Page.navigate", {"url": page.resolve().as_uri()}, session=session,
                  until="Page.loadEventFired")
        data = self.send("Page.printToPDF", {"preferCSSPageSize": True, "printBackground": True},
                         session=session)["data"]
        self.send("Target.closeTarget", {"targetId": target})
        pdf.write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.send("Browser.close")
            self.proc.wait(30)
        except (RuntimeError, OSError, subprocess.TimeoutExpired):
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        finally:
            os.close(self._in)
            os.close(self._out)
            shutil.rmtree(self.profile, ignore_errors=True)


def review_png(tools: dict, pdf: Path, folder: Path) -> None:
    """One PNG per printed page, ``<name>-1.png``, ``<name>-2.png``."""
    r = _run([tools["pdftoppm"], "-png", "-r", "72", str(pdf), str(folder / pdf.stem)])
    assert r.returncode == 0, r.stderr


# --- reading a PDF back ------------------------------------------------------------------------

@dataclass
class Word:
    text: str
    page: int
    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    height: float


def pdf_info(tools: dict, pdf: Path) -> tuple[int, list]:
    """Page count and each page's (width, height) in points."""
    out = _run([tools["pdfinfo"], "-l", "999", str(pdf)]).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", out, re.M).group(1))
    sizes = [(float(w), float(h)) for w, h in
             re.findall(r"^Page\s+\d+ size:\s+([\d.]+) x ([\d.]+) pts", out, re.M)]
    return pages, sizes


def pdf_text(tools: dict, pdf: Path, layout: bool = False) -> str:
    """The text in reading order (a table cell's wrapped lines stay together), or with
    ``layout`` as laid out on the page (what stands side by side shares a line)."""
    return _run([tools["pdftotext"], "-enc", "UTF-8", *(["-layout"] if layout else []), str(pdf),
                 "-"]).stdout


def pdf_words(tools: dict, pdf: Path) -> list:
    out = _run([tools["pdftotext"], "-bbox", "-enc", "UTF-8", str(pdf), "-"]).stdout
    words, page, size = [], 0, (0.0, 0.0)
    for line in out.splitlines():
        if m := re.search(r'<page width="([\d.]+)" height="([\d.]+)"', line):
            page, size = page + 1, (float(m.group(1)), float(m.group(2)))
        elif m := re.search(r'<word xMin="([-\d.]+)" yMin="([-\d.]+)" xMax="([-\d.]+)" '
                            r'yMax="([-\d.]+)">(.*)</word>', line):
            words.append(Word(html.unescape(m.group(5)), page, *map(float, m.groups()[:4]), *size))
    return words


def section(text: str, start: str, end: str) -> str | None:
    """The lines between the heading ``start`` and the first line beginning with ``end``."""
    m = re.search(rf"^\s*{re.escape(start)}\s*$(.*?)^\s*{re.escape(end)}", text, re.M | re.S)
    return m.group(1) if m else None


def _flat(text: str) -> str:
    return " ".join(text.split())


def _count(needle: str, text: str) -> int:
    """How often ``needle`` stands as whole words in ``text`` (whitespace already single)."""
    return len(re.findall(rf"(?<!\S){re.escape(needle)}(?!\S)", text))


# --- what the page must show, from the plan's JSON document --------------------------------------

def fmt(x, digits=1, unit="") -> str:
    """A number as the page prints it (written here again, not imported, so that a change to the
    page's formatting shows up): at most ``digits`` decimals, no trailing zeros, then the unit."""
    text = f"{x:.{digits}f}".rstrip("0").rstrip(".")
    return f"{text} {unit}".strip()


def session_values(plan: dict) -> list:
    """Each rate, pump rate and dose of the session table, as the table shows it."""
    values, seen = [], set()
    for session in plan["sessions"]:
        for p in session["phases"]:
            if p["name"] in seen:
                continue
            seen.add(p["name"])
            if p["bolus_mg"] is not None:
                values.append(fmt(p["bolus_mg"], 1, "mg"))
                if p["bolus_ml"]:
                    values.append(f"({fmt(p['bolus_ml'], 2, 'mL')})")
                continue
            if p["rate_mg_per_h"] is not None:
                values.append(fmt(p["rate_mg_per_h"], 2, "mg/h"))
                if p["rate_mg_per_h_max"] and abs(p["rate_mg_per_h_max"] - p["rate_mg_per_h"]) > 1e-9:
                    values.append(fmt(p["rate_mg_per_h_max"], 2, "mg/h"))
            if p["rate_ml_per_h"] is not None:
                values += [f"{p['rate_ml_per_h']:.1f} mL/h",
                           fmt(p["rate_mg_per_h_delivered"], 3, "mg/h"),
                           f"({_change(p['rounding_error_pct'])}%)"]
            if p["times_per_day"] is not None:
                top = p["per_dose_mg_max"]  # an oral titration: the per-intake range
                values.append(((f"{fmt(p['per_dose_mg'], 1)}-{fmt(top, 1, 'mg')}"
                                if top is not None and abs(top - p["per_dose_mg"]) > 1e-9
                                else fmt(p["per_dose_mg"], 1, "mg")) if p["per_dose_mg"]
                               else p["amount"] or "amount to prescribe")
                              + f" × {p['times_per_day']}/day")
            else:
                values.append(fmt(p["dose_mg"], 1, "mg"))
    return values


def _change(pct: float) -> str:
    """A percentage change as the page prints it: signed, but a zero without a sign."""
    text = f"{pct:+.2f}"
    return "0.00" if text in ("+0.00", "-0.00") else text


def unverified_notes(plan: dict) -> list:
    """The reason of every UNVERIFIED number the plan carries."""
    notes = [u["why"] for u in plan["unverified"]]
    for s in plan["sessions"]:
        notes += [why for p in s["phases"] for why in (p.get("unverified") or {}).values()]
    notes += [f["unverified"] for f in plan["warnings"] + plan["screen"]["findings"]
              if f.get("unverified")]
    return list(dict.fromkeys(_flat(n) for n in notes))


def chart_texts(page: str) -> list:
    """Every text of the charts embedded in the page."""
    texts = []
    for svg in re.findall(r"<svg.*?</svg>", page, re.S):
        texts += [_flat(html.unescape(re.sub(r"<[^>]+>", "", t)))
                  for t in re.findall(r"<text\b[^>]*>(.*?)</text>", svg, re.S)]
    return [t for t in texts if t]


def page_text(page: str) -> str:
    """The text a browser shows of a page (its chart included)."""
    body = re.sub(r"<(style|title)\b.*?</\1>", "", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", " ", body))


def lost(shown: str, printed: str) -> list:
    """Text of the page missing from the PDF: Chromium drops what falls off the page or outside
    a cropped box. Compared character by character, because pdftotext guesses spaces; hyphens
    are left out (pdftotext joins a word broken at its hyphen and drops the hyphen)."""
    def chars(text):
        return Counter(c for c in text if not c.isspace() and c != "-")

    missing = chars(shown) - chars(printed)
    if not missing:
        return []
    squeezed = "".join(printed.split()).replace("-", "")
    words = [w for w in shown.split() if w.replace("-", "") not in squeezed]
    return [f"{sum(missing.values())} characters of the page are not in the PDF, e.g. "
            f"{words[:8] or dict(missing.most_common(8))}"]


@dataclass
class Expected:
    text: str = ""
    session: list = field(default_factory=list)
    chart: list = field(default_factory=list)
    unverified: list = field(default_factory=list)


def problems(tools: dict, pdf: Path, expected: Expected) -> list:
    """What is wrong with a printed plan, in words; [] when nothing is."""
    found = []
    pages, sizes = pdf_info(tools, pdf)
    if pages > MAX_PAGES:
        found.append(f"{pages} pages (at most {MAX_PAGES})")
    for i, (w, h) in enumerate(sizes, 1):
        if abs(w - A4[0]) > 1 or abs(h - A4[1]) > 1:
            found.append(f"page {i} is {w:g} x {h:g} pt, not A4")
    small = [w for w in pdf_words(tools, pdf) if w.y1 - w.y0 < MIN_WORD_HEIGHT]
    if small:
        found.append(f"{len(small)} words less than {MIN_WORD_HEIGHT} pt high (smallest "
                     f"{min(w.y1 - w.y0 for w in small):.1f} pt), e.g. {[w.text for w in small[:5]]}")
    if expected.text:
        found += lost(expected.text, pdf_text(tools, pdf))
    text = pdf_text(tools, pdf, layout=True)
    table = section(text, "Session", "Course calendar")
    if table is None:
        found.append("no session table")
    else:
        lines = [_flat(line) for line in table.splitlines()]
        found += [f"session table: {v!r} is not whole on one line" for v in expected.session
                  if not any(_count(v, line) for line in lines)]
    if expected.chart:
        chart = section(text, "Predicted plasma ketamine", "Sources")
        flat = _flat(chart or "")
        for t, n in Counter(expected.chart).items():
            if _count(t, flat) < n:
                found.append(f"chart: {t!r} missing ({_count(t, flat)} of {n})")
    flat = _flat(pdf_text(tools, pdf))
    for why in expected.unverified:
        if not re.search(r"\[UNVERIFIED[^\[\]]*" + re.escape(why), flat):
            found.append(f"no UNVERIFIED mark before {why[:60]!r}")
    return found


# --- the shipped templates ---------------------------------------------------------------------

# The README's example patient, and a busy one: a heavy older man with three conditions, three
# co-medications and an allergy, whose screen fills the first page with findings.
BUSY = {"id": "busy-002", "age": 67, "sex": "male", "weight": "125 kg", "height": "185 cm",
        "blood_pressure": "150/92", "heart_rate": 88,
        "conditions": ["ischaemic-heart-disease:stable", "lower-urinary-tract-symptoms",
                       "seizure-disorder"],
        "liver": {"alt": "40 U/L", "alt_uln": "45 U/L", "ast": "35 U/L", "ast_uln": "40 U/L",
                  "alp": "100 U/L", "alp_uln": "130 U/L", "ggt": "30 U/L", "ggt_uln": "60 U/L",
                  "bilirubin": "12 umol/L"},
        "medications": [{"name": "morphine", "dose": "60 mg/day", "route": "oral"},
                        {"name": "lorazepam", "dose": "2 mg/day", "route": "oral"},
                        {"name": "gabapentin", "dose": "900 mg/day", "route": "oral"}],
        "allergies": ["penicillin"], "previous_courses": []}
PATIENTS = ("example", "busy")
CASES = [(name, who) for name in TEMPLATE_NAMES for who in PATIENTS]


def plan_args(name: str, patient: list) -> list:
    """The patient with a start time; an infusion whose template names no strength gets 1 mg/mL
    (a test input, so that its pump rates are printed; the strength the consensus template
    uses), as a clinician would have to give one."""
    data = template_data(name)
    args = ["plan", name.removesuffix(".yaml"), "--patient", *patient, "--start",
            "2026-12-01T09:00", "--reproducible"]
    if data.get("route") in ("iv", "sc") and not (data.get("preparation") or {}).get("concentration"):
        args += ["--concentration", "1mg/mL"]
    return args


def ketadose(*args) -> subprocess.CompletedProcess:
    return _run([sys.executable, "-m", "ketadose", *args])


@dataclass
class Printed:
    plan: dict
    page: str
    pdf: Path


@pytest.fixture(scope="module")
def tools():
    return _tools()


@pytest.fixture(scope="module")
def browser(tools):
    chromium = Browser(tools["chromium"])
    yield chromium
    chromium.close()


@pytest.fixture(scope="module")
def review(tmp_path_factory) -> Path:
    folder = os.environ.get("KETADOSE_REVIEW_DIR")
    if folder:
        Path(folder).mkdir(parents=True, exist_ok=True)
        return Path(folder)
    return tmp_path_factory.mktemp("print-review")


@pytest.fixture(scope="module")
def printed(tools, browser, review, tmp_path_factory) -> dict:
    """Every template planned for each patient (through the entry point, two at a time: two
    cores), then printed in the one browser and photographed."""
    work = tmp_path_factory.mktemp("print")
    # the busy patient's weight takes some rates over a soft limit: confirmed, as a clinician would
    patients = {"example": [EXAMPLE],
                "busy": [str(work / "busy.json"), "--override", "print test: weighed, confirmed"]}
    (work / "busy.json").write_text(json.dumps(BUSY), encoding="utf-8")

    def html_page(case):
        r = ketadose(*plan_args(case[0], patients[case[1]]), "--format", "html")
        assert r.returncode == 0, (case, r.stderr)
        return case, r.stdout

    out = {}
    with ThreadPoolExecutor(max_workers=2) as pool:
        for (name, who), page in pool.map(html_page, CASES):
            # the JSON document in-process (faster); the page comes through the entry point
            js = CliRunner().invoke(cli, [*plan_args(name, patients[who]), "--format", "json"],
                                    catch_exceptions=False)
            assert js.exit_code == 0, js.stderr
            data = json.loads(js.stdout)
            stem = f"{name.removesuffix('.yaml')}-{who}"
            (work / f"{stem}.html").write_text(page, encoding="utf-8")
            browser.print_pdf(work / f"{stem}.html", work / f"{stem}.pdf")
            review_png(tools, work / f"{stem}.pdf", review)
            out[name, who] = Printed(data, page, work / f"{stem}.pdf")
    return out


@pytest.mark.parametrize("name, who", CASES)
def test_printed_plan_is_complete_and_fits(name, who, printed, tools):
    got = printed[name, who]
    expected = Expected(page_text(got.page), session_values(got.plan), chart_texts(got.page),
                        unverified_notes(got.plan))
    assert expected.session, "no rate or dose found in the plan's JSON"
    if got.plan["regimen"].get("route", "") in ("iv", "sc") or "<svg" in got.page:
        labels = " | ".join(expected.chart)
        assert re.search(r"\btime\b", labels) and "concentration" in labels, labels
    found = problems(tools, got.pdf, expected)
    assert not found, "\n".join(found)


def test_review_pictures_are_written(printed, review):
    for name, who in printed:
        assert (review / f"{name.removesuffix('.yaml')}-{who}-1.png").stat().st_size > 1000


# --- the checker itself must be able to fail -----------------------------------------------------

GOOD = Expected(text="", session=["25 mg/h", "25.0 mL/h", "100 mg"], chart=["time (h)", "0", "0"],
                unverified=["not found in any source"])


def _page(body: str, css: str = "@page { size: A4; margin: 11mm; }") -> str:
    return (f"<!DOCTYPE html><html><head><meta charset='utf-8'><style>{css}</style></head><body>"
            f"{body}</body></html>")


def _session(rate_cell="25 mg/h", width="") -> str:
    return ("<h2>Session</h2><table><tr><th>rate</th><th>pump</th><th>dose</th></tr>"
            f"<tr><td style='{width}'>{rate_cell}</td><td>25.0 mL/h</td><td>100 mg "
            "<b>[UNVERIFIED max: not found in any source]</b></td></tr></table>"
            "<h2>Course calendar</h2><p>Day 1</p>")


CHART = ("<h2>Predicted plasma ketamine</h2><div style='{box}'><svg width='600' height='200' "
         "viewBox='0 0 600 200'><text x='10' y='190'>0</text><text x='300' y='190'>0</text>"
         "<text x='500' y='190'>time (h)</text></svg></div><h2>Sources</h2><p>none</p>")


def _check(tools, browser, tmp_path, page_html) -> list:
    page, pdf = tmp_path / "p.html", tmp_path / "p.pdf"
    page.write_text(page_html, encoding="utf-8")
    browser.print_pdf(page, pdf)
    return problems(tools, pdf, dataclasses.replace(GOOD, text=page_text(page_html)))


@pytest.fixture
def checked(tools, browser, tmp_path):
    return lambda page_html: _check(tools, browser, tmp_path, page_html)


def test_checker_passes_a_good_page(checked):
    assert checked(_page(_session() + CHART.format(box=""))) == []


def test_checker_fails_three_pages_and_letter_paper(checked):
    three = "".join("<p style='page-break-after: always'>page</p>" for _ in range(2))
    got = checked(_page(three + _session() + CHART.format(box=""),
                        css="@page { size: letter; }"))
    assert "3 pages (at most 2)" in got
    assert any("not A4" in p for p in got), got


def test_checker_fails_a_number_split_across_lines(checked):
    got = checked(_page(_session(width="width: 1pt; word-break: break-all")
                        + CHART.format(box="")))
    assert "session table: '25 mg/h' is not whole on one line" in got, got


def test_checker_fails_a_cropped_chart(checked):
    got = checked(_page(_session() + CHART.format(box="width: 200px; overflow: hidden")))
    assert "chart: 'time (h)' missing (0 of 1)" in got and "chart: '0' missing (1 of 2)" in got, got
    assert any(p.startswith("8 characters of the page are not in the PDF") for p in got), got


def test_checker_fails_a_missing_mark_tiny_print_and_text_lost_off_the_page(checked):
    tiny = "<p style='font-size: 3pt'>tiny print</p>"
    off = "<p style='position: relative; left: -30mm'>off the page</p>"
    got = checked(_page(_session().replace("UNVERIFIED max: ", "") + tiny + off
                        + CHART.format(box="")))
    assert "no UNVERIFIED mark before 'not found in any source'" in got, got
    assert any(p.startswith("2 words less than 6.0 pt high") for p in got), got
    assert any(p.startswith("10 characters of the page are not in the PDF, e.g. ['off', 'the', 'page']")
               for p in got), got
