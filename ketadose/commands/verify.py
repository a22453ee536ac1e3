"""`ketadose verify OUTPUT.json`: recompute a saved plan or check from its audit block."""

from __future__ import annotations

import datetime as dt
import json
import os

import click

from ketadose.errors import KetadoseError
from ketadose.io.files import read_bytes
from ketadose.io.library import limit_library, vocabulary
from ketadose.render.data import to_json

VOLATILE = ("computed_at",)


def _strip(data):
    data = json.loads(json.dumps(data))
    audit = data.get("audit") or {}
    for key in VOLATILE:
        audit.pop(key, None)
    return data


def _diff(old, new, path="") -> list:
    if isinstance(old, dict) and isinstance(new, dict):
        out = []
        for key in sorted(set(old) | set(new)):
            out += _diff(old.get(key), new.get(key), f"{path}.{key}" if path else key)
        return out
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        out = []
        for i, (a, b) in enumerate(zip(old, new)):
            out += _diff(a, b, f"{path}[{i}]")
        return out
    return [] if old == new else [path]


def run_verify(dirs, path, fmt) -> int:
    raw = read_bytes(path)
    try:
        saved = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError) as exc:
        raise KetadoseError(f"not a ketadose JSON output: {exc}", path) from None
    audit = saved.get("audit") if isinstance(saved, dict) else None
    if not isinstance(audit, dict) or "inputs" not in audit:
        raise KetadoseError("no audit block: was this written by `plan` or `check --format json`?",
                            path)
    problems, notes = [], []
    options = audit["inputs"].get("options") or {}
    command = options.get("command")
    ref = audit.get("regimen_file")
    if ref and not os.path.exists(ref):
        notes.append(f"regimen file {ref} is gone; looked it up by id {audit.get('regimen_id')}")
        ref = audit.get("regimen_id")
    src = None
    if ref:
        from ketadose.io.regimens import resolve

        src = resolve(ref, dirs)
        if src.sha256 != audit.get("regimen_sha256"):
            problems.append(f"the regimen file changed since the output was made (sha256 "
                            f"{audit.get('regimen_sha256', '')[:12]}… then, {src.sha256[:12]}… now)")
    if audit.get("limits_version") != limit_library().version:
        notes.append(f"limit library {audit.get('limits_version')} then, {limit_library().version} now")
    if audit.get("vocabulary_version") != vocabulary().version:
        notes.append(f"vocabulary {audit.get('vocabulary_version')} then, {vocabulary().version} now")
    recomputed = _recompute(command, src, audit, options, dirs)
    differences = _diff(_strip(saved), _strip(recomputed))
    differences = [d for d in differences if not d.startswith(("audit.ketadose_version",
                                                                 "ketadose_version"))]
    if differences:
        problems.append("recomputing gives different results at: " + ", ".join(differences[:12])
                        + (" …" if len(differences) > 12 else ""))
    ok = not problems
    if fmt == "json":
        click.echo(to_json({"file": path, "matches": ok, "problems": problems, "notes": notes,
                            "differences": differences}), nl=False)
    else:
        click.echo(f"{path}: {'MATCHES' if ok else 'DOES NOT MATCH'} today's regimen, rules and limits")
        for p in problems:
            click.echo(f"  - {p}")
        for n in notes:
            click.echo(f"  note: {n}")
    return 0 if ok else 1


def _recompute(command, src, audit, options, dirs) -> dict:
    """Run the same command again, in-process, on the recorded inputs."""
    import contextlib
    import io
    import tempfile

    from ketadose.io.files import write_atomic

    patient = audit["inputs"]["patient"]
    with tempfile.TemporaryDirectory() as tmp:
        ppath = os.path.join(tmp, "patient.json")
        write_atomic(ppath, json.dumps(patient))
        buf = io.StringIO()
        with contextlib.redirect_stdout(buf):
            try:
                if command == "plan":
                    from ketadose.commands.plan import run_plan
                    from ketadose.units import parse_quantity

                    opts = {"concentration": parse_quantity(options["concentration"])
                            if options.get("concentration") else None,
                            "weight_basis": options.get("weight_basis"),
                            "start": dt.datetime.fromisoformat(options["start"])
                            if options.get("start") else None,
                            "priming": options.get("priming"), "override": options.get("override"),
                            "reproducible": True}
                    run_plan(dirs, src.name, ppath, {}, opts, "json")
                elif command == "check":
                    from ketadose.commands.check import run_check

                    run_check(dirs, src.name if src else None, ppath, {}, options.get("override"),
                              dt.date.fromisoformat(options["date"]), "json", True)
                else:
                    raise KetadoseError(f"cannot verify a {command!r} output")
            except click.exceptions.Exit:
                pass
        return json.loads(buf.getvalue())
