"""Shell fuzz harness: generated regimens, patients, option values and batch lines through the
real entry point (``ketadose.cli.main``, in-process under click's isolation) and every renderer
and format. Properties checked on every run:

* the exit code is 0, 1 or 2 (3 is a bug; a traceback is a bug);
* where JSON is asked for (json, fhir, every jsonl line), stdout is strict JSON;
* no raw control or bidi-override character reaches stdout or stderr (neither is a terminal
  here, so rich adds no escape sequences of its own: any ESC is injected);
* no stray files: the working folder holds the inputs, plus the -o / --plot file only when the
  run succeeded (exit 0 or 1), and never a ``.ketadose-*.tmp``.

A ``Source`` supplies the choices: atheris' FuzzedDataProvider (fuzz/fuzz_cli.py) or a seeded
random generator (tests/test_fuzz_cli.py, fixed seed, a bounded number of runs for CI).
"""

from __future__ import annotations

import copy
import json
import os
import random
import re
import shutil
import tempfile
from importlib import resources

import yaml
from click.testing import CliRunner

from ketadose.cli import main

TEMPLATES = sorted(f.name for f in resources.files("ketadose.regimens").iterdir()
                   if f.name.endswith(".yaml"))
BASE_PATIENT = {"id": "p-1", "age": 45, "sex": "female", "weight": "72 kg", "height": "168 cm",
                "pregnant": False, "breastfeeding": False, "blood_pressure": "128/82",
                "heart_rate": 72, "conditions": [], "medications": [], "allergies": [],
                "previous_courses": []}

HOSTILE = ["[/]", "[max 0.2 mg/day]", "[link=https://evil.invalid]click[/link]", "[bold]x",
           "\x1b]0;pwned\x07", "\x1b[2J", "\x9b31m", "=HYPERLINK(\"http://x.invalid\",\"y\")",
           "+1+1", "-2", "@SUM(A1)", "\tTAB", "\rCR", "a::error::b", "100%", "two\nlines",
           "\u202eevil\u202c", "\u2066iso", "../Practitioner/7", "x" * 300, ":smile:", "é µg",
           "", " ", "\x00nul", "\x7f", "ok-id", "%0A::warning::x", "0", "-0", "nan", "inf",
           "1e-320", "1e308", "9" * 60]
QUANTITIES = ["0mg/mL", "-0mg/mL", "1e-320mg/mL", "nan mg/mL", "inf mg/mL", "1mg/mL", "10 mg/mL",
              "50mg/mL", "1e300mg/mL", "0.0001 mg/mL", "2 mg/kg", "1,5mg/mL", "mg/mL", "1 mcg/mL"]
STARTS = ["2026-12-01T09:00", "9999-12-25T09:00", "0001-01-01T00:00", "2026-02-30T09:00",
          "2026-12-01", "2026-12-01T09:00+05:00", "tomorrow", "2026-12-31T23:59"]
NUMBERS = ["0", "-1", "nan", "inf", "-inf", "1e-320", "0.01", "0.5", "1", "20", "500", "501",
           "1e308", "9" * 400, "abc", ""]

_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


class PropertyViolation(AssertionError):
    pass


class RandomSource:
    def __init__(self, seed):
        self.r = random.Random(seed)

    def pick(self, options):
        return options[self.r.randrange(len(options))]

    def integer(self, lo, hi):
        return self.r.randint(lo, hi)

    def boolean(self):
        return self.r.random() < 0.5

    def text(self, max_len=20):
        alphabet = "az09 -_.:[]/=+@%\n\t\x1b\u202e\x07é"
        return "".join(self.r.choice(alphabet) for _ in range(self.r.randint(0, max_len)))


class FuzzSource:
    """Over atheris.FuzzedDataProvider."""

    def __init__(self, fdp):
        self.fdp = fdp

    def pick(self, options):
        return options[self.fdp.ConsumeIntInRange(0, len(options) - 1)]

    def integer(self, lo, hi):
        return self.fdp.ConsumeIntInRange(lo, hi)

    def boolean(self):
        return self.fdp.ConsumeBool()

    def text(self, max_len=20):
        return self.fdp.ConsumeUnicodeNoSurrogates(max_len)


def _value(src):
    return src.pick(HOSTILE) if src.boolean() else src.text()


