"""`ketadose verify OUTPUT.json`: recompute a saved plan or check from its audit block.

The saved file is read as typed JSON (``false`` is not ``0``, duplicate keys are refused: a
reader keeping the first of two keys would see another plan than one keeping the last), the
audit block is checked field by field (a malformed one is an input error, exit 2), and the
result is recomputed with every recorded input that changes the output (options, screening
date, --explain and the patient's origin): a plan through the core's result and the renderer
`plan --format json` writes with (`commands.plan.options_result`, `render.plan_data.write_json`),
so what is compared is what the command delivers; a check through `check_document`.
"""

from __future__ import annotations

import io
import json
import math
import os

from ketadose.errors import KetadoseError
from ketadose.io.files import read_bytes
from ketadose.io.library import limit_library, thresholds, vocabulary
from ketadose.isotime import parse_date, parse_datetime
from ketadose.render.data import to_json
from ketadose.render.diag import emit, emit_line
from ketadose.render.text import quote_token

VOLATILE = ("computed_at",)


def _no_duplicates(pairs):
    out = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate key {quote_token(key)}")
        out[key] = value
    return out


def _no_constant(name):
    raise ValueError(f"{name} is not a number")


def load_json(raw: bytes, name: str):
    try:
        return json.loads(raw.decode("utf-8"), object_pairs_hook=_no_duplicates,
                          parse_constant=_no_constant)
    except UnicodeDecodeError:
        raise KetadoseError("not a ketadose JSON output: not valid UTF-8", name) from None
    except RecursionError:
        raise KetadoseError("not a ketadose JSON output: nested too deeply", name) from None
    except ValueError as exc:
        msg = str(exc).splitlines()[0][:120]
        raise KetadoseError(f"not a ketadose JSON output: {msg}", name) from None


def _strip(data):
    data = json.loads(json.dumps(data))
    audit = data.get("audit") if isinstance(data, dict) else None
    if isinstance(audit, dict):
        for key in VOLATILE:
            audit.pop(key, None)
    return data


def _same(a, b) -> bool:
    """Typed equality: a boolean is not a number, a string is not a number."""
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    if isinstance(a, (int, float)) and isinstance(b, (int, float)):
        return a == b
    return type(a) is type(b) and a == b


def _diff(old, new, path="") -> list:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            if (key in old) != (key in new):
                out.append(f"{path}.{key}" if path else key)
                continue
            out += _diff(old[key], new[key], f"{path}.{key}" if path else key)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += _diff(a, b, f"{path}[{i}]")
        return out
    if isinstance(old, (dict, list)) or isinstance(new, (dict, list)):
        return [] if type(old) is type(new) and old == new else [path]
    return [] if _same(old, new) else [path]


class _Audit:
    """The audit block, checked field by field: a malformed one names its field, exit 2."""

    def __init__(self, saved, name):
        self.name = name
        audit = saved.get("audit") if isinstance(saved, dict) else None
        if not isinstance(audit, dict) or "inputs" not in audit:
            raise KetadoseError("no audit block: was this written by `plan` or "
                                "`check --format json`?", name)
        self.audit = audit
        inputs = self.field(audit, "inputs", dict)
        self.patient = self.field(inputs, "patient", dict, "inputs.")
        self.options = self.field(inputs, "options", dict, "inputs.")
        self.command = self.field(self.options, "command", str, "inputs.options.")
        if self.command not in ("plan", "check"):
            raise KetadoseError(f"cannot verify a {quote_token(self.command)} output", name)

    def field(self, where, key, kind, prefix="", optional=False):
        value = where.get(key)
        if value is None and optional:
            return None
        if not isinstance(value, kind) or isinstance(value, bool) and kind is not bool:
            want = {dict: "an object", str: "text", bool: "true or false",
                    (int, float): "a number", list: "a list"}.get(kind, "a value")
            raise KetadoseError(f"malformed audit block: audit.{prefix}{key} must be {want}",
                                self.name)
        return value

    def opt(self, key, kind, optional=True):
        return self.field(self.options, key, kind, "inputs.options.", optional)

    def date(self, key, parse=parse_date):
        text = self.opt(key, str)
        if text is None:
            return None
        try:
            return parse(text)
        except ValueError:
            raise KetadoseError(f"malformed audit block: audit.inputs.options.{key} is not a "
                                "date", self.name) from None


def run_verify(dirs, path, fmt) -> int:
    raw = read_bytes(path)
    name = "<stdin>" if path == "-" else path
    saved = load_json(raw, name)
    audit = _Audit(saved, name)
    problems: list[str] = []
    notes: list[str] = []
    src = _regimen_source(audit, dirs, name, problems, notes)
    notes += _version_notes(audit.audit)
    differences = _differences(saved, _recompute(audit, src), audit)
    if differences:
        problems.append("recomputing gives different results at: " + ", ".join(differences[:12])
                        + (" …" if len(differences) > 12 else ""))
    ok = not problems
    if fmt == "json":
        emit(to_json({"file": name, "matches": ok, "problems": problems, "notes": notes,
                      "differences": differences}))
    else:
        emit_line(f"{name}: {'MATCHES' if ok else 'DOES NOT MATCH'} today's regimen, rules and "
                  "limits")
        for p in problems:
            emit_line(f"  - {p}")
        for n in notes:
            emit_line(f"  note: {n}")
    return 0 if ok else 1


