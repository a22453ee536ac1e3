"""Screening questions in the words of the interface that ran (issue 16 item 5).

A record read from a file is completed by adding keys to the file; a record given as
command-line flags by adding flags. A rule asks ``ask(field, ctx)`` for the answer's form and
puts it in its question. The interface is derived from the recorded inputs (every key of the
patient came from a flag: "flags"), so `verify` recomputes the same words.
"""

from __future__ import annotations

FILE, FLAGS = "file", "flags"

ANSWERS: dict[str, tuple[str, str]] = {
    # field: (in a patient file, on the command line)
    "allergies": ("[] for none", "--allergy TEXT, repeatable; --no-allergies for none"),
    "conditions": ("ids from `ketadose vocabulary`; [] for none",
                   "--condition ID, repeatable, ids from `ketadose vocabulary`; --no-conditions "
                   "for none"),
    "condition_grade": ("{cid}:stable, :poorly-controlled or :severe",
                        "--condition {cid}:stable, :poorly-controlled or :severe"),
    "hepatic_grade": ("hepatic-impairment:mild, :moderate or :severe",
                      "--condition hepatic-impairment:mild, :moderate or :severe"),
    "medications": ("generic names; [] for none",
                    "--medication NAME, repeatable, generic names; --no-medications for none"),
    "previous_courses": ("previous_courses; [] for none",
                         "--no-previous-courses for none; earlier courses go in a patient file "
                         "under previous_courses"),
    "pregnant": ("true/false", "--pregnant or --not-pregnant"),
    "age": ("years", "--age YEARS"),
    "blood_pressure": ("e.g. 128/82", "--bp SYS/DIA, e.g. --bp 128/82"),
    "heart_rate": ("beats/min", "--heart-rate, beats/min"),
    "liver": ("ALT, AST, ALP, GGT with upper limits",
              "--alt, --ast, --alp and --ggt as VALUE/ULN, e.g. --alt '40/45 U/L'"),
    "liver_test": ("{test}; with {test}_uln", "--{test} VALUE/ULN"),
    "liver_uln": ("{test}_uln", "--{test} VALUE/ULN"),
}


def interface(patient_data, from_flags) -> str:
    """FLAGS when every key of the patient record came from a command-line flag."""
    keys = set(patient_data or ())
    return FLAGS if keys and keys <= set(from_flags or ()) else FILE


def ask(field: str, ctx, **names) -> str:
    """How to answer about ``field`` in the interface of ``ctx`` (``{names}`` filled in)."""
    file_form, flag_form = ANSWERS[field]
    form = flag_form if getattr(ctx, "interface", FILE) == FLAGS else file_form
    return form.format(**names) if names else form


def grouped(not_assessed) -> list[tuple[str, tuple[str, ...]]]:
    """Each question once, in first-asked order, with the rules that need its answer."""
    rules: dict[str, list[str]] = {}
    for rule, question in not_assessed:
        seen = rules.setdefault(question, [])
        if rule not in seen:
            seen.append(rule)
    return [(q, tuple(r)) for q, r in rules.items()]
