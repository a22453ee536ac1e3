"""`ketadose check`: screen a patient (for a regimen, or for ketamine in general)."""

from __future__ import annotations

import datetime as dt

from ketadose import __version__
from ketadose.errors import KetadoseError
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.render.data import to_json, to_yaml
from ketadose.render.diag import emit
from ketadose.render.documents.screen import screen_data
from ketadose.rules import screening_rules
from ketadose.screen import Context, run

MIN_REASON = 10  # printable characters, spaces not counted


def override_reason(text: str | None) -> str | None:
    """The override reason as it will be recorded and shown: escape sequences, control and
    zero-width characters removed; at least MIN_REASON visible characters or an input error."""
    if text is None:
        return None
    from ketadose.text import printable, visible_length

    if visible_length(text) < MIN_REASON:
        raise KetadoseError(f"--override needs a reason a clinician can read: at least {MIN_REASON} "
                            "printable characters (spaces, control and invisible characters do "
                            "not count)")
    return printable(text)


def screen_for(patient, regimen, today: dt.date, override: str | None, interface: str = "file"):
    """The screen; ``interface`` ("file" or "flags", ketadose.questions) words its questions."""
    from ketadose.io.library import thresholds, vocabulary

    return run(patient, Context(regimen, today, vocabulary(), thresholds(), interface),
               screening_rules(), override_reason(override))


def check_document(src, regimen, patient, patient_data, override, today, reproducible=False,
                   explain=False, from_flags=(), fmt="json"):
    """The check as (document, screen), computed by the core; shared by `check` and `verify`."""
    from ketadose.audit import audit_block
    from ketadose.io.library import limit_library, thresholds, vocabulary
    from ketadose.questions import interface
    from ketadose.render.explain import cards, inputs_used, rules_evaluated

    screen = screen_for(patient, regimen, today, override, interface(patient_data, from_flags))
    data = {"ketadose_version": __version__,
            "regimen": {"id": regimen.id, "sha256": src.sha256} if regimen else None,
            "patient": {"id": patient.id}, "date": today.isoformat(), **screen_data(screen)}
    data["cards"] = cards(screen.findings)
    if explain:
        data["explain"] = {"inputs": inputs_used(patient_data, set(from_flags)),
                           "rules_evaluated": rules_evaluated(screen)}
    data["audit"] = audit_block(src, patient_data, {
        "command": "check", "date": today.isoformat(), "override": override,
        "explain": bool(explain), "format": fmt, "patient_from_flags": sorted(from_flags)},
        limit_library().version, vocabulary().version, reproducible,
        thresholds_version=thresholds().version)
    return data, screen


def run_check(dirs, regimen_ref, patient_path, flags, override, today, fmt,
              reproducible=False, explain=False) -> int:
    from ketadose.io.patients import flags_to_data

    regimen = src = None
    override = override_reason(override)
    if regimen_ref:
        src, regimen, _findings = load_regimen(regimen_ref, dirs)
    patient, patient_data = load_patient(patient_path, flags, today)
    data, screen = check_document(src, regimen, patient, patient_data, override, today,
                                  reproducible, explain, set(flags_to_data(flags)), fmt)
    if fmt == "json":
        emit(to_json(data))
    elif fmt == "yaml":
        emit(to_yaml(data))
    else:
        from ketadose.render.screen import render_explain, render_screen

        render_screen(screen, regimen)
        if explain:
            render_explain(data["explain"])
    return 1 if screen.blocking else 0