def regimen_text(src) -> str:
    """A shipped template with hostile text, odd numbers or raw bytes in a few places."""
    data = yaml.safe_load(resources.files("ketadose.regimens").joinpath(
        src.pick(TEMPLATES)).read_text(encoding="utf-8"))
    for _ in range(src.integer(0, 3)):
        where = src.pick(["title", "notes", "phase name", "phase source", "criteria",
                          "monitoring", "adjunct", "stop rule", "schedule source", "rate",
                          "raw", "tag"])
        phases = data["schedule"]["phases"]
        p = phases[src.integer(0, len(phases) - 1)]
        if where == "title":
            data["title"] = _value(src)
        elif where == "notes":
            data["notes"] = _value(src)
        elif where == "phase name":
            p["name"] = _value(src) or "x"
        elif where == "phase source":
            p["source"] = _value(src) or "x"
        elif where == "criteria":
            for key in ("titrate_to", "escalate_if", "notes"):
                if key in p:
                    p[key] = _value(src)
        elif where == "monitoring" and data.get("monitoring"):
            data["monitoring"][0]["what"] = _value(src) or "x"
        elif where == "adjunct" and data.get("adjuncts"):
            data["adjuncts"][0]["name"] = _value(src) or "x"
        elif where == "stop rule" and data.get("stop_rules"):
            data["stop_rules"][0]["action"] = _value(src) or "x"
        elif where == "schedule source":
            data["schedule"]["source"] = _value(src) or "x"
        elif where == "rate":
            for key in ("rate", "dose", "start", "max", "max_rate"):
                if key in p:
                    p[key] = f"{src.pick(NUMBERS)} {src.pick(['mg/h', 'mg/kg/h', 'mg', 'mcg/kg/min'])}"
                    break
    text = yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
    if src.boolean() and src.boolean():
        extra = src.pick(['!!int "0x1"', '!!float "abc"', "1" * 5000, "&a [*a, *a]",
                          '"\\ud800"', '"\\x1b[2J"', "{a: 1, a: 2}"])
        text += f"\nnotes: {extra}\n"
    return text


def patient(src) -> dict:
    data = copy.deepcopy(BASE_PATIENT)
    for _ in range(src.integer(0, 2)):
        key = src.pick(["id", "weight", "height", "age", "medications", "conditions",
                        "allergies", "delete"])
        if key == "id":
            data["id"] = _value(src)
        elif key == "weight":
            data["weight"] = f"{src.pick(NUMBERS)} {src.pick(['kg', 'lb', 'g', ''])}"
        elif key == "height":
            data["height"] = f"{src.pick(NUMBERS)} cm"
        elif key == "age":
            data["age"] = src.pick([0, -1, 17, 45, 120, 10**40, "45", None])
        elif key == "medications":
            data["medications"] = [{"name": _value(src) or "morphine", "dose": "60 mg/day"}]
        elif key == "conditions":
            data["conditions"] = [_value(src)]
        elif key == "allergies":
            data["allergies"] = [src.pick(["ketamine", _value(src)])]
        else:
            data.pop(src.pick(list(data)), None)
    return data


def batch_lines(src) -> str:
    lines = []
    for i in range(src.integer(0, 6)):
        kind = src.pick(["good", "mutated", "raw", "surrogate", "empty", "array"])
        if kind == "good":
            lines.append(json.dumps({**BASE_PATIENT, "id": f"b{i}"}))
        elif kind == "mutated":
            lines.append(json.dumps(patient(src), ensure_ascii=src.boolean()))
        elif kind == "raw":
            lines.append(src.text(40).replace("\n", " "))
        elif kind == "surrogate":
            lines.append('{"id": "\\ud800", "age": 45}')
        elif kind == "array":
            lines.append("[1, 2]")
        else:
            lines.append("")
    return "\n".join(lines) + ("\n" if src.boolean() else "")


def scenario(src):
    """(argv, input files {name: text}, stdin text or None, expectations)."""
    files = {}
    command = src.pick(["plan", "plan", "check", "validate", "show", "simulate", "batch",
                        "verify", "list", "compare"])
    regimen = "crps-schwartzman-2009"
    if src.boolean() or command in ("validate", "show"):
        name = src.pick(["r.yaml", "r e.yaml", "weird\nname.yaml", "a::b,c%.yaml", "=x.yaml"])
        files[name] = regimen_text(src)
        regimen = name
    pfile = "p.yaml"
    files[pfile] = yaml.safe_dump(patient(src), allow_unicode=True)
    args, fmt, outfile = [], "table", None
    if command == "plan":
        fmt = src.pick(["table", "json", "yaml", "csv", "fhir", "html"])
        args = ["plan", regimen, "--patient", pfile, "--format", fmt]
        for _ in range(src.integer(0, 3)):
            opt = src.pick(["--concentration", "--start", "--priming", "--override",
                            "--weight-basis", "--explain", "--reproducible"])
            if opt == "--concentration":
                args += [opt, src.pick(QUANTITIES)]
            elif opt == "--start":
                args += [opt, src.pick(STARTS)]
            elif opt == "--priming":
                args += [opt, src.pick(NUMBERS)]
            elif opt == "--override":
                args += [opt, _value(src) + " reason given here"]
            elif opt == "--weight-basis":
                args += [opt, src.pick(["actual", "ideal", "adjusted"])]
            else:
                args.append(opt)
    elif command == "check":
        fmt = src.pick(["table", "json", "yaml"])
        args = ["check", regimen, "--patient", pfile, "--format", fmt]
        if src.boolean():
            args += ["--date", src.pick(["2026-11-25", "9999-12-31", "0001-01-01", "x"])]
        if src.boolean():
            args.append("--explain")
    elif command == "validate":
        fmt = src.pick(["text", "json", "github"])
        args = ["validate", regimen, "--format", fmt]
    elif command == "show":
        fmt = src.pick(["table", "json", "yaml"])
        args = ["show", regimen, "--format", fmt]
    elif command == "simulate":
        fmt = src.pick(["table", "json", "csv"])
        args = ["simulate", regimen, "--patient", pfile, "--format", fmt, "--resolution", "60 min"]
        if src.boolean():
            args += ["--ka", src.pick(NUMBERS)]
        if src.boolean():
            args += ["--f", src.pick(NUMBERS)]
        if src.boolean():
            args += ["--plot", src.pick(["c.svg", "c.txt", "p.yaml"])]
    elif command == "batch":
        fmt = "jsonl"
        files["b.jsonl"] = batch_lines(src)
        args = [src.pick(["plan", "check"]), regimen, "--patients", "b.jsonl", "--format", "jsonl"]
        if src.boolean():
            args += ["--start", src.pick(STARTS)]
    elif command == "verify":
        fmt = src.pick(["text", "json"])
        args = ["verify", "saved.json", "--format", fmt]
        files["saved.json"] = src.pick([
            '{"audit": {"inputs": {"patient": {}, "options": {"command": "plan"}}}}',
            '{"audit": {"inputs": {"patient": 1, "options": []}}}',
            '{"audit": {"inputs": {"patient": {"weight": "72 kg"}, "options": {"command": "check", "date": "x"}}}}',
            '{"a": 1, "a": 2}', "[]", "NaN", '{"audit": null}', src.text(60)])
    elif command == "list":
        fmt = src.pick(["table", "json", "yaml"])
        args = ["list", "--format", fmt]
        if "r.yaml" in files or src.boolean():
            args = ["--regimens", ".", *args]
    else:
        fmt = src.pick(["table", "json", "yaml"])
        args = ["compare", regimen, "sci-amr-2010", "--patient", pfile, "--format", fmt]
    if src.boolean() and src.boolean():
        outfile = src.pick(["out.txt", "out.txt", "out.json", "p.yaml", "new dir/x", "."])
        args += ["-o", outfile]
        if src.boolean():
            args.append("--force")
    return args, files, fmt, outfile