def _regimen_source(audit, dirs, name, problems, notes):
    """The regimen the output was made from, found again (by id when its file is gone), with a
    problem when its bytes changed; None for a check made without a regimen."""
    ref = audit.field(audit.audit, "regimen_file", str, optional=True)
    rid = audit.field(audit.audit, "regimen_id", str, optional=True)
    then_sha = audit.field(audit.audit, "regimen_sha256", str, optional=True) or ""
    if ref and ref != "<stdin>" and not os.path.exists(ref):
        notes.append(f"regimen file {ref} is gone; looked it up by id {rid}")
        ref = rid
    elif ref == "<stdin>":
        raise KetadoseError("the regimen was read from standard input; verify needs it as a "
                            "file or an id", name)
    if audit.command == "plan" and not ref:
        raise KetadoseError("malformed audit block: a plan names its regimen "
                            "(audit.regimen_file)", name)
    if not ref:
        return None
    from ketadose.io.regimens import resolve

    src = resolve(ref, dirs)
    if src.sha256 != then_sha:
        problems.append(f"the regimen file changed since the output was made (sha256 "
                        f"{then_sha[:12]}… then, {src.sha256[:12]}… now)")
    return src


def _version_notes(audit: dict) -> list:
    """Data versions that changed since (notes: the recomputation says whether they matter)."""
    notes = []
    then_limits = audit.get("limits_version")
    if then_limits != limit_library().version:
        notes.append(f"limit library {then_limits} then, {limit_library().version} now")
    then_thresholds = audit.get("thresholds_version")
    if then_thresholds is not None and then_thresholds != thresholds().version:
        notes.append(f"clinical thresholds {then_thresholds} then, {thresholds().version} now")
    then_vocab = audit.get("vocabulary_version")
    if then_vocab != vocabulary().version:
        notes.append(f"vocabulary {then_vocab} then, {vocabulary().version} now")
    return notes


def _differences(saved: dict, recomputed: dict, audit) -> list:
    """Paths where the recomputed output differs from the saved one, the version fields aside.
    Outputs saved before some inputs were recorded lack them: compare what they have."""
    if "thresholds_version" not in audit.audit:  # saved before the thresholds were versioned
        (recomputed.get("audit") or {}).pop("thresholds_version", None)
    new_options = (recomputed.get("audit") or {}).get("inputs", {}).get("options", {})
    for key in ("date", "explain", "format", "patient_from_flags"):
        if key not in audit.options:
            new_options.pop(key, None)
    differences = _diff(_strip(saved), _strip(recomputed))
    return [d for d in differences if not d.startswith(("audit.ketadose_version",
                                                        "ketadose_version"))]


def _recompute(audit: _Audit, src) -> dict:
    """The same document recomputed by the core from the recorded inputs."""
    from ketadose.io.patients import patient_from_data
    from ketadose.io.regimens import check_source

    patient, patient_data = patient_from_data(dict(audit.patient), f"{audit.name}: audit patient")
    override = audit.opt("override", str)
    explain = bool(audit.opt("explain", bool))
    from_flags = audit.opt("patient_from_flags", list) or []
    if not all(isinstance(k, str) for k in from_flags):
        raise KetadoseError("malformed audit block: audit.inputs.options.patient_from_flags "
                            "must be a list of keys", audit.name)
    regimen = findings = None
    if src is not None:
        regimen, findings = check_source(src)
    if audit.command == "check":
        from ketadose.commands.check import check_document

        today = audit.date("date")
        if today is None:
            raise KetadoseError("malformed audit block: audit.inputs.options.date is missing",
                                audit.name)
        data, _screen = check_document(src, regimen, patient, patient_data, override, today,
                                       True, explain, set(from_flags),
                                       audit.opt("format", str) or "json")
        return data
    from ketadose.commands.plan import options_result
    from ketadose.render.plan_data import write_json
    from ketadose.units import parse_quantity

    conc = audit.opt("concentration", str)
    priming = audit.opt("priming", (int, float))
    if priming is not None and not (math.isfinite(priming) and 0 <= priming <= 500):
        raise KetadoseError("malformed audit block: audit.inputs.options.priming is out of "
                            "range", audit.name)
    basis = audit.opt("weight_basis", str)
    if basis not in (None, "actual", "ideal", "adjusted"):
        raise KetadoseError("malformed audit block: audit.inputs.options.weight_basis",
                            audit.name)
    opts = {"concentration": parse_quantity(conc, ("concentration",)) if conc else None,
            "weight_basis": basis, "start": audit.date("start", parse_datetime),
            "date": audit.date("date"), "priming": priming, "override": override,
            "reproducible": True, "explain": explain, "format": audit.opt("format", str),
            "from_flags": set(from_flags)}
    if opts["concentration"] is not None:
        from ketadose.commands.options import positive

        positive(opts["concentration"].magnitude("mg/mL"), "audit.inputs.options.concentration",
                 "a strength")
    result = options_result(src, regimen, findings, patient, patient_data, opts)
    written = io.StringIO()
    write_json(result, written)  # what `plan --format json` writes for these inputs
    return json.loads(written.getvalue())
