"""`ketadose import FILE`: show the patient record derived from a FHIR Bundle or Patient, with
the FHIR resource behind each field, so that a clinician can check the mapping."""

from __future__ import annotations

from ketadose.errors import KetadoseError
from ketadose.io.files import read_bytes
from ketadose.io.yamlsrc import decode, load_text
from ketadose.render.data import to_json, to_yaml
from ketadose.render.diag import emit


def stale_settings(pairs) -> dict:
    out = {}
    for pair in pairs:
        key, sep, days = pair.partition("=")
        if not sep or not days.strip().isdigit():
            raise KetadoseError(f"--stale-after {pair!r}: write FIELD=DAYS, e.g. liver=14")
        out[key.strip()] = int(days)
    return out


def run_import(path, today, fmt, stale_after, record_only) -> int:
    from ketadose.io.fhir_in import from_fhir, is_fhir
    from ketadose.io.library import vocabulary
    from ketadose.patient import build

    name = "<stdin>" if path == "-" else path
    doc = load_text(decode(read_bytes(path), name), name)
    if not is_fhir(doc.data):
        raise KetadoseError("not a FHIR resource (no resourceType); a ketadose patient record "
                            "needs no import", f"{name}:1:1")
    imported = from_fhir(doc.data, today, name, stale_after)
    _patient, problems = build(imported.record, vocabulary())
    report = imported.record if record_only else imported.report()
    if not record_only:
        report["valid"] = not problems
        report["problems"] = [f.with_path() for f in problems]
    emit(to_json(report) if fmt == "json" else to_yaml(report))
    return 2 if problems else 0