def check_run(args, files, fmt, outfile, workdir) -> int:
    """Run one scenario in ``workdir`` (emptied first) and check every property."""
    for name in os.listdir(workdir):
        path = os.path.join(workdir, name)
        shutil.rmtree(path) if os.path.isdir(path) and not os.path.islink(path) else os.unlink(path)
    for name, text in files.items():
        with open(os.path.join(workdir, name), "w", encoding="utf-8", errors="surrogatepass") as fh:
            fh.write(text)
    before = set(os.listdir(workdir))
    runner = CliRunner()
    cwd = os.getcwd()
    os.chdir(workdir)
    try:
        with runner.isolation() as (out, err, _):
            try:
                main(args)
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 0
            stdout, stderr = out.getvalue(), err.getvalue()
    finally:
        os.chdir(cwd)
    where = f"ketadose {args!r}"
    if code not in (0, 1, 2):
        raise PropertyViolation(f"{where}: exit {code}: {stderr[-500:]!r}")
    for name, stream in (("stdout", stdout), ("stderr", stderr)):
        text = stream.decode("utf-8", errors="replace")
        bad = _UNSAFE.search(text)
        if bad:
            raise PropertyViolation(f"{where}: raw {bad.group(0)!r} on {name}: "
                                    f"{text[max(0, bad.start() - 60):bad.start() + 20]!r}")
    target = stdout
    if outfile and code in (0, 1) and os.path.isfile(os.path.join(workdir, outfile)) \
            and outfile not in files:
        with open(os.path.join(workdir, outfile), "rb") as fh:
            target = fh.read()
    if fmt in ("json", "fhir") and code in (0, 1) and target and "verify" not in args[:1]:
        _strict_json(target.decode("utf-8"), where)
    if fmt == "jsonl" and code in (0, 1, 2) and target:
        for line in target.decode("utf-8").splitlines():
            _strict_json(line, where)
    after = set(os.listdir(workdir))
    new = after - before
    if any(n.startswith(".ketadose-") for n in after):
        raise PropertyViolation(f"{where}: temporary file left: {sorted(after)}")
    allowed = set()
    if outfile and (code in (0, 1) or (code == 2 and fmt == "jsonl" and "jsonl" in target_kind(args))):
        allowed.add(outfile.split("/")[0])
    if code == 0 and "--plot" in args:
        allowed.add(args[args.index("--plot") + 1])
    if new - allowed:
        raise PropertyViolation(f"{where} (exit {code}): stray files {sorted(new - allowed)}")
    return code


def target_kind(args) -> str:
    """A batch ends with exit 2 when a record is bad, yet its output is whole (error records)."""
    return "jsonl" if "--patients" in args else ""


def _no_constant(name):
    raise ValueError(f"{name} in JSON output")


def _strict_json(text, where):
    try:
        json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise PropertyViolation(f"{where}: invalid JSON output: {exc}") from None


def one(src, workdir) -> int:
    args, files, fmt, outfile = scenario(src)
    return check_run(args, files, fmt, outfile, workdir)


def make_workdir() -> str:
    return tempfile.mkdtemp(prefix="ketadose-fuzz-cli-")
