"""`ketadose plan`: load, screen, plan through the core (ketadose/planning.py), hand the result
and the output stream to a renderer, set the exit code."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ketadose.commands.check import override_reason, screen_for
from ketadose.io.library import limit_library
from ketadose.io.patients import load_patient
from ketadose.io.regimens import load_regimen
from ketadose.planning import (
    PlanOptions,
    PlanResult,
    Versions,
    check_options,
    make_options_plan,
    plan_result,
)
from ketadose.render.diag import note, output


def versions() -> Versions:
    from ketadose.io.library import thresholds, vocabulary

    return Versions(limit_library().version, vocabulary().version, thresholds().version)


def plan_for(regimen, patient, opts, findings):
    """The plan with the command-line options that change it (the CDS service's entry)."""
    return make_options_plan(regimen, patient, limit_library(), PlanOptions.of(opts), findings)


def result_for(src, regimen, findings, patient, patient_data, options: PlanOptions, today,
               *, audit: bool = True) -> PlanResult:
    """Screen the patient on ``today``, then plan (single runs, batches and `verify`)."""
    from ketadose.questions import interface

    screen = screen_for(patient, regimen, today, options.override,
                        interface(patient_data, options.from_flags))
    return plan_result(src, regimen, findings, patient, patient_data, options, screen,
                       limit_library(), versions(), audit=audit)


def options_result(src, regimen, findings, patient, patient_data, opts) -> PlanResult:
    """The result of `plan` for its command-line options (a dict): the screening date (--date,
    else the day of --start, else today), the options checked, then screen and plan; `verify`
    recomputes a saved plan through this and the same renderer."""
    start = opts.get("start")
    today = opts.get("date") or (start.date() if start else dt.date.today())
    options = PlanOptions.of({**opts, "date": today})
    check_options(regimen, options)  # before the screen: a contraindication must not hide it
    return result_for(src, regimen, findings, patient, patient_data, options, today)


def _chart(plan):
    """The PK chart as inline SVG when the regimen can be simulated (numpy is loaded only here)."""
    try:
        from ketadose.pk.chart import svg_chart
        from ketadose.pk.simulate import simulate
    except ImportError:
        return None
    try:
        res = simulate(plan, None, 10.0)
    except Exception:
        return None
    from ketadose.render.text import terminal_safe
    from ketadose.simulation import result_marks

    model: Any = res.model  # a pk.models model (the simulation result does not type it)
    # the model's status and the template's UNVERIFIED doses go with the chart (issue 16)
    marks = [terminal_safe(m, False) for m in result_marks(plan, res)]
    return svg_chart(res.t_h, res.ketamine, f"{model.name}, {plan.weight.actual_kg:g} kg "
                     "(the maximum case; bands are a synthesis, not a source)", marks)


def run_plan(dirs, ref, patient_path, flags, opts, fmt) -> int:
    from ketadose.io.patients import flags_to_data

    opts = {**opts, "override": override_reason(opts.get("override"))}
    src, regimen, findings = load_regimen(ref, dirs)
    start = opts["start"]
    patient, patient_data = load_patient(patient_path, flags,
                                         start.date() if start else dt.date.today())
    opts = {**opts, "format": fmt, "from_flags": set(flags_to_data(flags))}
    if fmt == "fhir":
        from ketadose.render.fhir import check_fhir_id

        check_fhir_id(patient.id)
    result = options_result(src, regimen, findings, patient, patient_data, opts)
    if result.blocked:
        _refused(result, fmt)
        return 1
    render(result, fmt, output())
    return 0


def _refused(result: PlanResult, fmt: str) -> None:
    """No plan. Every format but the table says so in its own way and why (the document's
    ``blocked: true``, the CSV's blocked rows, the FHIR DetectedIssues, the HTML page): a file
    given with -o is never left empty, nor holding an earlier plan under --force. The table
    shows the screen that refused; stderr says why."""
    from ketadose.render.documents.plan import blocked_reason, blocking

    if fmt != "table":
        render(result, fmt, output())
    elif result.plan is None:
        from ketadose.render.plan_table import render_refused_screen

        render_refused_screen(result, output())
    if result.plan is None:
        if fmt in ("json", "yaml"):
            return  # the document says it all
        if fmt != "table":
            for f in blocking(result):
                note(f"ketadose: {f.severity} contraindication {f.rule}: {f.message}")
    else:
        for f in blocking(result):
            note(f"ketadose: refused {f.rule}: {f.message}")
    note(blocked_reason(result))


def render(result: PlanResult, fmt: str, stream) -> None:
    """The plan in ``fmt`` on ``stream``."""
    if fmt in ("json", "yaml", "csv"):
        from ketadose.render import plan_data

        {"json": plan_data.write_json, "yaml": plan_data.write_yaml,
         "csv": plan_data.write_csv}[fmt](result, stream)
    elif fmt == "fhir":
        from ketadose.render.fhir import write_bundle

        write_bundle(result, stream)
    elif fmt == "html":
        from ketadose.render.html import write_page

        write_page(result, stream, None if result.blocked else _chart(result.plan))
    else:
        from ketadose.render.plan_table import render_plan

        render_plan(result, stream)
        if result.options.explain:
            from ketadose.render.explain import render_plan_explain

            render_plan_explain(result, stream)
