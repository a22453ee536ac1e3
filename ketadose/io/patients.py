"""Reading a patient record from a file, stdin and/or command-line flags."""

from __future__ import annotations

from ketadose.errors import KetadoseError
from ketadose.io.files import read_bytes
from ketadose.io.library import vocabulary
from ketadose.io.yamlsrc import UNSAFE, Document, decode, load_text, unsafe_message
from ketadose.patient import build


def _today():
    import datetime as dt

    return dt.date.today()


def flags_to_data(flags: dict) -> dict:
    """Patient keys from flag values (None = flag not given)."""
    data: dict = {}
    weight = flags.get("weight")
    if weight is not None:
        # a bare number is refused like any quantity without its unit (units._no_unit): kg
        # and lb both occur, and 160 meant as lb would give a 160 kg plan
        data["weight"] = weight
    for key in ("height", "age", "sex", "pregnant", "breastfeeding", "heart_rate"):
        if flags.get(key) is not None:
            data[key] = flags[key]
    if flags.get("bp") is not None:
        data["blood_pressure"] = flags["bp"]
    for key, none_flag in (("conditions", "no_conditions"), ("allergies", "no_allergies")):
        values = list(flags.get(key) or ())
        if flags.get(none_flag):
            if values:
                raise KetadoseError(f"--no-{key} contradicts --{key[:-1]}")
            data[key] = []
        elif values:
            data[key] = values
    meds = list(flags.get("medications") or ())
    if flags.get("no_medications"):
        if meds:
            raise KetadoseError("--no-medications contradicts --medication")
        data["medications"] = []
    elif meds:
        data["medications"] = [_medication(m) for m in meds]
    if flags.get("no_previous_courses"):
        data["previous_courses"] = []
    liver = {}
    for test in ("alt", "ast", "alp", "ggt"):
        if flags.get(test) is not None:
            liver[test], liver[f"{test}_uln"] = _enzyme(test, flags[test])
    if flags.get("bilirubin") is not None:
        liver["bilirubin"] = flags["bilirubin"].strip()
    if liver:
        data["liver"] = liver
    return data


def _enzyme(test: str, text: str) -> tuple:
    """--alt VALUE/ULN: split at the '/' that starts the second number ("40 U/L/45 U/L" has
    three). The unit is written, as for every quantity: once after both numbers ("40/45 U/L",
    for both) or after each. A bare number is refused: it was taken as U/L, a default no other
    input path makes (a file's or a batch's "alt: 40" is refused), and laboratories also
    report these in µkat/L (1 µkat/L = 60 U/L)."""
    import re

    from ketadose.units import split_number

    parts = [p.strip() for p in re.split(r"/(?=\s*[0-9.])", text.strip())]
    if len(parts) != 2 or not all(parts):
        raise KetadoseError(f"--{test} {text!r}: give the value and the laboratory's upper limit "
                            "of normal as VALUE/ULN with the unit, e.g. 40/45 U/L")
    value, uln = (split_number(p) for p in parts)
    if value and uln and not value[1] and uln[1]:  # "40/45 U/L": the unit once, for both
        parts[0] = f"{value[0]} {uln[1]}"
    elif (value and not value[1]) or (uln and not uln[1]):
        raise KetadoseError(f"--{test} {text!r} has no unit; write it, e.g. --{test} "
                            f"'{parts[0]}/{parts[1]} U/L' (a bare number is refused, not "
                            "taken as U/L)")
    return tuple(parts)


_FLAG_NAMES = {"liver": "--alt/--ast/--alp/--ggt/--bilirubin", "blood_pressure": "--bp", "conditions": "--condition", "allergies": "--allergy",
               "medications": "--medication", "previous_courses": "--no-previous-courses"}


def _medication(text: str) -> dict:
    name, _, dose = text.partition(":")
    return {"name": name.strip(), **({"dose": dose.strip()} if dose.strip() else {})}


def patient_from_data(data: dict, where: str):
    """(Patient, data) from recorded data (e.g. an audit block); KetadoseError if invalid."""
    patient, findings = build(data, vocabulary())
    if patient is None:
        raise KetadoseError(f"invalid patient: {findings[0].with_path()}", where)
    return patient, data


def _refuse_escaped(doc: Document, path: tuple, value) -> None:
    """A character io.yamlsrc.UNSAFE finds written as an escape ("\\u202e", "\\x7f" in JSON or
    YAML) is refused where it is, as io.yamlsrc.decode refuses one written as it is and a batch
    record refuses both (io.batch._bidi_error): one patient's file took it (review of issue 18).
    (patient.build refuses them too, with the field's path; this gives the file's place.)"""
    if isinstance(value, str):
        found = UNSAFE.search(value)
        if found:
            raise KetadoseError(unsafe_message(found), doc.where(path))
    elif isinstance(value, dict):
        for key, item in value.items():
            found = UNSAFE.search(key) if isinstance(key, str) else None
            if found:
                raise KetadoseError(unsafe_message(found), doc.where(path + (key,), True))
            _refuse_escaped(doc, path + (key,), item)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _refuse_escaped(doc, path + (index,), item)


def load_patient(path: str | None, flags: dict, today=None):
    """(Patient, the merged input data) from --patient and flags; KetadoseError if invalid.

    A FHIR Bundle or Patient (it has a ``resourceType``) is first turned into the same record
    (io/fhir_in.py) as of the screening date ``today``.
    """
    doc, raw = None, b""
    data: dict = {}
    if path:
        raw = read_bytes(path)
        name = "<stdin>" if path == "-" else path
        text = decode(raw, name)  # refuses a bidirectional control written as it is
        doc = load_text(text, name)
        if not isinstance(doc.data, dict):
            raise KetadoseError("a patient record is a mapping of keys", doc.where(()))
        if "\\" in text:  # and one written as an escape, as a batch record refuses it
            _refuse_escaped(doc, (), doc.data)
        data = dict(doc.data)
        if "resourceType" in data:  # FHIR: positions in it do not map onto record keys
            from ketadose.io.fhir_in import record_from_fhir

            data = record_from_fhir(data, today or _today(), name)
            doc = Document(data, name)
    from_flags = flags_to_data(flags)
    for key, value in from_flags.items():
        if key in data and data[key] != value:
            raise KetadoseError(f"{key} is {data[key]!r} in the file but {value!r} on the command "
                                "line; give it once", doc.where((key,)) if doc else None)
        data[key] = value
    patient, findings = build(data, vocabulary(), today)
    if patient is None:
        first = findings[0]
        key = first.path[0] if first.path else None
        if doc is not None and key not in from_flags:
            where = doc.where(first.path, first.at_key)
        else:
            where = _FLAG_NAMES.get(key, f"--{str(key).replace('_', '-')}") if key else "patient"
            if key == "liver" and len(first.path) > 1:  # the one flag: --alt, not all five
                where = f"--{str(first.path[1]).removesuffix('_uln')}"
        more = f" ({len(findings)} problems)" if len(findings) > 1 else ""
        raise KetadoseError(f"invalid patient: {first.message}{more}", where)
    return patient, data
